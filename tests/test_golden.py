"""Golden tests: seeded CPU runs give the numbers and record layouts pinned in
tests/golden/golden.json (made by tests/golden/record.py from the code before the layout
refactor). A change that moves them must say so and re-record."""

import json
from pathlib import Path

import pytest
import torch

from golden_cases import CASES

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


@pytest.mark.parametrize("name", sorted(CASES))
def test_seeded_runs_give_the_pinned_numbers_and_keys(name, one_thread):
    assert CASES[name]() == GOLDEN[name]


@pytest.mark.parametrize("loss", ["mse_onehot", "cross_entropy"])
def test_classification_loss_is_the_mean_of_its_sample_losses(loss):
    from hypermod.data import load_dataset
    from hypermod.tasks import ClassificationTask

    task = ClassificationTask(load_dataset("digits"), loss, limit_train=50, limit_test=10)
    (x,), y = task.batch_from(torch.arange(32))
    out = torch.randn(32, task.num_classes, generator=torch.Generator().manual_seed(0))
    per_sample = task.sample_losses(out, y)
    assert per_sample.shape == (32,)
    torch.testing.assert_close(task.loss(out, y), per_sample.mean(), rtol=1e-6, atol=0)
