"""The worked examples run as a user would run them and produce what they promise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _run(script, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_says_how_to_run_it(path):
    first = path.read_text().split('"""')[1].splitlines()[0]
    assert first.startswith(f"python examples/{path.name}"), first


def test_custom_primary_trains_a_conv_primary(tmp_path):
    out = _run("custom_primary.py", "--epochs", 2, "--samples", 600, cwd=tmp_path)
    assert "'g_generated': 554" in out
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1", "epoch 2"]
    assert "final test error" in out


def test_sweep_to_dataframe_draws_a_figure(tmp_path):
    pytest.importorskip("pandas")
    out = _run("sweep_to_dataframe.py", tmp_path / "depth.png", "--epochs", 1,
               "--limit-train", 128, cwd=tmp_path)
    assert (tmp_path / "depth.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = out[out.index("mean"):]
    for method in ("embedding", "hyper"):
        assert method in table
    assert "skipped" not in out and list(tmp_path.iterdir()) == [tmp_path / "depth.png"]


@pytest.mark.parametrize(("experiment", "settings", "axis"), [
    ("conditioning-zoo", ["methods=hyper,mlp", "budgets=5000,8000", "datasets=digits",
                          "tasks=rotation", "train.epochs=1", "limit_train=200", "limit_test=100"],
     "budget"),
    ("assumption2", ["widths=1,2", "train.epochs=1"], "width"),
])
def test_sweep_to_dataframe_draws_the_other_experiments_sweeps(tmp_path, experiment, settings,
                                                                axis):
    # issue 19 item 6: the example ended in KeyError 'depth' on the zoo's sweep
    pytest.importorskip("pandas")
    from hypermod.cli import main

    sets = [arg for s in settings for arg in ("--set", s)]
    assert main(["--threads", "1", "sweep", experiment, "--quick", "--seeds", "1",
                 "--no-progress", "--out", str(tmp_path / "s"), *sets]) == 0
    out = _run("sweep_to_dataframe.py", tmp_path / "f.png", "--sweep", tmp_path / "s",
               cwd=tmp_path)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.startswith(f"{experiment}: reported test metric by")
    assert axis in out.splitlines()[0]
    # an experiment the sweep does not hold is named, not a traceback
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "sweep_to_dataframe.py"),
                           str(tmp_path / "g.png"), "--sweep", str(tmp_path / "s"),
                           "--experiment", "rotation-depth"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert f"holds no rotation-depth runs (it holds: {experiment})" in done.stderr
    assert not (tmp_path / "g.png").exists()
