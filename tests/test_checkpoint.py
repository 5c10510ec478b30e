"""Checkpoints within a run: resume bit for bit after SIGKILL; refuse bad or unsafe files."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch

from hypermod.data import load_dataset
from hypermod.models import Sizes, build_model, paper
from hypermod.tasks import RotationTask
from hypermod.training import TrainConfig, fit
from hypermod.training.checkpoint import load_checkpoint

TIMING = {"train_seconds", "samples_per_second"}


def _untimed(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def _model(task, seed):
    torch.manual_seed(seed)
    return build_model(paper("hyper", depth=1), Sizes(task.input_dim, task.input_dim, 12))


@pytest.mark.parametrize("optimizer,momentum", [("sgd", 0.9), ("adam", 0.0)])
def test_two_epochs_then_two_resumed_equal_four_uninterrupted(tmp_path, optimizer, momentum):
    task = RotationTask(load_dataset("digits"), limit_train=256, limit_test=64)
    config = TrainConfig(epochs=4, lr=0.01, seed=5, optimizer=optimizer, momentum=momentum)
    whole = _model(task, 5)
    reference = fit(whole, task, config, progress=False)

    path = tmp_path / "ckpt.pt"
    first = _model(task, 5)
    fit(first, task, TrainConfig(**{**config.__dict__, "epochs": 2}), progress=False,
        checkpoint=path)
    assert load_checkpoint(path)["epoch"] == 2
    torch.manual_seed(12345)  # the resumed process starts from other RNG states
    second = _model(task, 99)  # and other weights: all must come from the checkpoint
    seen = []
    resumed = fit(second, task, config, progress=False, checkpoint=path, resume=True,
                  on_epoch=seen.append)
    assert [row["epoch"] for row in seen] == [3, 4]  # only the new epochs are reported
    assert _untimed(resumed) == _untimed(reference)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path):
    task = RotationTask(load_dataset("digits"), limit_train=64, limit_test=32)
    path = tmp_path / "ckpt.pt"
    fit(_model(task, 1), task, TrainConfig(epochs=1, lr=0.01), progress=False, checkpoint=path,
        meta={"depth": 1})
    with pytest.raises(ValueError, match=r"other settings \(lr: 0.01 -> 0.1\)"):
        fit(_model(task, 1), task, TrainConfig(epochs=2, lr=0.1), progress=False,
            checkpoint=path, resume=True, meta={"depth": 1})
    with pytest.raises(ValueError, match=r"other settings \(run.depth: 1 -> 2\)"):
        fit(_model(task, 1), task, TrainConfig(epochs=2, lr=0.01), progress=False,
            checkpoint=path, resume=True, meta={"depth": 2})
    fit(_model(task, 1), task, TrainConfig(epochs=3, lr=0.01), progress=False,
        checkpoint=path, resume=True, meta={"depth": 1})
    with pytest.raises(ValueError, match="already holds 3 epochs, more than the 2 asked for"):
        fit(_model(task, 1), task, TrainConfig(epochs=2, lr=0.01), progress=False,
            checkpoint=path, resume=True, meta={"depth": 1})


class _RunsCode:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_corrupt_or_code_running_checkpoints_are_refused(tmp_path):
    witness = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": _RunsCode(f"touch {witness}")}, evil)
    with pytest.raises(ValueError, match="evil.pt: not a readable checkpoint"):
        load_checkpoint(evil)
    assert not witness.exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_RunsCode(f"touch {witness}")))
    with pytest.raises(ValueError, match="raw.pt: not a readable checkpoint"):
        load_checkpoint(raw)
    assert not witness.exists()

    task = RotationTask(load_dataset("digits"), limit_train=64, limit_test=32)
    good = tmp_path / "good.pt"
    fit(_model(task, 1), task, TrainConfig(epochs=1), progress=False, checkpoint=good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated.pt: not a readable checkpoint.*delete it"):
        load_checkpoint(truncated)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a hypermod checkpoint"):
        load_checkpoint(other)


def _cli_run(out, *extra):
    # Small batches make an epoch take about half a second, time enough to kill between.
    args = [sys.executable, "-m", "hypermod.cli", "--threads", "1", "run", "rotation",
            "--dataset", "digits", "--depth", "2", "--epochs", "4", "--batch-size", "2",
            "--lr", "0.01", "--momentum", "0.5", "--seed", "3", "--device", "cpu",
            "--no-progress", "--out", str(out), *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_run_killed_after_epoch_two_resumes_bit_for_bit(tmp_path):
    """The issue's promise: 2 epochs, SIGKILL, 2 resumed epochs == 4 epochs, bit for bit."""
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    reference = _cli_run(whole)
    victim = _cli_run(broken)
    deadline = time.monotonic() + 120
    while len(_lines(broken / "metrics.jsonl")) < 2:  # written just after the checkpoint
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert not (broken / "result.json").exists()
    assert load_checkpoint(broken / "checkpoint.pt")["epoch"] == 2

    resumed = _cli_run(broken, "--resume")
    outputs = [proc.communicate(timeout=120)[0] for proc in (resumed, reference)]
    assert resumed.returncode == reference.returncode == 0, outputs
    assert "checkpoint.pt after epoch 2" in outputs[0] and "resumed" not in outputs[1]
    a = json.loads((whole / "result.json").read_text())
    b = json.loads((broken / "result.json").read_text())
    assert a["status"] == b["status"] == "finished"
    assert (a["resumed_after_epoch"], b["resumed_after_epoch"]) == (None, 2)
    assert _untimed(a["epochs"]) == _untimed(b["epochs"])  # floats compared exactly
    assert [json.loads(x)["epoch"] for x in _lines(broken / "metrics.jsonl")] == [1, 2, 3, 4]
    ca, cb = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(broken / "checkpoint.pt")
    for key, value in ca["model"].items():
        assert torch.equal(value, cb["model"][key]), key
    for key, value in ca["optimizer"]["state"].items():  # momentum buffers
        assert torch.equal(value["momentum_buffer"], cb["optimizer"]["state"][key]
                           ["momentum_buffer"])
    assert all(torch.equal(x, y) for x, y in zip(ca["generators"], cb["generators"], strict=True))
    assert not list(broken.glob(".*"))  # no temporary file left


