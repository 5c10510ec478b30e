"""Training: seeds make CPU runs bit-identical; real MNIST learns; result files are complete."""

import json
import math

import pytest
import torch

from hypermod.data import load_dataset
from hypermod.models import Sizes, build_model, paper
from hypermod.tasks import RotationTask, chance_error
from hypermod.training import (
    TrainConfig,
    diverged_row,
    evaluate,
    fit,
    resolve_device,
    run_status,
)
from hypermod.training.run import RotationRun, run_rotation

TIMING = {"train_seconds", "samples_per_second"}


def _train(seed, data):
    task = RotationTask(data, limit_train=256, limit_test=128)
    torch.manual_seed(seed)
    model = build_model(paper("hyper", depth=1), Sizes(task.input_dim, task.input_dim, 12))
    history = fit(model, task, TrainConfig(epochs=2, lr=0.05, seed=seed), progress=False)
    return model.state_dict(), [{k: v for k, v in h.items() if k not in TIMING} for h in history]


def test_same_seed_gives_bit_identical_runs_and_other_seeds_differ():
    data = load_dataset("digits")
    state_a, hist_a = _train(3, data)
    state_b, hist_b = _train(3, data)
    state_c, hist_c = _train(4, data)
    assert hist_a == hist_b
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert hist_a != hist_c
    assert not torch.equal(state_a["f.0.weight"], state_c["f.0.weight"])


def test_test_angles_are_fixed_so_evaluation_repeats_exactly():
    task = RotationTask(load_dataset("digits"), limit_test=200)
    model = build_model(paper("embedding", depth=0), Sizes(task.input_dim, task.input_dim, 12))
    (first,) = evaluate(model, task, 64)
    assert evaluate(model, task, 64) == [first]
    (other,) = evaluate(model, task, 1000)  # another batching sums in another order
    assert other["test_error"] == first["test_error"]
    assert other["test_loss"] == pytest.approx(first["test_loss"], rel=1e-6)


