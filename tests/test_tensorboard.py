"""TensorBoard: the event files of tiny runs hold their curves and hyperparameters."""

import sys

import pytest

from hypermod.config import override
from hypermod.experiments import get_experiment, settings_for
from hypermod.experiments.report import load_results
from hypermod.models import paper
from hypermod.sweep import SweepContext, run_sweep
from hypermod.training import TrainConfig
from hypermod.training.run import RotationRun, run_rotation
from hypermod.training.tensorboard import TensorBoardLogger

# Importing these raises no warning with the pinned versions (the suite turns warnings
# into errors, so a new one shows up here first).
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")

CURVES = {"loss/train": "train_loss", "loss/test": "test_loss", "error/test": "test_error"}


def _read(folder):
    events = event_accumulator.EventAccumulator(str(folder))
    events.Reload()
    return events


def _scalars(events, tag):
    return [(e.step, e.value) for e in events.Scalars(tag)]


def _hparams(events):
    """The hyperparameters of the run, as TensorBoard's HPARAMS table reads them."""
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def _check_curves(events, rows):
    """Each tag has one point per epoch, equal (in float32) to the run's history."""
    assert set(CURVES) <= set(events.Tags()["scalars"])
    for tag, field in CURVES.items():
        assert _scalars(events, tag) == [
            (row["epoch"], pytest.approx(row[field], rel=1e-6)) for row in rows]
    last = rows[-1]
    for field in CURVES.values():
        assert _scalars(events, f"final/{field}")[0][1] == pytest.approx(last[field], rel=1e-6)


def test_a_sweep_ensemble_logs_one_folder_per_unit(tmp_path):
    experiment = get_experiment("rotation-depth")
    config = override(settings_for(experiment, seeds=2),
                      ["datasets=digits", "depths=1", "methods=hyper", "train.epochs=2",
                       "limit_train=128", "limit_test=64"])
    board = tmp_path / "tb"
    run_sweep(experiment, config, tmp_path / "out",
              SweepContext("cpu", progress=False, tensorboard=board), log=lambda _: None)
    records = load_results(tmp_path / "out")[0]["rotation-depth"]
    assert len(records) == 2 and all(r.get("ensemble") for r in records)  # one ensemble
    folders = sorted(p for p in board.glob("*/*") if p.is_dir())
    assert [p.name for p in folders] == [f"dataset-digits_method-hyper_depth-1_seed-{s}"
                                         for s in (1, 2)]
    for record in records:
        key = "dataset-digits_method-hyper_depth-1_seed-{}".format(record["unit"]["seed"])
        events = _read(next(p for p in folders if p.name == key))
        _check_curves(events, record["rows"])
        hparams = _hparams(events)
        assert hparams["seed"] == record["unit"]["seed"]
        assert hparams["model.method"] == "hyper"
        assert hparams["train.lr"] == pytest.approx(record["config"]["train"]["lr"])


def test_a_single_run_and_assumption2_log_their_history(tmp_path):
    run = RotationRun(dataset="digits", model=paper("embedding", depth=1),
                      train=TrainConfig(epochs=2, lr=0.05, seed=4), limit_train=128,
                      limit_test=64, device="cpu")
    result = run_rotation(run, tmp_path / "emb", progress=False, tensorboard=tmp_path / "tb")
    events = _read(tmp_path / "tb" / "emb")
    _check_curves(events, result["epochs"])
    assert _hparams(events)["train.seed"] == 4

    experiment = get_experiment("assumption2")
    config = override(settings_for(experiment, seeds=1),
                      ["datasets=digits", "widths=2", "train.epochs=2", "limit_train=128",
                       "limit_test=64"])
    run_sweep(experiment, config, tmp_path / "out",
              SweepContext("cpu", progress=False, tensorboard=tmp_path / "tb"),
              log=lambda _: None)
    record = load_results(tmp_path / "out")[0]["assumption2"][0]
    events = _read(tmp_path / "tb" / "assumption2" / "dataset-digits_width-2_seed-1")
    rows = [{**r, "test_loss": r["test_mse"]} for r in record["rows"]]
    _check_curves(events, rows)
    assert _hparams(events)["width"] == 2


def test_diverged_members_and_failed_runs(tmp_path):
    logger = TensorBoardLogger(tmp_path, "run", [{"seed": 1}, {"seed": 2}],
                               members=["seed-1", "seed-2"])
    good = {"epoch": 1, "train_loss": 1.0, "test_loss": 2.0, "test_error": 0.5}
    lost = {"epoch": 1, "train_loss": None, "test_loss": None, "test_error": None,
            "diverged": True, "last_finite_loss": None}
    logger([good, lost])
    logger([{**good, "epoch": 2, "train_loss": 0.5}, None])
    with pytest.raises(ValueError, match="1 rows for a logger of 2 members"):
        logger([good])
    logger.close()
    logger.close()  # a second close does nothing
    events = _read(tmp_path / "run" / "seed-1")
    assert _scalars(events, "loss/train") == [(1, 1.0), (2, 0.5)]
    events = _read(tmp_path / "run" / "seed-2")
    assert "loss/train" not in events.Tags()["scalars"]  # no finite value to draw
    assert _hparams(events) == {"seed": 2}
    assert _scalars(events, "final/test_error")[0][1] != _scalars(events, "final/test_error")[0][1]

    with pytest.raises(RuntimeError), TensorBoardLogger(tmp_path, "failed", {"lr": 1}) as failed:
        failed(good)
        raise RuntimeError("training broke")
    events = _read(tmp_path / "failed")
    assert _scalars(events, "error/test") == [(1, 0.5)]
    assert events.Tags()["scalars"] == list(CURVES)  # no final metrics
    with pytest.raises(KeyError, match="hparams"):  # and no row in the HPARAMS table
        events.PluginTagToContent("hparams")
    with pytest.raises(ValueError, match="closed"):
        failed(good)


def test_missing_tensorboard_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install 'hypermod\[tensorboard\]'"):
        TensorBoardLogger(tmp_path, "run", {})
    assert not (tmp_path / "run").exists()
