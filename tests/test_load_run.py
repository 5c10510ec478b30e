"""A trained model comes back from its run folder and scores what the run recorded."""

import json

import pytest

from hypermod.cli import main
from hypermod.data import load_dataset
from hypermod.tasks import RotationConfig, RotationTask
from hypermod.training import evaluate
from hypermod.training.run import load_run

TINY = ["--threads", "1", "run", "rotation", "--dataset", "digits", "--depth", "1",
        "--limit-train", "200", "--no-progress"]


def _rescore(out):
    model, record = load_run(out)
    config = record["config"]
    task = RotationTask(load_dataset(config["dataset"]), RotationConfig(**config["task"]),
                        limit_train=config["limit_train"], limit_test=config["limit_test"])
    return evaluate(model, task, 1000)[0], record


@pytest.mark.parametrize("method", ["hyper", "embedding", "film"])
def test_a_loaded_model_scores_the_recorded_test_error(tmp_path, method):
    assert main([*TINY, "--model", method, "--epochs", "2", "--out", str(tmp_path / "r")]) == 0
    scores, record = _rescore(tmp_path / "r")
    assert scores["test_error"] == record["final"]["test_error"]
    assert scores["test_loss"] == pytest.approx(record["final"]["test_loss"], rel=1e-6)


def test_with_early_stopping_the_reported_epochs_weights_come_back(tmp_path):
    assert main([*TINY, "--epochs", "8", "--lr", "0.5", "--val-fraction", "0.2",
                 "--patience", "1", "--out", str(tmp_path / "r")]) == 0
    scores, record = _rescore(tmp_path / "r")
    last = record["epochs"][-1]
    assert last["best_epoch"] < last["epoch"]  # the last weights are not the reported ones
    reported = next(r for r in record["epochs"] if r["epoch"] == last["best_epoch"])
    assert scores["test_error"] == reported["test_error"]


def test_a_folder_that_cannot_give_a_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_run(tmp_path)
    assert main([*TINY, "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    (tmp_path / "r" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_run(tmp_path / "r")
    record = json.loads((tmp_path / "r" / "result.json").read_text())
    record["status"] = "diverged"
    (tmp_path / "r" / "result.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="the run diverged; no trained model"):
        load_run(tmp_path / "r")