def test_rotation_batch_is_what_the_reference_feeds():
    data = load_dataset("digits")
    task = RotationTask(data)
    images = torch.from_numpy(data.train_images[:3])
    (x, instance), label = task.make_batch(images, torch.tensor([0.0, 90.0, 350.0]))
    want_instance = (images.float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(instance, want_instance)
    assert torch.equal(x[0], instance[0])  # angle 0: x is the image itself
    torch.testing.assert_close(x[1], torch.rot90(instance[1], 1, dims=(-2, -1)))
    assert label.tolist() == [0, 3, 11]


@pytest.mark.slow
def test_hypernetwork_learns_rotation_on_6000_mnist_images_in_one_epoch(shared_data_dir):
    run = RotationRun(
        dataset="mnist", model=paper("hyper", depth=4),
        train=TrainConfig(epochs=1, lr=0.1, seed=1), limit_train=6000, device="cpu",
    )
    result = run_rotation(run, data_dir=shared_data_dir, progress=False)
    error = result["final"]["test_error"]
    # The best constant guess errs with 0.875 under the reference binning; one epoch on a
    # tenth of MNIST must beat it by far.
    assert error < 0.70 < chance_error(12, "reference"), error
    assert result["dataset"]["num_test"] == 10_000


def test_run_writes_a_self_describing_result(tmp_path):
    run = RotationRun(dataset="digits", model=paper("embedding", depth=1),
                      train=TrainConfig(epochs=2, lr=0.05), limit_train=200, device="cpu")
    result = run_rotation(run, tmp_path / "out", progress=False)
    on_disk = json.loads((tmp_path / "out" / "result.json").read_text())
    assert on_disk["config"]["model"]["method"] == "embedding"
    assert on_disk["config"]["train"]["epochs"] == 2
    assert on_disk["param_counts"] == result["param_counts"]
    assert set(on_disk["param_counts"]) == {"e", "q", "trainable"}
    assert [e["epoch"] for e in on_disk["epochs"]] == [1, 2]
    assert {"train_loss", "test_loss", "test_error", "train_seconds",
            "samples_per_second"} <= set(on_disk["epochs"][0])
    assert on_disk["environment"]["torch"] == torch.__version__
    assert on_disk["code"]["hypermod"]
    lines = (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]


def test_bad_training_settings_are_refused():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr must be positive"):
        TrainConfig(lr=0)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr must be positive and finite"):
            TrainConfig(lr=bad)
        with pytest.raises(ValueError, match="momentum must be >= 0 and finite"):
            TrainConfig(momentum=bad)
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


class _Poisoned:
    """A task whose training loss turns to `value` from training step `step` on."""

    def __init__(self, task, step, value):
        self.task, self.step, self.value, self.calls = task, step, value, 0
        self.num_train = task.num_train

    def train_noise(self, count, generator):
        return self.task.train_noise(count, generator)

    def batch_from(self, index, noise):
        self.calls += 1
        return self.task.batch_from(index, noise)

    def test_batches(self, batch_size):
        return self.task.test_batches(batch_size)

    def losses(self, output, target, reduction="mean"):
        loss = self.task.losses(output, target, reduction)
        return loss * self.value if self.calls >= self.step else loss

    def errors(self, output, target):
        return self.task.errors(output, target)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_diverging_run_stops_and_says_where(value, tmp_path):
    task = RotationTask(load_dataset("digits"), limit_train=128, limit_test=64)
    poisoned = _Poisoned(task, step=2 * 2 + 1, value=value)  # 2 batches of 64 per epoch
    torch.manual_seed(1)
    model = build_model(paper("hyper", depth=1), Sizes(task.input_dim, task.input_dim, 12))
    seen = []
    history = fit(model, poisoned, TrainConfig(epochs=6, lr=0.05), progress=False,
                  on_epoch=seen.append, checkpoint=tmp_path / "c.pt")
    assert [row["epoch"] for row in history] == [1, 2, 3]  # stopped at the diverged epoch
    assert poisoned.calls == 6
    last = history[-1]
    assert last == diverged_row(3, history[1]["train_loss"], last["train_seconds"], 128)
    assert last["train_loss"] is None and last["test_error"] is None and last["diverged"]
    assert math.isfinite(last["last_finite_loss"])
    assert seen == history
    assert run_status(history) == {"status": "diverged", "diverged": {
        "epoch": 3, "last_finite_loss": history[1]["train_loss"]}}
    assert run_status(history[:2]) == {"status": "finished"}
    # Resuming a diverged run does not train it again.
    again = fit(model, poisoned, TrainConfig(epochs=6, lr=0.05), progress=False,
                checkpoint=tmp_path / "c.pt", resume=True)
    assert again == history and poisoned.calls == 6


@pytest.mark.parametrize("lr,last_finite", [(1e9, False), (1e2, True)])
def test_a_run_diverging_in_its_first_epoch_is_recorded_in_strict_json(tmp_path, lr,
                                                                       last_finite):
    # lr 1e2: the epoch's mean train loss is still finite, but its last steps leave
    # non-finite weights, so the test loss is NaN: diverged too, not a NaN in the record.
    run = RotationRun(dataset="digits", model=paper("hyper", depth=1),
                      train=TrainConfig(epochs=3, lr=lr), limit_train=128, device="cpu")
    result = run_rotation(run, tmp_path, progress=False)
    assert result["status"] == "diverged"
    assert result["diverged"]["epoch"] == 1 and len(result["epochs"]) == 1
    last = result["diverged"]["last_finite_loss"]
    assert (last is not None and math.isfinite(last)) if last_finite else last is None
    on_disk = (tmp_path / "result.json").read_text()
    assert "NaN" not in on_disk and "Infinity" not in on_disk  # strict JSON
    assert json.loads(on_disk)["final"]["diverged"] is True


@pytest.mark.parametrize("setting,terminal,shown", [
    ("auto", True, True), ("auto", False, False), ("always", False, True),
    ("never", True, False)])
def test_progress_bars_only_on_a_terminal_unless_asked(monkeypatch, setting, terminal, shown):
    from hypermod.training.progress import bars_wanted

    monkeypatch.setenv("HYPERMOD_PROGRESS", setting)
    monkeypatch.setattr("sys.stderr.isatty", lambda: terminal)
    assert bars_wanted(True) is shown
    assert bars_wanted(False) is False


def test_a_redirected_run_log_holds_epoch_lines_but_no_bars(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "log.txt"
    with open(log, "w") as fh:
        subprocess.run([sys.executable, "-m", "hypermod.cli", "--threads", "1", "run",
                        "rotation", "--dataset", "digits", "--depth", "0", "--epochs", "2",
                        "--limit-train", "256", "--batch-size", "16"], stdout=fh,
                       stderr=subprocess.STDOUT, check=True,
                       env={**__import__("os").environ, "HYPERMOD_PROGRESS": "auto"})
    text = log.read_text()
    assert "epoch 2: train loss" in text
    assert "\r" not in text and "batch/s" not in text
