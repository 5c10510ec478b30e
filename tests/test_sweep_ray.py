"""Sweeps on Ray: same files as in-process, worker and driver kills, failures, clean exits.

Each test starts its own local Ray instance (under a temporary RAY_TMPDIR, which names
every process it starts) and checks that none of those processes outlive it.
"""

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import hypermod.sweep.ray as sweep_ray  # noqa: E402 - only once Ray is known to be there
from hypermod.experiments import get_experiment  # noqa: E402
from hypermod.sweep import Experiment, SweepContext, run_sweep, unit  # noqa: E402
from hypermod.sweep.ray import RayExecutor  # noqa: E402
from hypermod.training import TrainConfig  # noqa: E402

TESTS = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class SlowConfig:
    datasets: tuple[str, ...] = ("a", "b")
    seeds: int = 2
    seconds: float = 0.0  # each run sleeps this long
    marks: str = ""  # a folder: each run appends its key to marks/calls
    kill_key: str = ""  # its first run writes its pid to marks/pid and waits to be killed
    fail_key: str = ""  # this unit raises ValueError


def slow_run(config, item, ctx):
    """A toy unit's run (module level: Ray workers import it from this file)."""
    if config.marks:
        marks = Path(config.marks)
        with open(marks / "calls", "a") as calls:
            calls.write(item.key + "\n")
        if item.key == config.kill_key and not (marks / "pid").exists():
            (marks / "pid.tmp").write_text(str(os.getpid()))
            (marks / "pid.tmp").rename(marks / "pid")  # the test reads a whole pid
            time.sleep(120)  # killed long before this ends
    time.sleep(config.seconds)
    if item.key == config.fail_key:
        raise ValueError(f"boom in {item.key}")
    return [{**item.as_dict(), "epoch": 1, "value": 10 * item.seed + len(config.datasets)}]


SLOW = Experiment(
    name="slow", description="toy", full=SlowConfig(), quick=SlowConfig(),
    units=lambda c: [unit(s, dataset=d) for s in range(1, c.seeds + 1) for d in c.datasets],
    run=slow_run, grid_fields=("datasets", "seeds", "seconds", "marks", "kill_key"),
)


