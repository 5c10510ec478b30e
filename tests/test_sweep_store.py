"""The sweep's files: sweep.json guards finished results only, and is read defensively."""

import json
from dataclasses import dataclass

import pytest

from hypermod.sweep import Experiment, SweepContext, SweepStore, run_sweep, unit


@dataclass(frozen=True)
class Config:
    datasets: tuple[str, ...] = ("a", "b")
    scale: float = 1.0
    seeds: int = 1


def _run(config, item, ctx):
    if config.scale < 0:
        raise ValueError(f"scale {config.scale} found only when a unit runs")
    return [{**item.as_dict(), "epoch": 1, "value": config.scale}]


TOY = Experiment(name="toy", description="toy", full=Config(), quick=Config(),
                 units=lambda c: [unit(s, dataset=d) for s in range(1, c.seeds + 1)
                                  for d in c.datasets],
                 run=_run, grid_fields=("datasets", "seeds"))


def _sweep(config, out, log=None):
    return run_sweep(TOY, config, out, SweepContext("cpu", progress=False),
                     log or (lambda m: None))


def test_settings_that_fail_every_unit_do_not_block_the_corrected_command(tmp_path):
    """Issue 21 item 6: the failed sweep finished nothing, so its sweep.json guards nothing."""
    with pytest.raises(ValueError, match="found only when a unit runs"):
        _sweep(Config(scale=-1.0), tmp_path)
    lines = []
    assert _sweep(Config(scale=2.0), tmp_path, lines.append)["ran"] == 2
    assert any("sweep.json held other settings (scale: -1.0 -> 2.0) but no finished run; "
               "replaced" in line for line in lines), lines
    recorded = json.loads((tmp_path / "toy" / "sweep.json").read_text())["config"]
    assert recorded["scale"] == 2.0


def test_other_settings_are_still_refused_once_a_unit_finished(tmp_path):
    _sweep(Config(datasets=("a",)), tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(scale: 1.0 -> 2.0\)"):
        _sweep(Config(scale=2.0), tmp_path)


def test_other_settings_are_refused_while_another_process_holds_a_unit(tmp_path):
    store = SweepStore(tmp_path / "toy", Config(scale=-1.0), TOY.grid_fields)
    store.open()
    claim = store.claim("dataset-a_seed-1")  # as a live sweep running that unit
    assert claim.acquire()
    try:
        with pytest.raises(ValueError, match="other settings"):
            _sweep(Config(scale=2.0), tmp_path)
    finally:
        claim.release(done=False)


@pytest.mark.parametrize(("text", "problem"), [
    ("[]", "a JSON list, not an object"),
    ("{}", "no 'config' object"),
    ('{"config": [1, 2]}', "no 'config' object"),
    ('"text"', "a JSON str, not an object"),
    ("{", "not a valid JSON result file"),
])
def test_a_damaged_sweep_json_is_named_not_a_traceback(tmp_path, text, problem):
    """Issue 21 item 8."""
    (tmp_path / "toy").mkdir()
    path = tmp_path / "toy" / "sweep.json"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        _sweep(Config(), tmp_path)
    message = str(err.value)
    assert str(path) in message and problem in message, message
    if "JSON result file" not in message:
        assert "delete it" in message