def test_resume_without_a_checkpoint_starts_afresh_and_needs_out(tmp_path, capsys):
    from hypermod.cli import main

    out = tmp_path / "fresh"
    assert main(["run", "rotation", "--dataset", "digits", "--depth", "0", "--epochs", "1",
                 "--limit-train", "64", "--no-progress", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "result.json").read_text())["status"] == "finished"
    assert main(["run", "rotation", "--dataset", "digits", "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_run_killed_at_random_moments_resumes_to_the_same_weights(tmp_path):
    """Kills anywhere (mid-epoch, mid-checkpoint-write, between) never cost correctness.

    HYPERMOD_RUN_KILLS sets how many (default 2; docs/reliability.md reports a longer run).
    """
    import random

    kills_wanted = int(os.environ.get("HYPERMOD_RUN_KILLS", "2"))
    rng = random.Random(7)
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    reference = _cli_run(whole)
    kills = starts = 0
    while True:
        proc = _cli_run(broken, "--resume")
        starts += 1
        if kills < kills_wanted:
            time.sleep(rng.uniform(3.0, 6.0))  # start-up takes about 3 s, an epoch 0.5 s
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        output = proc.communicate(timeout=120)[0]
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, output
        assert starts < kills_wanted + 20
    reference_output = reference.communicate(timeout=120)[0]
    assert reference.returncode == 0, reference_output
    a = json.loads((whole / "result.json").read_text())
    b = json.loads((broken / "result.json").read_text())
    assert _untimed(a["epochs"]) == _untimed(b["epochs"])
    ca, cb = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(broken / "checkpoint.pt")
    assert all(torch.equal(v, cb["model"][k]) for k, v in ca["model"].items())
    assert not list(broken.glob(".*"))
    print(f"{kills} kills survived, {starts} starts")
