"""Golden tests: seeded CPU runs give the numbers and record layouts pinned in
tests/golden/golden.json (made by tests/golden/record.py). A change that moves them must
say so and re-record.

The numbers are compared within a stated tolerance (`golden_cases.tolerance`), because
the same seeded run sums in another order on another CPU (AVX-512, AVX2, or
ATEN_CPU_CAPABILITY=default, which .ci/run also runs this file under); record layouts,
counts and every integer are compared exactly. Bit-identity is promised on one machine
only, and tested as such: here (a case run twice), in test_train.py (two seeded runs)
and in test_checkpoint.py (a killed run resumed)."""

import json
from pathlib import Path

import pytest
import torch
from golden_cases import CASES, ERROR_STEP, tolerance

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


def _close(got, want, rel: float, where="") -> list[str]:
    """Where `got` and `want` differ beyond `rel` relative (test errors: beyond one test
    sample, `ERROR_STEP`, or `rel`, whichever is larger); everything but floats equal."""
    if isinstance(want, dict) and isinstance(got, dict):
        if sorted(got) != sorted(want):
            return [f"{where}: keys {sorted(got)} != {sorted(want)}"]
        return [d for k in want for d in _close(got[k], want[k], rel, f"{where}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [d for i, (a, b) in enumerate(zip(got, want))
                for d in _close(a, b, rel, f"{where}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        limit = rel * abs(want)
        if where.endswith("test_error"):
            limit = max(limit, ERROR_STEP)
        return [] if abs(got - want) <= limit else [f"{where}: {got!r} != {want!r}"]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_seeded_runs_give_the_pinned_numbers_and_keys(name, one_thread):
    assert _close(CASES[name](), GOLDEN[name], tolerance(name)) == []


@pytest.mark.parametrize("name", ["run-hyper", "sweep-rotation-depth",
                                  "sweep-modularity-scaling"])
def test_one_machine_repeats_a_case_bit_for_bit(name, one_thread):
    """The tolerance is for other CPUs; on one machine a seeded run repeats exactly."""
    assert CASES[name]() == CASES[name]()


def test_close_finds_what_differs():
    assert _close({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}, 1e-5) == []
    assert _close({"a": [1.0, 2.1]}, {"a": [1.0, 2.0]}, 1e-5) == [".a[1]: 2.1 != 2.0"]
    assert _close({"a": 1.000001}, {"a": 1.0}, 1e-5) == []
    assert _close({"test_error": 0.505}, {"test_error": 0.5}, 1e-5) == []  # one sample
    assert _close({"test_error": 0.51}, {"test_error": 0.5}, 1e-5) != []
    assert _close({"steps": 61}, {"steps": 60}, 1e-2) != []  # integers stay exact
    assert _close({"b": 1}, {"a": 1}, 1e-5) != []


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
