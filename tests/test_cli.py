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
    assert result["config"]["model"]["depth"] == 1
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
        assert float(cells[1]) == pytest.approx(saved["final"]["test_error"], abs=5e-5)


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
    code = main(["sweep", "rotation-depth", "--set", "lr=-1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "RotationDepthConfig.lr must be positive, got -1.0" in capsys.readouterr().err
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
    assert "embedding_dim applies to the embedding method" in capsys.readouterr().err
    assert main(["run", "rotation", "--dataset", "digits", "--optimizer", "adam",
                 "--momentum", "0.9"]) == 2
    assert "momentum applies to sgd only" in capsys.readouterr().err
