"""The command line: help for every flag, result files, side-by-side output, clear errors."""

import json

import pytest

from hypermod.cli import build_parser, main

SUBCOMMANDS = ["run", "compare", "data", "sweep", "report", "reproduce", "experiments"]


def test_every_subcommand_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    top = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in top
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: hypermod " + name in capsys.readouterr().out


def test_every_flag_of_run_is_explained():
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]
    for action in run._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings


def test_run_rotation_writes_result_json(tmp_path, capsys):
    out = tmp_path / "h"
    code = main(["run", "rotation", "--dataset", "digits", "--model", "hyper", "--depth", "1",
                 "--epochs", "1", "--lr", "0.05", "--seed", "2", "--limit-train", "128",
                 "--device", "cpu", "--no-progress", "--out", str(out)])
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["train"]["seed"] == 2
    assert result["config"]["model"]["encoder_depth"] == 1
    assert result["param_counts"]["g_generated"] == 64 * 10 + 10 * 12
    assert "test error" in capsys.readouterr().out


def test_compare_prints_both_methods_side_by_side(tmp_path, capsys):
    code = main(["compare", "rotation", "--dataset", "digits", "--depth", "0", "--epochs", "1",
                 "--limit-train", "128", "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith(("hyper ", "embedding "))}
    assert set(rows) == {"hyper", "embedding"}
    for method, cells in rows.items():
        saved = json.loads((tmp_path / method / "result.json").read_text())
        assert float(cells[2]) == pytest.approx(saved["final"]["test_error"], abs=5e-5)


def test_missing_data_set_names_places_and_fetch_command(tmp_path, capsys, isolated_data_env,
                                                         monkeypatch):
    from hypermod.data import catalog

    monkeypatch.setattr(catalog, "SYSTEM_LOCATIONS", {})
    code = main(["run", "rotation", "--dataset", "mnist", "--data-dir", str(tmp_path / "none"),
                 "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path / "none") in err
    assert "hypermod data fetch mnist" in err


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["run", "rotation", "--dataset", "digits", "--device", "cuda", "--epochs", "1"])
    assert code == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_bad_flag_values_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "rotation", "--epochs", "0"])
    assert exit_.value.code == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["run", "rotation", "--dataset", "digits", "--activation", "swish"]) == 2
    assert "unknown activation 'swish'" in capsys.readouterr().err


def test_data_list_reports_where_sets_are(shared_data_dir, capsys):
    assert main(["data", "list", "--data-dir", str(shared_data_dir)]) == 0
    out = capsys.readouterr().out
    assert str(shared_data_dir / "mnist") in out
    assert "bundled with scikit-learn" in out


def test_data_fetch_downloads_from_a_local_mirror(tmp_path, shared_data_dir, isolated_data_env,
                                                  capsys):
    from conftest import serve

    with serve(shared_data_dir / "mnist") as url:
        code = main(["data", "fetch", "mnist", "--data-dir", str(tmp_path), "--mirror", url,
                     "--no-progress"])
    assert code == 0
    assert f"mnist: ready in {tmp_path / 'mnist'}" in capsys.readouterr().out
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    assert str(tmp_path / "mnist") in capsys.readouterr().out


def test_invalid_sweep_settings_are_refused_before_anything_is_written(tmp_path, capsys):
    code = main(["sweep", "rotation-depth", "--set", "train.lr=-1", "--out",
                 str(tmp_path / "o")])
    assert code == 2
    assert "lr must be positive and finite, got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["sweep", "rotation-depth", "--set", "limit_train=abc"]) == 2
    assert "'limit_train' expects int or none, got 'abc'" in capsys.readouterr().err