@pytest.fixture(autouse=True)
def ray_tmp(monkeypatch):
    """A private RAY_TMPDIR (short: Ray's socket paths must fit in 107 bytes); afterwards,
    no process started under it may be left, and no Ray connection open."""
    directory = tempfile.mkdtemp(prefix="hmray", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", directory)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # Workers start from Ray's raylet with this environment: they must import this module.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]))
    yield directory
    left = _wait_gone(directory)
    shutil.rmtree(directory, ignore_errors=True)
    assert not ray.is_initialized()
    assert not left, f"Ray processes left running: {left}"


def _processes(tag: str) -> dict[int, str]:
    """pid -> command line of every live process (but this one) whose command line or
    environment names `tag`. The environment matters: Ray's agents rename themselves
    (`ray::DashboardAgent`), and their command line then names nothing of the test."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if cmdline and (tag in cmdline or tag in environ):  # a zombie has no command line
            found[int(proc.name)] = cmdline[:120]
    return found


AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _wait_gone(tag: str, seconds: float = 20.0) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while (left := _processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _rows(out: Path, experiment: str) -> dict[str, list]:
    return {p.name: json.loads(p.read_text())["rows"]
            for p in (out / experiment / "runs").glob("*.json")}


class Recording:
    """An executor wrapper that keeps every outcome, to check attempts and hosts."""

    def __init__(self, inner):
        self.inner, self.outcomes = inner, []

    def run(self, jobs, done):
        def keep(job, outcome):
            self.outcomes.append((job, outcome))
            done(job, outcome)
        self.inner.run(jobs, keep)


def _ctx():
    return SweepContext("cpu", progress=False)


def test_quick_sweep_on_ray_writes_what_in_process_writes(tmp_path, ray_tmp):
    exp = get_experiment("rotation-depth")
    config = dataclasses.replace(exp.quick, datasets=("digits",), depths=(1,),
                                 train=TrainConfig(epochs=1), seeds=2, limit_train=128,
                                 limit_test=64)
    here = run_sweep(exp, config, tmp_path / "here", _ctx(), log=lambda m: None)
    executor = Recording(RayExecutor())
    there = run_sweep(exp, config, tmp_path / "ray", _ctx(), log=lambda m: None,
                      executor=executor)
    assert here == there == {"total": 4, "skipped": 0, "ran": 4}
    assert _processes(ray_tmp) == {}  # the executor stopped the instance it started
    expected, got = _rows(tmp_path / "here", exp.name), _rows(tmp_path / "ray", exp.name)
    assert sorted(got) == sorted(expected) and len(got) == 4
    for name, rows in expected.items():
        assert [r["test_error"] for r in got[name]] == [r["test_error"] for r in rows], name
        assert [r["test_loss"] for r in got[name]] == pytest.approx(
            [r["test_loss"] for r in rows], rel=1e-5)
    assert all(o.error is None and o.attempts == 1 and o.seconds > 0 and o.host
               for _, o in executor.outcomes)


def _start_ray():
    """A local Ray instance started by the test (the executor then leaves it running)."""
    ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
             log_to_driver=False)


def test_a_killed_worker_is_retried_and_one_dying_past_its_retries_fails_alone(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = SlowConfig(marks=str(marks), kill_key="dataset-b_seed-1")
    killed = []

    def kill_when_started():
        deadline = time.monotonic() + 60
        while not (marks / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int((marks / "pid").read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    _start_ray()  # one start for both sweeps
    try:
        executor = Recording(RayExecutor(max_retries=1))
        counts = run_sweep(SLOW, config, tmp_path / "ray", _ctx(), log=lambda m: None,
                           executor=executor)
        killer.join(timeout=5)
        # max_retries=0: the first death is final; that job is reported with the reason.
        messages = []
        dying = run_sweep(dataclasses.replace(SLOW, run=suicidal_run), SlowConfig(("a",)),
                          tmp_path / "dying", _ctx(), log=messages.append,
                          executor=RayExecutor(max_retries=0, max_in_flight=1))
    finally:
        ray.shutdown()
    assert killed and counts == {"total": 4, "skipped": 0, "ran": 4}
    attempts = {job.units[0].key: o.attempts for job, o in executor.outcomes}
    assert attempts == {"dataset-a_seed-1": 1, "dataset-b_seed-1": 2, "dataset-a_seed-2": 1,
                        "dataset-b_seed-2": 1}
    run_sweep(SLOW, SlowConfig(), tmp_path / "whole", _ctx(), log=lambda m: None)
    assert _rows(tmp_path / "ray", "slow") == _rows(tmp_path / "whole", "slow")

    assert dying == {"total": 2, "skipped": 0, "ran": 1, "failed": 1}
    failure = [m for m in messages if "failed" in m]
    assert len(failure) == 1 and "dataset-a_seed-1" in failure[0]
    assert "WorkerCrashedError" in failure[0] and "after 1 attempt(s)" in failure[0]
    assert sorted(_rows(tmp_path / "dying", "slow")) == ["dataset-a_seed-2.json"]


def suicidal_run(config, item, ctx):
    """Seed 1 dies with its worker, every time."""
    if item.seed == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return slow_run(config, item, ctx)


_DRIVER = """
import sys
from pathlib import Path
from test_sweep_ray import SLOW, SlowConfig
from hypermod.sweep import SweepContext, run_sweep
from hypermod.sweep.ray import RayExecutor
config = SlowConfig(datasets=("a", "b", "c"), seconds=0.5, marks=sys.argv[2])
run_sweep(SLOW, config, Path(sys.argv[1]), SweepContext("cpu", progress=False),
          executor=RayExecutor())
"""


def test_after_the_driver_is_killed_a_rerun_does_only_the_missing_units(tmp_path, ray_tmp):
    marks = tmp_path / "marks"
    marks.mkdir()
    out, runs = tmp_path / "out", tmp_path / "out" / "slow" / "runs"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(out), str(marks)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(list(runs.glob("*.json"))) < 2 and time.monotonic() < deadline:
        assert driver.poll() is None, driver.stderr.read().decode()
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.communicate(timeout=30)
    # Ray's processes share the fate of the driver that started them, but for its two
    # agents, which wait about a minute for the dead GCS before they exit (docs/ray.md)
    left = _wait_gone(ray_tmp)
    assert all(name.startswith(AGENTS) for name in left.values()), left
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # not worth a minute of the suite
    assert _wait_gone(ray_tmp, 10) == {}
    finished = {p.stem for p in runs.glob("*.json")}
    assert 2 <= len(finished) < 6
    before = len((marks / "calls").read_text().splitlines())

    # The rerun runs in process: what it skips is the runner's business, whatever the executor.
    config = SlowConfig(datasets=("a", "b", "c"), seconds=0.5, marks=str(marks))
    counts = run_sweep(SLOW, config, out, _ctx(), log=lambda m: None)
    assert counts == {"total": 6, "skipped": len(finished), "ran": 6 - len(finished)}
    rerun = (marks / "calls").read_text().splitlines()[before:]
    everything = {u.key for u in SLOW.units(config)}
    assert sorted(rerun) == sorted(everything - finished)
    assert {p.stem for p in runs.glob("*.json")} == everything


def test_a_task_that_raises_is_failed_with_its_message_and_the_rest_finish(tmp_path):
    _start_ray()  # already running: the executor uses it and leaves it running
    try:
        messages = []
        config = SlowConfig(fail_key="dataset-a_seed-2")
        executor = Recording(RayExecutor(max_retries=2))
        counts = run_sweep(SLOW, config, tmp_path, _ctx(), log=messages.append,
                           executor=executor)
        assert ray.is_initialized()
        with pytest.raises(ValueError, match="asks for 1 CPUs and 1 GPUs, but the Ray cluster"):
            run_sweep(SLOW, config, tmp_path / "gpu", _ctx(), log=lambda m: None,
                      executor=RayExecutor(gpus_per_task=1))
    finally:
        ray.shutdown()
    assert counts == {"total": 4, "skipped": 0, "ran": 3, "failed": 1}
    failure = [m for m in messages if "failed" in m]
    assert len(failure) == 1
    assert "dataset-a_seed-2" in failure[0] and "after 1 attempt(s)" in failure[0]
    assert "ValueError: boom in dataset-a_seed-2" in failure[0]
    assert sorted(_rows(tmp_path, "slow")) == [
        "dataset-a_seed-1.json", "dataset-b_seed-1.json", "dataset-b_seed-2.json"]


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sweep_ray, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'hypermod\[ray\]' \(or pip install ray\)"):
        RayExecutor()


# -- issue 21 items 3 and 4: a Ray sweep's exit code and its connection


def test_a_ray_sweep_with_failed_units_exits_1_without_pointing_to_the_report(
        tmp_path, capsys, monkeypatch):
    from hypermod.cli import main
    from hypermod.experiments import registry

    monkeypatch.setitem(registry.EXPERIMENTS, "slow", SLOW)
    code = main(["sweep", "slow", "--executor", "ray", "--set", "datasets=digits", "--set",
                 "fail_key=dataset-digits_seed-1", "--seeds", "2", "--no-progress", "--out",
                 str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "slow: dataset-digits_seed-1 failed on" in out
    assert ("slow: 1 runs done, 0 were already finished, 1 failed (each failure is named "
            "above)") in out
    assert "run the same command again to retry the failed runs" in out
    assert "next: hypermod report" not in out


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once closed


def test_an_unreachable_ray_address_is_named_and_nothing_is_written(tmp_path, capsys):
    from hypermod.cli import main

    address = f"127.0.0.1:{_closed_port()}"
    out = tmp_path / "o"
    started = time.monotonic()
    assert main(["sweep", "assumption2", "--executor", "ray", "--ray-address", address,
                 "--no-progress", "--out", str(out)]) == 2
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert f"hypermod: error: cannot reach the Ray cluster at {address} (Connection refused " \
           "within 10 s); is its head running" in err
    assert not out.exists()  # no sweep.json before the connection


def test_a_silent_ray_address_times_out_naming_it(tmp_path, monkeypatch):
    import socket

    def no_answer(address, timeout):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", no_answer)
    executor = RayExecutor("10.255.255.1:6379", connect_timeout=2)
    with pytest.raises(ConnectionError, match=r"cannot reach the Ray cluster at "
                       r"10.255.255.1:6379 \(no answer within 2 s\)"):
        run_sweep(SLOW, SlowConfig(), tmp_path, _ctx(), log=lambda m: None, executor=executor)
    assert not (tmp_path / "slow").exists()
