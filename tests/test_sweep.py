"""Sweeps: one atomic file per run, resume after deletion, corruption or a killed process."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypermod.config import override
from hypermod.experiments import get_experiment, settings_for
from hypermod.experiments.report import load_results
from hypermod.sweep import Experiment, SweepContext, run_sweep, unit


@dataclass(frozen=True)
class ToyConfig:
    datasets: tuple[str, ...] = ("a", "b")
    scale: float = 1.0
    seeds: int = 2


class Toy:
    """An experiment whose runs are cheap and counted."""

    def __init__(self, fail_on=None):
        self.calls, self.fail_on = [], fail_on
        self.experiment = Experiment(
            name="toy", description="toy", full=ToyConfig(), quick=ToyConfig(),
            units=lambda c: [unit(s, dataset=d) for s in range(1, c.seeds + 1)
                             for d in c.datasets],
            run=self.run, grid_fields=("datasets", "seeds"), datasets=("a", "b", "c"),
        )

    def run(self, config, item, ctx):
        self.calls.append(item.key)
        if item.key == self.fail_on:
            raise KeyboardInterrupt  # what SIGINT raises in the middle of a run
        return [{**item.as_dict(), "epoch": 1, "value": config.scale * item.seed}]


def _quiet(message):
    pass


def _sweep(toy, config, out):
    return run_sweep(toy.experiment, config, out, SweepContext("cpu", progress=False), _quiet)


def test_unit_keys_are_readable_and_safe():
    assert unit(3, dataset="fashion-mnist", lr=0.01).key == "dataset-fashion-mnist_lr-0.01_seed-3"
    assert "/" not in unit(1, path="a/b").key


def test_rerun_skips_finished_and_redoes_deleted_and_corrupt(tmp_path):
    toy = Toy()
    assert _sweep(toy, ToyConfig(), tmp_path) == {"total": 4, "skipped": 0, "ran": 4}
    runs = tmp_path / "toy" / "runs"
    kept = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    (runs / "dataset-a_seed-1.json").unlink()
    (runs / "dataset-b_seed-2.json").write_text('{"status": "finish')  # a torn write
    (runs / ".dataset-a_seed-2.json.123.tmp").write_text("{")  # a stray temporary file

    toy2 = Toy()
    assert _sweep(toy2, ToyConfig(), tmp_path) == {"total": 4, "skipped": 2, "ran": 2}
    assert sorted(toy2.calls) == ["dataset-a_seed-1", "dataset-b_seed-2"]
    for name in ("dataset-b_seed-1.json", "dataset-a_seed-2.json"):
        assert (runs / name).read_bytes() == kept[name]  # untouched
    assert not list(runs.glob(".*.tmp"))
    records = load_results(tmp_path)[0]["toy"]
    assert sorted(r["unit"]["seed"] for r in records) == [1, 1, 2, 2]


def test_interrupt_loses_only_the_run_in_flight(tmp_path):
    toy = Toy(fail_on="dataset-a_seed-2")
    with pytest.raises(KeyboardInterrupt):
        _sweep(toy, ToyConfig(), tmp_path)
    runs = tmp_path / "toy" / "runs"
    assert sorted(p.name for p in runs.glob("*.json")) == [
        "dataset-a_seed-1.json", "dataset-b_seed-1.json"]
    toy2 = Toy()
    assert _sweep(toy2, ToyConfig(), tmp_path)["ran"] == 2
    assert toy2.calls == ["dataset-a_seed-2", "dataset-b_seed-2"]


def test_more_seeds_or_data_sets_extend_but_other_settings_are_refused(tmp_path):
    _sweep(Toy(), ToyConfig(), tmp_path)
    toy = Toy()
    assert _sweep(toy, ToyConfig(datasets=("a", "b", "c"), seeds=3), tmp_path)["ran"] == 5
    with pytest.raises(ValueError, match=r"other settings \(scale: 1.0 -> 2.0\)"):
        _sweep(Toy(), ToyConfig(scale=2.0), tmp_path)


def test_settings_changed_behind_the_sweeps_back_are_redone(tmp_path):
    _sweep(Toy(), ToyConfig(), tmp_path)
    (tmp_path / "toy" / "sweep.json").unlink()  # what the refusal message allows
    toy, lines = Toy(), []
    counts = run_sweep(toy.experiment, ToyConfig(scale=2.0), tmp_path,
                       SweepContext("cpu", progress=False), lines.append)
    assert counts == {"total": 4, "skipped": 0, "ran": 4}
    assert "(4 made with other settings)" in lines[0]
    values = sorted(r["rows"][0]["value"] for r in load_results(tmp_path)[0]["toy"])
    assert values == [2.0, 2.0, 4.0, 4.0]


def test_sweeps_nested_deeper_are_not_read_as_this_one(tmp_path):
    _sweep(Toy(), ToyConfig(), tmp_path)
    _sweep(Toy(), ToyConfig(scale=5.0, seeds=1), tmp_path / "other")
    assert len(load_results(tmp_path)[0]["toy"]) == 4
    assert len(load_results(tmp_path / "other")[0]["toy"]) == 2
    assert len(load_results(tmp_path / "toy")[0]["toy"]) == 4  # an experiment's own folder


def test_temporary_files_of_a_live_writer_are_left_alone(tmp_path):
    runs = tmp_path / "toy" / "runs"
    runs.mkdir(parents=True)
    live = runs / f".dataset-a_seed-1.json.{os.getpid()}.0a1b2c3d.tmp"
    dead = runs / ".dataset-b_seed-1.json.999999999.0a1b2c3d.tmp"
    live.write_text("{")
    dead.write_text("{")
    _sweep(Toy(), ToyConfig(), tmp_path)
    assert live.exists() and not dead.exists()


def test_override_parses_by_field_type_and_refuses_unknown_keys():
    @dataclass(frozen=True)
    class C:
        depths: tuple[int, ...] = (2, 3)
        lr: float = 0.1
        epochs: int = 10
        limit: int | None = None
        grid: bool = True
        name: str = "x"

    c = override(C(), ["depths=4,5", "lr=1e-3", "epochs=2", "limit=500", "grid=false",
                       "name=y"])
    assert c == C((4, 5), 1e-3, 2, 500, False, "y")
    assert override(C(limit=5), ["limit=none"]).limit is None
    with pytest.raises(ValueError, match="unknown setting 'depth'"):
        override(C(), ["depth=3"])
    with pytest.raises(ValueError, match="'epochs' expects int, got 'ten'"):
        override(C(), ["epochs=ten"])
    with pytest.raises(ValueError, match="'epochs' expects int, got 'none'"):
        override(C(), ["epochs=none"])  # None only where the type admits it
    with pytest.raises(ValueError, match="'limit' expects int or none, got 'abc'"):
        override(C(), ["limit=abc"])
    with pytest.raises(ValueError, match="'depths' expects int, got 'a'"):
        override(C(), ["depths=2,a"])
    with pytest.raises(ValueError, match="key=value"):
        override(C(), ["epochs"])


def _cli_sweep(out: Path, *extra: str) -> subprocess.Popen:
    # One thread: two would fight over the cores with whatever else runs on a 2-core machine.
    args = [sys.executable, "-m", "hypermod.cli", "--threads", "1", "sweep", "assumption2",
            "--quick", "--no-progress", "--device", "cpu", "--out", str(out), "--seeds", "1",
            "--set", "widths=1,2,3,4,5,6,7,8,9,10", "--set", "train.epochs=12",
            "--set", "limit_train=600",
            *extra]
    # SIGINT's default action restored in the child: a test suite started in the background
    # (`pytest &`) passes on an ignored SIGINT, and Python then never raises KeyboardInterrupt
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_files(runs: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(runs.glob("*.json"))) < n:
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_sweep_process_resumes_where_it_stopped(tmp_path, sig):
    runs = tmp_path / "assumption2" / "runs"
    proc = _cli_sweep(tmp_path)
    _wait_for_files(runs, 2, proc)
    proc.send_signal(sig)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert "interrupted" in output
    done = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert 2 <= len(done) < 10
    for content in done.values():
        assert json.loads(content)["status"] == "finished"  # nothing half-written

    proc = _cli_sweep(tmp_path)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output
    assert f"10 runs, {len(done)} already finished, {10 - len(done)} to run" in output
    assert len(list(runs.glob("*.json"))) == 10
    for name, content in done.items():
        assert (runs / name).read_bytes() == content
    assert not list(runs.glob(".*"))


def test_a_unit_records_the_environment_its_job_ran_in(tmp_path):
    """An executor elsewhere (a GPU worker, say) reports its own environment; the driver
    writes that, not its own."""
    from hypermod.sweep import InProcess, compute

    class Elsewhere(InProcess):
        def run(self, jobs, done):
            for job in jobs:
                outcome = compute(job, self.context)
                outcome.environment = {**outcome.environment, "device": "cuda:7"}
                outcome.host = "worker-3"
                done(job, outcome)

    experiment = get_experiment("assumption2")
    config = override(settings_for(experiment, seeds=1), ["widths=1", "train.epochs=1",
                                                          "limit_train=64", "limit_test=32"])
    ctx = SweepContext("cpu", progress=False)
    run_sweep(experiment, config, tmp_path, ctx, log=lambda _: None,
              executor=Elsewhere(ctx))
    (record,) = load_results(tmp_path)[0]["assumption2"]
    assert record["environment"]["device"] == "cuda:7"
    assert record["worker"]["host"] == "worker-3"
