"""Golden tests: seeded CPU runs give the numbers and record layouts pinned in
tests/golden/golden.json (made by tests/golden/record.py from the code before the layout
refactor). A change that moves them must say so and re-record."""

import json
from pathlib import Path

import pytest
import torch
from golden_cases import CASES, ROUNDED

GOLDEN = json.loads((Path(__file__).parent / "golden" / "golden.json").read_text())


@pytest.fixture
def one_thread():
    """One torch thread, as the golden numbers were recorded (same summation order)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_every_case_is_pinned():
    assert sorted(GOLDEN) == sorted(CASES)


def _close(got, want, where="") -> list[str]:
    """Where `got` and `want` differ beyond rounding: floats within 1e-5 relative (test
    errors within 0.002), everything else equal."""
    if isinstance(want, dict) and isinstance(got, dict):
        if sorted(got) != sorted(want):
            return [f"{where}: keys {sorted(got)} != {sorted(want)}"]
        return [d for k in want for d in _close(got[k], want[k], f"{where}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [d for i, (a, b) in enumerate(zip(got, want)) for d in _close(a, b, f"{where}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        limit = 0.002 if where.endswith("test_error") else 1e-5 * abs(want)
        return [] if abs(got - want) <= limit else [f"{where}: {got!r} != {want!r}"]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_seeded_runs_give_the_pinned_numbers_and_keys(name, one_thread):
    got = CASES[name]()
    if name in ROUNDED:
        assert _close(got, GOLDEN[name]) == []
    else:
        assert got == GOLDEN[name]


def test_close_finds_what_differs():
    assert _close({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}) == []
    assert _close({"a": [1.0, 2.1]}, {"a": [1.0, 2.0]}) == [".a[1]: 2.1 != 2.0"]
    assert _close({"test_error": 0.5015}, {"test_error": 0.5}) == []
    assert _close({"b": 1}, {"a": 1}) != []


@pytest.mark.parametrize("loss", ["mse_onehot", "cross_entropy"])
def test_classification_loss_is_the_mean_of_its_sample_losses(loss):
    from hypermod.data import load_dataset
    from hypermod.tasks import ClassificationTask

    task = ClassificationTask(load_dataset("digits"), loss, limit_train=50, limit_test=10)
    (x,), y = task.batch_from(torch.arange(32))
    out = torch.randn(32, task.num_classes, generator=torch.Generator().manual_seed(0))
    per_sample = task.losses(out, y, "none")
    assert per_sample.shape == (32,)
    torch.testing.assert_close(task.losses(out, y), per_sample.mean(), rtol=1e-6, atol=0)
