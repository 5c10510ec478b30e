"""load_frame: result files as one DataFrame, agreeing with the report's own numbers."""

import json
import math
import sys

import pytest
from test_report import BAD_FILES

from hypermod.config import override
from hypermod.experiments import EXPERIMENTS, get_experiment, settings_for
from hypermod.experiments.report import load_results
from hypermod.frame import export_csv, load_frame
from hypermod.models import paper
from hypermod.reporting import final_rows, group_stats
from hypermod.sweep import SweepContext, run_sweep
from hypermod.training import TrainConfig
from hypermod.training.run import RotationRun, run_rotation

pd = pytest.importorskip("pandas")

ROW_FIELDS = {name: e.row_fields for name, e in EXPERIMENTS.items()}
# Two experiments, two seeds, ensembles on: tiny enough to run in a few seconds.
SWEEPS = {
    "rotation-depth": (("dataset", "method", "depth"),
                       ["datasets=digits", "depths=0,1", "train.epochs=2", "limit_train=128",
                        "limit_test=64"]),
    "assumption2": (("dataset", "width"),
                    ["datasets=digits", "widths=1,3", "train.epochs=2", "limit_train=256",
                     "limit_test=64"]),
}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    for name, (_, settings) in SWEEPS.items():
        experiment = get_experiment(name)
        config = override(settings_for(experiment, seeds=2), settings)
        run_sweep(experiment, config, out, SweepContext("cpu", progress=False),
                  log=lambda _: None)
    return out


def _final(df):
    """Each run's last epoch, as `final_rows` takes it."""
    return df[df["epoch"] == df.groupby("path")["epoch"].transform("max")]


def test_frame_of_a_sweep_matches_the_report(sweep_dir):
    df = load_frame(sweep_dir, ROW_FIELDS)
    records, skipped = load_results(sweep_dir)
    assert df.attrs["skipped"] == skipped == []
    assert len(df) == sum(len(r["rows"]) for rs in records.values() for r in rs)
    for name, (by, _) in SWEEPS.items():
        mine = _final(df[df["experiment"] == name])
        for metric in ("test_error", "train_loss"):
            expected = group_stats(final_rows(records[name]), by, metric)
            means = mine.groupby(list(by))[metric].agg(["mean", "std", "count"])
            assert len(means) == len(expected) > 1
            for stat in expected:
                got = means.loc[tuple(stat[k] for k in by)]
                assert got["mean"] == pytest.approx(stat["mean"], rel=1e-12)
                assert got["std"] == pytest.approx(stat["std"], rel=1e-9)
                assert got["count"] == stat["n"] == 2


def test_frame_columns_name_roles_settings_and_code(sweep_dir):
    df = load_frame(sweep_dir, ROW_FIELDS)
    depth = df[df["experiment"] == "rotation-depth"]
    hyper = depth[depth["method"] == "hyper"]
    embedding = depth[depth["method"] == "embedding"]
    assert (hyper["params.trainable"] == hyper["params.f"]).all()
    assert hyper["params.g_generated"].gt(0).all() and hyper["params.e"].isna().all()
    assert (embedding["params.trainable"]
            == embedding["params.e"] + embedding["params.q"]).all()
    assert set(df["status"]) == {"finished"}
    assert set(depth["seed"]) == {1, 2} and set(depth["epoch"]) == {1, 2}
    assert set(depth["config.train.epochs"]) == {2}
    assert set(depth["config.depths"]) == {"[0, 1]"}  # lists as JSON text: groupable
    assert df["code.git_commit"].notna().all() and "code.hypermod" in df
    assert df["path"].str.endswith(".json").all()
    # assumption2's total count is its trainable count, under the same column.
    assert df.loc[df["experiment"] == "assumption2", "params.trainable"].gt(0).all()


