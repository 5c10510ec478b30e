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


def _imports(path: Path) -> set[str]:
    """The hypermod modules that `path` imports (absolute imports; relative ones resolved)."""
    tree = ast.parse(path.read_text())
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
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
