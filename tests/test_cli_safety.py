"""Nothing lost when a command fails: every input is checked before anything is written,
moved or deleted; `--overwrite` keeps the old run until the new one has started.

Each test names the item of issue 21 (or 19) it holds.
"""

import json
import os
from pathlib import Path

import pytest

from hypermod.cli import main

BASE = ["--threads", "1", "run", "rotation", "--dataset", "digits", "--limit-train", "100",
        "--no-progress", "--depth", "1"]
RUN = [*BASE, "--epochs", "1"]


def _files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (hidden ones too), by relative path, with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def finished_run(tmp_path):
    """A finished 1-epoch run in tmp_path/D and its files."""
    out = tmp_path / "D"
    assert main([*RUN, "--out", str(out)]) == 0
    before = _files(out)
    assert {"result.json", "metrics.jsonl", "checkpoint.pt"} <= set(before)
    return out, before


# -- item 1: --overwrite checks every input first, and keeps the old run until the new starts


def test_overwrite_with_a_tensorboard_path_that_is_a_file_keeps_the_old_run(
        finished_run, tmp_path, capsys):
    out, before = finished_run
    blocker = tmp_path / "FILE"
    blocker.write_text("a file")
    capsys.readouterr()
    assert main([*RUN, "--out", str(out), "--overwrite", "--tensorboard", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert f"--tensorboard {blocker}: not a directory" in err, err
    assert _files(out) == before


def test_overwrite_with_a_missing_data_set_keeps_the_old_run(finished_run, tmp_path, capsys,
                                                             isolated_data_env, monkeypatch):
    from hypermod.data import catalog

    monkeypatch.setattr(catalog, "SYSTEM_LOCATIONS", {})
    out, before = finished_run
    capsys.readouterr()
    argv = [a if a != "digits" else "mnist" for a in RUN]
    assert main([*argv, "--data-dir", str(tmp_path / "none"), "--out", str(out),
                 "--overwrite"]) == 2
    assert "hypermod data fetch mnist" in capsys.readouterr().err
    assert _files(out) == before


def test_overwrite_whose_new_run_fails_before_its_first_epoch_restores_the_old_run(
        finished_run, capsys, monkeypatch):
    out, before = finished_run

    def fails(*args, **kwargs):
        raise ValueError("the new run could not start")

    monkeypatch.setattr("hypermod.training.run.train_rotation", fails)
    assert main([*RUN, "--out", str(out), "--overwrite", "--seed", "2"]) == 2
    assert "the new run could not start" in capsys.readouterr().err
    assert _files(out) == before


def test_overwrite_interrupted_before_its_first_epoch_restores_the_old_run(
        finished_run, capsys, monkeypatch):
    out, before = finished_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("hypermod.training.run.train_rotation", interrupted)
    assert main([*RUN, "--out", str(out), "--overwrite", "--seed", "2"]) == 130
    assert _files(out) == before


def test_overwrite_replaces_the_old_run_once_the_new_one_has_started(finished_run, capsys):
    out, before = finished_run
    assert main([*RUN, "--out", str(out), "--overwrite", "--seed", "2"]) == 0
    after = _files(out)
    assert set(after) == {"result.json", "metrics.jsonl", "checkpoint.pt"}  # nothing aside
    assert json.loads(after["result.json"])["config"]["train"]["seed"] == 2


def test_an_overwrite_killed_before_its_first_epoch_leaves_the_old_run_in_place(
        finished_run, capsys):
    """As after SIGKILL between setting the old run aside and the new run's first epoch."""
    from hypermod.results import SetAside

    out, before = finished_run
    SetAside(out, ["result.json", "metrics.jsonl", "checkpoint.pt"]).move()
    assert not (out / "result.json").exists()
    assert main([*RUN, "--out", str(out)]) == 2  # the old run is there again, and kept
    assert "already holds a finished run" in capsys.readouterr().err
    assert _files(out) == before


def test_sweep_with_a_tensorboard_path_that_is_a_file_writes_nothing(tmp_path, capsys):
    blocker = tmp_path / "FILE"
    blocker.write_text("a file")
    assert main(["sweep", "assumption2", "--no-progress", "--out", str(tmp_path / "s"),
                 "--tensorboard", str(blocker / "tb")]) == 2
    assert f"--tensorboard {blocker / 'tb'}: {blocker} is not a directory" in \
        capsys.readouterr().err
    assert not (tmp_path / "s").exists()


# -- item 8: no tracebacks; item 10: empty paths refused


@pytest.mark.parametrize("flag", ["--out", "--tensorboard", "--data-dir"])
def test_empty_and_overlong_paths_are_refused_naming_the_flag(flag, capsys, tmp_path):
    for value, message in (("", "must be a path, got an empty string"),
                           ("x" * 300, "is 300 bytes; file names are limited to 255 bytes")):
        with pytest.raises(SystemExit) as exit_:
            main([*RUN, flag, value])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {flag}: " in err and message in err and "Traceback" not in err
    assert not list(Path.cwd().glob("events.out.tfevents.*"))


def test_an_overlong_out_name_in_sweep_and_export_is_refused(capsys, tmp_path):
    long = str(tmp_path / ("y" * 256))
    for argv in (["sweep", "assumption2", "--out", long],
                 ["export", str(tmp_path), "--csv", long], ["report", long]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "is 256 bytes; file names are limited to 255 bytes" in capsys.readouterr().err


def test_an_os_error_from_checking_out_is_a_message_not_a_traceback(monkeypatch, capsys,
                                                                    tmp_path):
    def too_long(self, *args, **kwargs):
        raise OSError(36, "File name too long", str(self))

    monkeypatch.setattr(Path, "exists", too_long)
    assert main([*RUN, "--out", str(tmp_path / "o")]) == 2
    assert "hypermod: error: [Errno 36] File name too long" in capsys.readouterr().err


def test_tensorboard_in_an_unwritable_place_is_refused_before_training(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main([*RUN, "--tensorboard", str(locked / "tb")]) == 2
    assert f"--tensorboard {locked / 'tb'}: cannot write in {locked}" in capsys.readouterr().err


# -- issue 19 item 5: --resume extends a finished run, bit for bit; or says why it cannot

TIMING = {"train_seconds", "samples_per_second"}


def _untimed(rows):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def test_extending_a_finished_run_equals_a_run_asked_for_more_epochs(tmp_path, capsys):
    import torch

    from hypermod.training.checkpoint import load_checkpoint

    argv = [*BASE, "--momentum", "0.5"]
    grown, straight = tmp_path / "grown", tmp_path / "straight"
    assert main([*argv, "--epochs", "2", "--out", str(grown)]) == 0
    assert main([*argv, "--epochs", "3", "--out", str(grown), "--resume"]) == 0
    assert f"resumed from {grown / 'checkpoint.pt'} after epoch 2" in capsys.readouterr().out
    assert main([*argv, "--epochs", "3", "--out", str(straight)]) == 0
    a, b = (json.loads((d / "result.json").read_text()) for d in (grown, straight))
    assert (a["resumed_after_epoch"], b["resumed_after_epoch"]) == (2, None)
    assert [r["epoch"] for r in a["epochs"]] == [1, 2, 3]
    assert _untimed(a["epochs"]) == _untimed(b["epochs"])  # floats compared exactly
    assert _untimed([a["final"]]) == _untimed([b["final"]])
    assert (a["status"], a["param_counts"], a["config"]) == \
        (b["status"], b["param_counts"], b["config"])
    logs = [[json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
            for d in (grown, straight)]
    assert _untimed(logs[0]) == _untimed(logs[1])
    ca, cb = (load_checkpoint(d / "checkpoint.pt") for d in (grown, straight))
    assert all(torch.equal(v, cb["model"][k]) for k, v in ca["model"].items())
    for key, value in ca["optimizer"]["state"].items():
        assert torch.equal(value["momentum_buffer"],
                           cb["optimizer"]["state"][key]["momentum_buffer"])
    assert all(torch.equal(x, y) for x, y in zip(ca["generators"], cb["generators"],
                                                 strict=True))


def test_a_finished_run_that_cannot_be_extended_is_refused_and_kept(finished_run, capsys):
    out, before = finished_run
    cases = [
        (["--epochs", "1"], f"--out {out} holds a finished run of 1 epochs; nothing to "
                            "resume (ask for more --epochs to extend it)"),
        (["--epochs", "3", "--lr", "0.1"], f"{out / 'checkpoint.pt'} was made with other "
                                           "settings (lr: 0.01 -> 0.1)"),
        (["--epochs", "3", "--overwrite"], "--resume continues the run in --out DIR and "
                                           "--overwrite replaces it; give one of them"),
    ]
    capsys.readouterr()
    for flags, message in cases:
        argv = BASE
        assert main([*argv, *flags, "--out", str(out), "--resume"]) == 2, flags
        assert message in capsys.readouterr().err, flags
        assert _files(out) == before, flags  # refused before any file was touched
    (out / "checkpoint.pt").unlink()
    before = _files(out)
    assert main([*BASE, "--epochs", "3", "--out", str(out), "--resume"]) == 2
    assert (f"--out {out} holds a finished run but its checkpoint (checkpoint.pt) is gone, so "
            "it cannot be extended to 3 epochs; run it again with --overwrite") in \
        capsys.readouterr().err
    assert _files(out) == before


def test_a_checkpoint_with_more_epochs_than_asked_leaves_the_run_as_it_was(tmp_path, capsys):
    out = tmp_path / "r"
    argv = BASE
    assert main([*argv, "--epochs", "2", "--out", str(out)]) == 0
    (out / "result.json").unlink()  # as after a kill: an interrupted run
    before = _files(out)
    assert main([*argv, "--epochs", "1", "--out", str(out), "--resume"]) == 2
    assert "already holds 2 epochs, more than the 1 asked for" in capsys.readouterr().err
    assert _files(out) == before


def test_a_diverged_run_is_not_extended(tmp_path, capsys):
    out = tmp_path / "d"
    argv = BASE
    assert main([*argv, "--epochs", "2", "--lr", "1e9", "--out", str(out)]) == 1
    assert main([*argv, "--epochs", "3", "--lr", "1e9", "--out", str(out), "--resume"]) == 2
    assert f"--out {out} holds a run that diverged at epoch 1; it cannot be extended" in \
        capsys.readouterr().err


# -- item 10: --resume without a checkpoint says that it starts afresh


def test_resume_without_a_checkpoint_says_it_starts_afresh(tmp_path, capsys):
    out = tmp_path / "new"
    assert main([*RUN, "--out", str(out), "--resume"]) == 0
    assert f"no checkpoint in {out} to resume from; starting afresh" in capsys.readouterr().out


# -- item 6: sweep settings checked before sweep.json; a failed sweep does not block its fix


def test_a_bad_zoo_init_is_refused_before_anything_is_written(tmp_path, capsys):
    assert main(["sweep", "conditioning-zoo", "--set", "model.init=zeros", "--no-progress",
                 "--out", str(tmp_path / "z")]) == 2
    assert "unknown init 'zeros'; choose one of ('default', 'hyperfan')" in \
        capsys.readouterr().err
    assert not (tmp_path / "z").exists()


def test_a_zoo_primary_without_hidden_layers_runs(tmp_path, capsys):
    assert main(["--threads", "1", "sweep", "conditioning-zoo", "--set", "model.primary_hidden=",
                 "--set", "methods=hyper", "--set", "budgets=5000", "--set",
                 "datasets=structured", "--set", "train.epochs=1", "--seeds", "1", "--no-progress",
                 "--set", "designs=trainable", "--set", "tune_lr=", "--set", "init_ablation=",
                 "--out", str(tmp_path / "z")]) == 0
    assert "1 runs done" in capsys.readouterr().out


def test_after_a_sweep_whose_units_all_failed_the_corrected_command_runs(tmp_path, capsys,
                                                                         monkeypatch):
    import hypermod.sweep.runner as runner

    real = runner.compute

    def fails(job, context=None):
        raise ValueError("this setting fails when a unit runs")

    argv = ["sweep", "assumption2", "--no-progress", "--out", str(tmp_path / "s"),
            "--set", "widths=1", "--seeds", "1"]
    monkeypatch.setattr(runner, "compute", fails)
    assert main([*argv, "--set", "train.epochs=2"]) == 2
    assert "this setting fails when a unit runs" in capsys.readouterr().err
    monkeypatch.setattr(runner, "compute", real)
    assert main([*argv, "--set", "train.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "held other settings (train.epochs: 2 -> 1) but no finished run; replaced" in out
    assert "1 runs done" in out


# -- item 9: budgets


def test_compare_refuses_a_budget_beyond_the_width_cap(capsys):
    assert main(["--threads", "1", "compare", "rotation", "--dataset", "digits", "--methods",
                 "hyper", "--budget", "1000000000000", "--no-progress"]) == 2
    # the paper's hyper at the default depth 4 on digits (64 pixels)
    assert ("hypermod: error: hyper cannot reach a budget of 1,000,000,000,000 trainable "
            "parameters: the most it reaches within the width cap (16,384) is "
            "1,124,682,720; choose a smaller budget") in capsys.readouterr().err


# -- item 7: export never writes over its inputs or a result, nor replaces a file unasked


@pytest.fixture
def small_sweep(tmp_path):
    out = tmp_path / "s"
    assert main(["sweep", "assumption2", "--no-progress", "--out", str(out), "--set",
                 "widths=1", "--set", "train.epochs=1", "--seeds", "1"]) == 0
    return out


def test_export_refuses_a_target_inside_the_folder_it_reads(small_sweep, capsys):
    unit_file = next((small_sweep / "assumption2" / "runs").glob("*.json"))
    for target in (unit_file, small_sweep / "assumption2" / "sweep.json",
                   small_sweep / "table.csv"):
        before = _files(small_sweep)
        capsys.readouterr()
        assert main(["export", str(small_sweep), "--csv", str(target), "--force"]) == 2
        assert f"{target} is inside {small_sweep}, the folder export reads" in \
            capsys.readouterr().err
        assert _files(small_sweep) == before


def test_export_refuses_a_result_file_elsewhere_even_with_force(small_sweep, finished_run,
                                                                tmp_path, capsys):
    out, before = finished_run
    for name in ("result.json", "metrics.jsonl", "checkpoint.pt"):
        capsys.readouterr()
        assert main(["export", str(small_sweep), "--csv", str(out / name), "--force"]) == 2
        assert f"{out / name} is a file hypermod wrote as a result" in capsys.readouterr().err
    record = tmp_path / "elsewhere.json"
    record.write_bytes(before["result.json"])
    assert main(["export", str(small_sweep), "--csv", str(record), "--force"]) == 2
    assert f"{record} is a file hypermod wrote as a result (a result record)" in \
        capsys.readouterr().err
    assert _files(out) == before


def test_export_replaces_an_existing_file_only_with_force(small_sweep, tmp_path, capsys):
    table = tmp_path / "table.csv"
    table.write_text("keep me\n")
    assert main(["export", str(small_sweep), "--csv", str(table)]) == 2
    assert f"{table} exists; add --force to replace it" in capsys.readouterr().err
    assert table.read_text() == "keep me\n"
    assert main(["export", str(small_sweep), "--csv", str(table), "--force"]) == 0
    assert table.read_text().startswith("experiment,")
    assert main(["export", str(small_sweep), "--csv", str(tmp_path)]) == 2
    assert f"{tmp_path} is a directory" in capsys.readouterr().err


# -- item 10: --methods lists, --ray-retries


@pytest.mark.parametrize(("methods", "message"), [
    ("", "--methods: empty list; name at least one of hyper, embedding"),
    (" , ,", "--methods: empty list; name at least one of hyper, embedding"),
    ("hyper,film,hyper", "--methods: hyper named twice; name each method once"),
    ("hyper,bogus", "--methods: unknown ['bogus']; choose from hyper, embedding"),
])
def test_bad_method_lists_are_refused_alike(methods, message, capsys):
    assert main(["compare", "rotation", "--dataset", "digits", "--methods", methods,
                 "--epochs", "1", "--limit-train", "64", "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_ray_retries_without_the_ray_executor_is_refused(tmp_path, capsys):
    assert main(["sweep", "assumption2", "--ray-retries", "5", "--out", str(tmp_path / "o")]) == 2
    assert "--ray-retries" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_compare_into_a_folder_holding_its_runs_is_refused_untouched(tmp_path, capsys):
    args = ["--threads", "1", "compare", "rotation", "--dataset", "digits", "--methods",
            "hyper,film", "--depth", "0", "--epochs", "1", "--limit-train", "64",
            "--no-progress", "--out", str(tmp_path / "c")]
    assert main(args) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file()}
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path / 'c'} already holds runs" in err and "choose another --out" in err
    assert {p: p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file()} == before
    assert main([*args[:-2], "--embedding-dim", "64", "--methods", "hyper"]) == 2
    assert "--embedding-dim applies to methods with a code e(I), none of hyper" in \
        capsys.readouterr().err
