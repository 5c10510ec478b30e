"""Sweeps under faults: killed at random moments, two copies at once, a full disk.

The suite kills a sweep HYPERMOD_KILLS times (default 3); docs/reliability.md reports a
longer run:

    HYPERMOD_KILLS=40 python -m pytest tests/test_sweep_faults.py -k random
"""

import errno
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hypermod.results
from hypermod.cli import main
from hypermod.records import check_unit_record
from hypermod.sweep import SweepContext, run_sweep

KILLS = int(os.environ.get("HYPERMOD_KILLS", "3"))
UNITS = 10


def _sweep_command(out: Path) -> list[str]:
    # One thread, so that every copy computes bit for bit the same floats.
    return [sys.executable, "-m", "hypermod.cli", "--threads", "1", "sweep", "assumption2",
            "--quick", "--no-progress", "--device", "cpu", "--out", str(out), "--seeds", "1",
            "--set", "widths=1,2,3,4,5,6,7,8,9,10", "--set", "train.epochs=12",
            "--set", "limit_train=600"]


def _start(out: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(_sweep_command(out), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kwargs)


def _unit_files(runs: Path) -> dict[str, dict]:
    """Every visible unit file, each checked to be a whole, valid record."""
    return {p.name: check_unit_record(json.loads(p.read_text()), p) for p in runs.glob("*.json")}


def test_a_sweep_killed_at_random_moments_ends_as_if_never_interrupted(tmp_path):
    reference = _start(tmp_path / "reference")
    rng = random.Random(2024)
    runs = tmp_path / "killed" / "assumption2" / "runs"
    kills = restarts = 0
    while True:
        proc = _start(tmp_path / "killed")
        restarts += 1
        for line in proc.stdout:  # the sweep has loaded and is about to run units
            if " to run -> " in line:
                break
        if kills < KILLS:
            time.sleep(rng.uniform(0.0, 1.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        output = proc.communicate(timeout=300)[0]
        _unit_files(runs)  # after every kill: nothing half-written
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, output
        assert restarts < KILLS + 20, "the sweep makes no progress"
    assert kills == KILLS
    assert reference.communicate(timeout=300)[0] and reference.returncode == 0

    killed, whole = _unit_files(runs), _unit_files(tmp_path / "reference" / "assumption2" / "runs")
    assert len(killed) == len(whole) == UNITS  # exactly one result per (config, seed)
    for name, record in whole.items():
        assert killed[name]["rows"] == record["rows"], name  # floats compared exactly
        assert killed[name]["unit"] == record["unit"]
    assert not list(runs.glob(".*"))  # no temporary or lock file left
    print(f"{kills} kills survived, {restarts} starts")


def test_two_copies_started_at_once_run_each_unit_once(tmp_path):
    first, second = _start(tmp_path), _start(tmp_path)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    ran = [int(re.search(r"assumption2: (\d+) runs done", out).group(1)) for out in outputs]
    assert sum(ran) == UNITS, outputs  # none ran twice, none was left out
    runs = tmp_path / "assumption2" / "runs"
    assert len(_unit_files(runs)) == UNITS
    assert not list(runs.glob(".*"))
    again = _start(tmp_path)
    assert f"{UNITS} runs, {UNITS} already finished, 0 to run" in again.communicate()[0]


def test_a_unit_held_by_another_process_is_left_to_it(tmp_path):
    import fcntl

    from test_sweep import Toy, ToyConfig

    runs = tmp_path / "toy" / "runs"
    runs.mkdir(parents=True)
    with open(runs / ".dataset-a_seed-2.lock", "w") as held:  # as a live sweep holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        toy, lines = Toy(), []
        counts = run_sweep(toy.experiment, ToyConfig(), tmp_path,
                           SweepContext("cpu", progress=False), lines.append)
    assert counts == {"total": 4, "skipped": 0, "ran": 3, "busy": 1}
    assert "dataset-a_seed-2" not in toy.calls
    assert "1 runs were being run by another process" in lines[-1]


def _disk_full_on(target: str, monkeypatch):
    """Make fsync of the temporary file of `target` fail as a full disk does."""
    real = os.fsync

    def fsync(fd):
        if f".{target}." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(hypermod.results.os, "fsync", fsync)


def test_a_full_disk_stops_the_sweep_with_a_clear_message_and_no_partial_file(
        tmp_path, monkeypatch, capsys):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell files apart")
    argv = ["sweep", "assumption2", "--quick", "--no-progress", "--device", "cpu", "--out",
            str(tmp_path), "--seeds", "1", "--set", "widths=1,2,3,4", "--set", "train.epochs=1",
            "--set", "limit_train=64", "--no-ensemble"]
    _disk_full_on("dataset-digits_width-3_seed-1.json", monkeypatch)
    assert main(argv) == 2
    err = capsys.readouterr().err
    runs = tmp_path / "assumption2" / "runs"
    assert (f"hypermod: error: [Errno 28] could not write {runs}/dataset-digits_width-3_seed-1"
            ".json: No space left on device; nothing was written") in err
    assert f"The sweep stopped: 2 of 4 runs are finished in {runs}; make room and run" in err
    assert sorted(_unit_files(runs)) == ["dataset-digits_width-1_seed-1.json",
                                         "dataset-digits_width-2_seed-1.json"]
    assert not list(runs.glob(".*.tmp"))
    assert not (runs / "dataset-digits_width-3_seed-1.json").exists()
    monkeypatch.undo()  # room again: the same command does the rest
    assert main(argv) == 0
    assert "4 runs, 2 already finished, 2 to run" in capsys.readouterr().out
    assert len(_unit_files(runs)) == 4 and not list(runs.glob(".*"))


def test_a_real_write_failure_from_the_kernel_is_reported_the_same_way(tmp_path):
    # RLIMIT_FSIZE makes the kernel refuse writes past 2,000 bytes (EFBIG; Python ignores
    # SIGXFSZ): sweep.json fits, the first unit file does not.
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    proc = _start(tmp_path, preexec_fn=limit)
    output = proc.communicate(timeout=300)[0]
    runs = tmp_path / "assumption2" / "runs"
    assert proc.returncode == 2, output
    assert (f"hypermod: error: [Errno {errno.EFBIG}] could not write {runs}/dataset-digits_width"
            "-1_seed-1.json: File too large; nothing was written") in output
    assert "The sweep stopped: 0 of 10 runs are finished" in output
    # No result, no temporary: only the (empty) claim of the unit, released by the kernel.
    assert [p.name for p in runs.iterdir()] == [".dataset-digits_width-1_seed-1.lock"]
