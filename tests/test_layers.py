"""The layer rule: arrows point one way (STYLE.md, "Shape of the repository").

The CLI sits on top, the experiments below it, the library below them; within the
library, models, data and tasks import nothing above them, and the theory is pure numbers.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hypermod"

# What each lower layer may import from hypermod (its own subpackage is always allowed).
LOWER = {
    "hypermod.data": set(),
    "hypermod.models": {"hypermod.theory"},  # closed-form counts for budgets
    "hypermod.tasks": {"hypermod.data"},
    "hypermod.theory": set(),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_targets(path: Path):
    """(module, names) for each import in `path`, relative ones resolved: `import a.b`
    gives ("a.b", ()), `from a import b, c` gives ("a", ("b", "c"))."""
    tree = ast.parse(path.read_text())
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                root = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{root}.{base}" if base else root
            if base:
                yield base, tuple(a.name for a in node.names)


def _imports(path: Path) -> set[str]:
    """The hypermod modules that `path` imports (absolute imports; relative ones resolved)."""
    found = set()
    for module, names in _import_targets(path):
        found.add(module)
        found |= {f"{module}.{name}" for name in names}
    return {name for name in found if name == "hypermod" or name.startswith("hypermod.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    name = _module_name(path)
    imports = _imports(path)
    interface = _under(name, "hypermod.cli") or name == "hypermod.__main__"  # python -m
    if not interface:
        assert not {i for i in imports if _under(i, "hypermod.cli")}, f"{name} imports the CLI"
    if not (_under(name, "hypermod.experiments") or interface):
        bad = {i for i in imports if _under(i, "hypermod.experiments")}
        assert not bad, f"library module {name} imports experiments: {bad}"
    for layer, allowed in LOWER.items():
        if _under(name, layer):
            bad = {i for i in imports if not _under(i, layer)
                   and not any(_under(i, a) for a in allowed)}
            assert not bad, f"{name} ({layer}) imports from above its layer: {sorted(bad)}"


def test_theory_is_numbers_only():
    imports = set()
    for node in ast.walk(ast.parse((PACKAGE / "theory.py").read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports |= {a.name for a in node.names} if isinstance(node, ast.Import) \
                else {node.module or ""}
    assert "torch" not in imports


def _module_graph() -> dict[str, set[str]]:
    """module -> the hypermod modules it imports, anywhere in its code (a lazy import
    inside a function counts: it only hides a cycle). `from package import module`
    points at the module, not at the package's __init__."""
    names = {_module_name(p) for p in MODULES}
    graph = {}
    for path in MODULES:
        found = set()
        for module, imported in _import_targets(path):
            if not imported:
                found.add(module)
            for name in imported:
                full = f"{module}.{name}"
                found.add(full if full in names else module)
        here = _module_name(path)
        graph[here] = {n for n in found if n in names and n != here}
    return graph


def test_no_import_cycles():
    graph = _module_graph()
    # Tarjan's strongly connected components, iteratively
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_check_finds_a_cycle(monkeypatch, tmp_path):
    # the check itself can fail: two modules that import each other lazily
    a, b = tmp_path / "hypermod" / "a.py", tmp_path / "hypermod" / "b.py"
    a.parent.mkdir()
    a.write_text("def f():\n    from hypermod import b\n")
    b.write_text("from hypermod.a import f\n")
    monkeypatch.setattr(__import__(__name__), "MODULES", [a, b])
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "hypermod")
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycles()
