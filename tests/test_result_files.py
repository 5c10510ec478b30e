"""A result file is counted once, and only when it is what its name says (issue 21 item 5);
files that are not regular files are skipped without being opened (item 10)."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

from hypermod.experiments.report import load_results
from hypermod.sweep import Experiment, SweepContext, run_sweep, unit

pd = pytest.importorskip("pandas")
from hypermod.frame import load_frame  # noqa: E402 - pandas first


@dataclass(frozen=True)
class Config:
    depths: tuple[int, ...] = (1, 2)
    seeds: int = 2


TOY = Experiment(
    name="toy", description="toy", full=Config(), quick=Config(),
    units=lambda c: [unit(s, depth=d) for s in range(1, c.seeds + 1) for d in c.depths],
    run=lambda c, item, ctx: [{**item.as_dict(), "epoch": 1, "value": item.seed}],
    grid_fields=("depths", "seeds"))


@pytest.fixture
def sweep(tmp_path):
    run_sweep(TOY, Config(), tmp_path, SweepContext("cpu", progress=False), lambda m: None)
    runs = tmp_path / "toy" / "runs"
    assert sorted(p.stem for p in runs.glob("*.json")) == [
        "depth-1_seed-1", "depth-1_seed-2", "depth-2_seed-1", "depth-2_seed-2"]
    return tmp_path, runs


def _loaded(directory):
    """(unit keys the report reads, those the frame reads, every skip message of both)."""
    grouped, skipped = load_results(directory)
    frame = load_frame(directory)
    report = sorted(os.path.basename(r["path"]) for r in grouped.get("toy", []))
    table = sorted({os.path.basename(p) for p in frame["path"]})
    return report, table, skipped + frame.attrs["skipped"]


FOUR = [f"depth-{d}_seed-{s}.json" for d in (1, 2) for s in (1, 2)]


def test_a_copy_under_another_name_is_named_and_skipped(sweep):
    directory, runs = sweep
    copy = runs / "depth-1_seed-1 (copy).json"
    shutil.copy(runs / "depth-1_seed-1.json", copy)
    report, table, skipped = _loaded(directory)
    assert report == table == FOUR  # no seed added
    assert [m for m in skipped if str(copy) in m] == [
        f"{copy}: holds unit depth-1_seed-1, not the one its name says; skipped (a copy, or "
        "an edited file?)"] * 2


def test_a_file_whose_unit_was_edited_is_named_and_skipped(sweep):
    directory, runs = sweep
    path = runs / "depth-1_seed-2.json"
    record = json.loads(path.read_text())
    record["unit"]["depth"] = 8
    for row in record["rows"]:  # edited with care: the rows agree with the unit
        row["depth"] = 8
    path.write_text(json.dumps(record))
    report, table, skipped = _loaded(directory)
    assert report == table == [f for f in FOUR if f != path.name]
    assert sum(f"{path}: holds unit depth-8_seed-2, not the one its name says" in m
               for m in skipped) == 2


def test_a_file_whose_rows_disagree_with_its_unit_is_named_and_skipped(sweep):
    directory, runs = sweep
    path = runs / "depth-2_seed-1.json"
    record = json.loads(path.read_text())
    record["rows"][0]["depth"] = 8
    path.write_text(json.dumps(record))
    report, table, skipped = _loaded(directory)
    assert report == table == [f for f in FOUR if f != path.name]
    assert sum("row 0: 'depth' is 8, but its unit's is 2" in m for m in skipped) == 2


def test_two_results_of_one_unit_are_counted_once(sweep):
    directory, runs = sweep
    backup = directory / "toy-backup" / "runs"
    backup.mkdir(parents=True)
    shutil.copy(runs / "depth-2_seed-2.json", backup / "depth-2_seed-2.json")
    report, table, skipped = _loaded(directory)
    assert report == table == FOUR
    assert sum(f"{backup / 'depth-2_seed-2.json'}: a second result of toy unit "
               f"depth-2_seed-2 (the first: {runs / 'depth-2_seed-2.json'}); skipped" in m
               for m in skipped) == 2


_READ_ALL = """
import sys
from hypermod.experiments.report import load_results
from hypermod.frame import load_frame
print(len(load_results(sys.argv[1])[0]["toy"]), len(load_frame(sys.argv[1])))
print(load_frame(sys.argv[1]).attrs["skipped"])
"""


def test_a_fifo_named_like_a_result_does_not_hang_the_readers(sweep):
    directory, runs = sweep
    fifo = runs / "depth-9_seed-1.json"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-c", _READ_ALL, str(directory)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    counts, skipped = done.stdout.splitlines()
    assert counts == "4 4"
    assert f"{fifo}: not a regular file" in skipped