def test_corrupt_and_foreign_files_are_named_in_attrs(sweep_dir, tmp_path):
    clean = load_frame(sweep_dir, ROW_FIELDS)
    runs = sweep_dir / "rotation-depth" / "runs"
    try:
        for name, (content, _) in BAD_FILES.items():
            (runs / f"bad-{name}.json").write_bytes(content)
        df = load_frame(sweep_dir, ROW_FIELDS)
    finally:
        for name in BAD_FILES:
            (runs / f"bad-{name}.json").unlink()
    skipped = df.attrs["skipped"]
    assert len(skipped) == len(BAD_FILES)
    for name, (_, reason) in BAD_FILES.items():
        line = next(m for m in skipped if f"bad-{name}.json" in m)
        assert line.startswith(f"{runs / f'bad-{name}.json'}: ") and reason in line, line
    pd.testing.assert_frame_equal(df, clean)
    # Without the experiments' field types only the basics are checked.
    basic = load_frame(sweep_dir, None)
    assert len(basic) == len(clean) and basic.attrs["skipped"] == []


def test_run_folders_and_csv(tmp_path):
    run = RotationRun(dataset="digits", model=paper("hyper", depth=1),
                      train=TrainConfig(epochs=2, lr=0.05, seed=3), limit_train=128,
                      limit_test=64, device="cpu")
    result = run_rotation(run, tmp_path / "hyper", progress=False)
    diverged = {**result, "status": "diverged", "epochs": [
        {"epoch": 1, "train_loss": None, "test_loss": None, "test_error": None,
         "diverged": True, "last_finite_loss": None}]}
    (tmp_path / "lost").mkdir()
    (tmp_path / "lost" / "result.json").write_text(json.dumps(diverged))
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "result.json").write_text('{"schema": 1}')
    df = load_frame(tmp_path)
    assert df.attrs["skipped"] == [f"{tmp_path / 'foreign' / 'result.json'}: not a valid "
                                   "run result (status is None, not 'finished' or 'diverged')"]
    mine = df[df["path"] == str(tmp_path / "hyper" / "result.json")]
    assert list(mine["epoch"]) == [1, 2]
    assert list(mine["test_error"]) == [e["test_error"] for e in result["epochs"]]
    assert set(mine["experiment"]) == {"run"} and set(mine["seed"]) == {3}
    assert set(mine["config.model.method"]) == {"hyper"} and set(mine["config.train.lr"]) == {0.05}
    assert set(mine["params.f"]) == {result["param_counts"]["f"]}
    lost = df[df["status"] == "diverged"]
    assert len(lost) == 1 and math.isnan(lost["test_error"].iloc[0])

    table = tmp_path.parent / f"{tmp_path.name}.csv"  # outside the folder it reads
    rows = export_csv(tmp_path, table)
    back = pd.read_csv(table)
    assert rows == len(back) == len(df) == 3
    assert list(back.columns) == list(df.columns)
    assert back["test_error"].tolist()[:2] == pytest.approx(mine["test_error"].tolist())


def test_missing_directory_and_missing_pandas(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        load_frame(tmp_path / "nowhere")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises
    with pytest.raises(ImportError, match=r"pip install 'hypermod\[frame\]'"):
        load_frame(tmp_path)


def test_zoo_settings_are_columns_and_the_metric_is_named(tmp_path, capsys):
    # issue 19 item 7: the zoo's settings dict was a Python repr in the CSV, and the
    # MSE of INR and regression sat in test_error with nothing naming it
    pytest.importorskip("pandas")
    from hypermod.cli import main

    assert main(["--threads", "1", "sweep", "conditioning-zoo", "--quick", "--seeds", "1",
                 "--out", str(tmp_path / "z"), "--set", "methods=hyper",
                 "--set", "budgets=5000", "--set", "datasets=digits",
                 "--set", "tasks=rotation,inr", "--set", "train.epochs=1",
                 "--set", "limit_train=100", "--set", "limit_test=50"]) == 0
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    # each job is named before its epoch lines, which name the task's metric
    heading = next(i for i, line in enumerate(lines)
                   if line.startswith("conditioning-zoo: dataset-digits_task-inr"))
    assert lines[heading + 1].startswith("epoch 1: ") and "test MSE" in lines[heading + 1]
    frame = load_frame(tmp_path / "z")
    assert "settings" not in frame.columns
    assert (frame["settings.encoder_depth"] == 2).all()
    assert dict(zip(frame["task"], frame["error_name"])) == {"rotation": "error", "inr": "MSE"}
    assert main(["export", str(tmp_path / "z"), "--csv", str(tmp_path / "z.csv")]) == 0
    assert "{'" not in (tmp_path / "z.csv").read_text()