def test_reproduce_refuses_unknown_data_sets(tmp_path, capsys):
    assert main(["reproduce", "--dataset", "foo", "--out", str(tmp_path / "o")]) == 2
    assert "unknown data sets ['foo']" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_flags_that_would_be_ignored_are_refused(capsys):
    assert main(["run", "rotation", "--dataset", "digits", "--model", "hyper",
                 "--embedding-dim", "5"]) == 2
    err = capsys.readouterr().err
    assert "embedding_dim applies to methods with a code e(I), not to hyper" in err
    assert main(["run", "rotation", "--dataset", "digits", "--optimizer", "adam",
                 "--momentum", "0.9"]) == 2
    assert "momentum applies to sgd only" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--epochs", "-3"], "argument --epochs: must be a positive integer, got -3"),
    (["--epochs", "ten"], "argument --epochs: must be a positive integer, got 'ten'"),
    (["--batch-size", "0"], "argument --batch-size: must be a positive integer, got 0"),
    (["--test-batch-size", "-1"], "argument --test-batch-size: must be a positive integer"),
    (["--limit-train", "0"], "argument --limit-train: must be a positive integer, got 0"),
    (["--embedding-dim", "0"], "argument --embedding-dim: must be a positive integer"),
    (["--depth", "-1"], "argument --depth: must be an integer >= 0, got -1"),
    (["--depth", "2.5"], "argument --depth: must be an integer >= 0, got '2.5'"),
    (["--lr", "0"], "argument --lr: must be a finite number > 0, got 0"),
    (["--lr", "-0.1"], "argument --lr: must be a finite number > 0, got -0.1"),
    (["--lr", "nan"], "argument --lr: must be a finite number > 0, got nan"),
    (["--lr", "inf"], "argument --lr: must be a finite number > 0, got inf"),
    (["--lr", "fast"], "argument --lr: must be a finite number > 0, got 'fast'"),
    (["--momentum", "-0.5"], "argument --momentum: must be a finite number >= 0, got -0.5"),
    (["--momentum", "nan"], "argument --momentum: must be a finite number >= 0, got nan"),
    (["--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
    (["--seed", str(2**64)], f"argument --seed: must be below 2**63, got {2**64}"),
    (["--test-seed", "x"], "argument --test-seed: must be an integer >= 0, got 'x'"),
    (["--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet'"),
    (["--model", "gated"], "argument --model: invalid choice: 'gated'"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
])
def test_invalid_run_values_are_refused_naming_the_flag(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "rotation", *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--threads", "0", "experiments"], "argument --threads: must be a positive integer"),
    (["sweep", "rotation", "--seeds", "1"], "unknown experiment 'rotation'; choose one of"),
    (["sweep", "assumption2", "--seeds", "0"], "argument --seeds: must be a positive integer"),
    (["sweep", "assumption2", "--dataset", "imagenet"],
     "assumption2 does not run on ['imagenet']"),
    (["sweep", "assumption2", "--set", "train.epochs=0"], "epochs must be >= 1, got 0"),
    (["sweep", "assumption2", "--set", "train.lr=nan"], "lr must be positive and finite"),
    (["sweep", "rotation-depth", "--set", "train.lr=inf"],
     "lr must be positive and finite, got inf"),
    (["sweep", "assumption1", "--set", "train.lr=inf"], "lr must be positive and finite"),
    (["sweep", "assumption1", "--set", "lr=0.1"],
     "setting 'lr' of Assumption1Config is now 'train.lr': set train.lr=0.1"),
    (["sweep", "assumption2", "--set", "widths=1,inf"],
     "'widths' expects int, got 'inf'"),
    (["sweep", "rotation-depth", "--set", "depths=2,-1"], "depth must be >= 0, got -1"),
    (["sweep", "assumption2", "--set", "train.batch_size=-64"],
     "batch_size must be >= 1, got -64"),
    (["reproduce", "--dataset", "imagenet"], "unknown data sets ['imagenet']"),
    (["run", "rotation", "--dataset", "digits", "--device", "tpu"], "unknown device 'tpu'"),
])
def test_invalid_values_of_other_commands_are_refused(argv, message, capsys, tmp_path):
    out = ["--out", str(tmp_path / "o")] if argv[0] in ("sweep", "reproduce") else []
    try:
        code = main([*argv, *out])
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_unwritable_output_directory_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for argv in (["run", "rotation", "--dataset", "digits", "--out", str(blocker / "run")],
                 ["sweep", "assumption2", "--out", str(blocker / "sweep")],
                 ["compare", "rotation", "--dataset", "digits", "--out", str(blocker)]):
        assert main([*argv, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"cannot write to the output directory {blocker}" in err, err
        assert "epoch" not in err


def test_read_only_output_directory_is_refused(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["run", "rotation", "--dataset", "digits", "--out", str(locked)]) == 2
    assert f"cannot write to the output directory {locked}: Permission denied" in \
        capsys.readouterr().err


def test_corrupt_or_malicious_data_files_are_clear_errors(tmp_path, capsys, write_idx_set,
                                                         write_cifar_set):
    import os
    import pickle

    directory = write_idx_set(tmp_path / "mnist", suffix="")
    images = directory / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    argv = ["run", "rotation", "--epochs", "1", "--no-progress", "--data-dir", str(tmp_path)]
    assert main([*argv, "--dataset", "mnist"]) == 2
    err = capsys.readouterr().err
    assert f"hypermod: error: {images}: truncated IDX data" in err and "Traceback" not in err

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    batches = write_cifar_set(tmp_path / "cifar10")
    (batches / "data_batch_3").write_bytes(pickle.dumps({b"data": RunsCode()}, protocol=2))
    assert main([*argv, "--dataset", "cifar10"]) == 2
    err = capsys.readouterr().err
    assert f"{batches / 'data_batch_3'}: refusing to unpickle global posix.system" in err
    assert not (tmp_path / "pwned").exists()


def test_a_diverging_run_says_so(tmp_path, capsys):
    assert main(["run", "rotation", "--dataset", "digits", "--depth", "1", "--epochs", "3",
                 "--lr", "1e9", "--limit-train", "128", "--no-progress", "--out",
                 str(tmp_path)]) == 1  # a diverged run is not a success
    out = capsys.readouterr().out
    assert "hyper on digits: diverged at epoch 1 (the loss became NaN or infinite; no " \
           "epoch before it ended with a finite loss)" in out
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "diverged"


TINY_RUN = ["run", "rotation", "--dataset", "digits", "--depth", "0", "--epochs", "1",
            "--limit-train", "64", "--no-progress"]


def test_run_refuses_to_replace_a_finished_run_unless_asked(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*TINY_RUN, "--out", str(out)]) == 0
    before = (out / "result.json").read_bytes()
    assert main([*TINY_RUN, "--model", "embedding", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} already holds a finished run (result.json)" in err
    assert "--resume" in err and "--overwrite" in err
    assert (out / "result.json").read_bytes() == before  # nothing lost
    assert main([*TINY_RUN, "--model", "embedding", "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "result.json").read_text())["config"]["model"]["method"] == \
        "embedding"


def test_run_refuses_to_restart_an_interrupted_run_without_resume(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*TINY_RUN, "--out", str(out)]) == 0
    (out / "result.json").unlink()  # as after a kill: the checkpoint alone is left
    assert main([*TINY_RUN, "--epochs", "2", "--out", str(out)]) == 2
    assert "an interrupted run (checkpoint.pt); continue it with the same command and " \
           "--resume" in capsys.readouterr().err
    assert main([*TINY_RUN, "--epochs", "2", "--out", str(out), "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().out


def test_interrupted_run_and_sweep_say_how_to_go_on(tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("hypermod.training.run.train_rotation", interrupt)
    assert main([*TINY_RUN, "--out", str(tmp_path / "r")]) == 130
    assert "interrupted; the run's checkpoint is in" in capsys.readouterr().err
    monkeypatch.setattr("hypermod.sweep.runner.compute", interrupt)
    assert main(["sweep", "assumption2", "--no-progress", "--out", str(tmp_path / "s"),
                 "--set", "widths=1,2"]) == 130
    assert "interrupted; 0 of 4 runs are finished in" in capsys.readouterr().err


def test_sweep_points_run_flags_to_set(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "rotation-depth", "--epochs", "3", "--out", str(tmp_path)])
    assert "sweep has no --epochs; experiment settings are set by name: --set train.epochs=VALUE" \
        in capsys.readouterr().err


def test_data_dir_at_the_data_set_folder_gets_a_hint(tmp_path, capsys, write_idx_set,
                                                     isolated_data_env):
    folder = write_idx_set(tmp_path / "mnist")
    assert main(["run", "rotation", "--dataset", "mnist", "--data-dir", str(folder),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"hint: --data-dir {folder} holds a data set's files itself; point it at the " \
           f"folder above it (--data-dir {tmp_path})" in err


def test_a_failed_run_leaves_no_empty_output_folder(tmp_path, capsys, isolated_data_env):
    out = tmp_path / "never"
    assert main(["run", "rotation", "--dataset", "mnist", "--data-dir", str(tmp_path / "no"),
                 "--no-progress", "--out", str(out)]) == 2
    assert not out.exists()


def test_compare_names_each_method_before_its_epochs(tmp_path, capsys):
    assert main(["compare", "rotation", "--dataset", "digits", "--depth", "0", "--epochs", "1",
                 "--limit-train", "64"]) == 0
    out = capsys.readouterr().out
    assert out.index("== hyper ==") < out.index("== embedding ==")


def test_compare_any_methods_at_one_budget(capsys):
    assert main(["compare", "rotation", "--dataset", "digits", "--methods", "hyper,film,mlp",
                 "--budget", "8000", "--epochs", "1", "--limit-train", "128",
                 "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = {line.split()[0]: line.split() for line in lines[-3:]}
    assert sorted(table) == ["film", "hyper", "mlp"]
    for row in table.values():
        trainable = int(row[4].replace(",", ""))
        assert abs(trainable - 8000) <= 80, row  # within 1%
    assert main(["compare", "rotation", "--dataset", "digits", "--methods", "hyper,bogus",
                 "--no-progress"]) == 2
    assert "--methods: unknown ['bogus']; choose from hyper, embedding" in \
        capsys.readouterr().err


def test_export_writes_every_epoch_of_a_sweep_as_csv(tmp_path, capsys):
    import csv

    assert main(["sweep", "assumption2", "--no-progress", "--out", str(tmp_path / "s"),
                 "--set", "widths=1,2", "--set", "train.epochs=2", "--seeds", "1"]) == 0
    assert main(["export", str(tmp_path / "s"), "--csv", str(tmp_path / "t.csv")]) == 0
    assert "4 rows" in capsys.readouterr().out  # 2 widths x 2 epochs
    with open(tmp_path / "t.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted((r["width"], r["epoch"]) for r in rows) == [("1", "1"), ("1", "2"),
                                                              ("2", "1"), ("2", "2")]
    assert main(["export", str(tmp_path / "empty"), "--csv", str(tmp_path / "u.csv")]) == 2


def test_run_writes_tensorboard_curves_only_when_asked(tmp_path):
    assert main([*TINY_RUN, "--out", str(tmp_path / "r")]) == 0
    assert not list(tmp_path.rglob("events.out.tfevents.*"))
    assert main([*TINY_RUN, "--out", str(tmp_path / "r2"), "--tensorboard",
                 str(tmp_path / "tb")]) == 0
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))


def test_ray_flags_need_the_ray_executor(tmp_path, capsys):
    assert main(["sweep", "assumption2", "--gpus-per-task", "0.5", "--out",
                 str(tmp_path)]) == 2
    assert "apply to --executor ray" in capsys.readouterr().err


def test_unit_records_say_where_their_job_ran(tmp_path):
    import platform

    assert main(["sweep", "assumption2", "--no-progress", "--out", str(tmp_path),
                 "--set", "widths=1", "--set", "train.epochs=1", "--seeds", "1"]) == 0
    (path,) = (tmp_path / "assumption2" / "runs").glob("*.json")
    worker = json.loads(path.read_text())["worker"]
    assert worker["host"] == platform.node() and worker["attempts"] == 1
    assert worker["job_seconds"] > 0


_LIGHT = """
import sys
from hypermod.cli import build_parser, main
build_parser()
try:
    main(sys.argv[1:])
except SystemExit as exit_:
    assert exit_.code in (0, None), exit_.code
heavy = sorted(m for m in ("torch", "scipy.stats", "matplotlib", "hypermod.experiments")
               if m in sys.modules)
print("heavy:", heavy)
"""


@pytest.mark.parametrize("argv", [["--help"], ["data", "list"], ["bounds", "--help"],
                                  ["sweep", "--help"]])
def test_help_and_data_list_import_no_torch(argv):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _LIGHT, *argv], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "heavy: []", done.stdout[-500:]


def test_python_dash_m_hypermod_runs_the_cli():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "hypermod", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: hypermod" in done.stdout and "exit status:" in done.stdout


def test_compare_of_any_methods_honours_depth_and_writes_each_run(tmp_path, capsys):
    # issue 22's check: one code path, so --depth reaches every method and --out writes
    assert main(["--threads", "1", "compare", "rotation", "--dataset", "digits", "--methods",
                 "hyper,film", "--depth", "3", "--epochs", "1", "--limit-train", "64",
                 "--no-progress", "--out", str(tmp_path / "cmp")]) == 0
    for method in ("hyper", "film"):
        saved = json.loads((tmp_path / "cmp" / method / "result.json").read_text())
        assert saved["config"]["model"]["method"] == method
        assert saved["config"]["model"]["encoder_depth"] == 3
    assert "encoder depth 3" in capsys.readouterr().out


def test_compare_tunes_the_learning_rate_on_validation(tmp_path, capsys):
    assert main(["--threads", "1", "compare", "rotation", "--dataset", "digits", "--methods",
                 "hyper", "--depth", "0", "--epochs", "1", "--limit-train", "128",
                 "--val-fraction", "0.25", "--tune", "lr=0.001,0.1", "--no-progress",
                 "--out", str(tmp_path / "t")]) == 0
    record = json.loads((tmp_path / "t" / "hyper" / "tuning.json").read_text())
    members = {m["lr"]: m["epochs"][-1]["val_error"] for m in record["members"]}
    assert sorted(members) == [0.001, 0.1]
    assert record["chosen_lr"] == min(members, key=members.get)  # chosen on validation
    row = next(line.split() for line in capsys.readouterr().out.splitlines()
               if line.startswith("hyper "))
    assert float(row[1]) == record["chosen_lr"]
    # tuning without a validation part is refused before anything is written
    assert main(["compare", "rotation", "--dataset", "digits", "--methods", "hyper",
                 "--tune", "lr=0.001,0.1", "--no-progress", "--out", str(tmp_path / "u")]) == 2
    assert "validation" in capsys.readouterr().err
    assert not (tmp_path / "u").exists()
