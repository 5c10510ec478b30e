"""A conditioning method defined here, outside the package, trains alone, in a seed
ensemble (through the vmap fallback) and in a sweep, with no edit to hypermod; registered
with `hypermod.models.register`, it also runs in `hypermod run`, `compare` and the
conditioning zoo, at matched budgets."""

import json
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

import hypermod.theory as theory
from hypermod.cli import main
from hypermod.data import load_dataset
from hypermod.experiments.report import load_results
from hypermod.models import (
    METHODS,
    Ensemble,
    Method,
    MethodConfig,
    Sizes,
    build_model,
    count_trainable,
    counts,
    mlp_encoder,
    register,
)
from hypermod.sweep import Experiment, SweepContext, run_sweep, unit
from hypermod.tasks import RotationTask
from hypermod.training import TrainConfig, fit, train


class GatedNetwork(nn.Module):
    """h_I(x) = q(x * sigmoid(e(I))): the instance gates the input features."""

    method = "gated"

    def __init__(self, d: int, hidden: int = 16, outputs: int = 12):
        super().__init__()
        self.e = mlp_encoder(d, d, hidden, depth=0)
        self.q = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, outputs))

    def forward(self, x, instance):
        gate = torch.sigmoid(self.e(instance.flatten(1)))
        return self.q(x.flatten(1) * gate)

    def param_counts(self):
        e, q = count_trainable(self.e), count_trainable(self.q)
        return {"e": e, "q": q, "trainable": e + q}


def _task():
    return RotationTask(load_dataset("digits"), limit_train=128, limit_test=64)


def _members(seeds, d=64):
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(GatedNetwork(d))
    return out


def test_a_new_method_trains_alone_and_in_an_ensemble():
    task, config = _task(), TrainConfig(epochs=2, lr=0.1)
    alone = [fit(m, task, TrainConfig(epochs=2, lr=0.1, seed=s), progress=False)
             for s, m in zip([1, 2], _members([1, 2]))]
    ensemble = Ensemble(_members([1, 2]))  # no forward_stacked: the vmap fallback runs it
    together = train(ensemble, task, config, seeds=[1, 2], progress=False)
    for a, b in zip(alone, together):
        assert [r["test_error"] for r in a] == [r["test_error"] for r in b]
        assert abs(a[-1]["train_loss"] - b[-1]["train_loss"]) <= 1e-5 * a[-1]["train_loss"]
    assert ensemble.param_counts() == _members([1])[0].param_counts()


@dataclass(frozen=True)
class GatedConfig:
    seeds: int = 2
    epochs: int = 1


def _run(config, item, ctx):
    return _run_seeds(config, [item], ctx)[item.seed]


def _run_seeds(config, items, ctx):
    task = RotationTask(ctx.dataset("digits"), limit_train=128, limit_test=64)
    members = _members([u.seed for u in items])
    model = members[0] if len(items) == 1 else Ensemble(members)
    histories = train(model, task, TrainConfig(epochs=config.epochs, lr=0.1),
                      seeds=[u.seed for u in items], progress=False)
    return {u.seed: [{**u.as_dict(), **row} for row in h] for u, h in zip(items, histories)}


def test_a_new_method_runs_in_a_sweep(tmp_path):
    experiment = Experiment(
        name="gated", description="a method from outside the package", full=GatedConfig(),
        quick=GatedConfig(), units=lambda c: [unit(s, method="gated")
                                             for s in range(1, c.seeds + 1)],
        run=_run, run_ensemble=_run_seeds, datasets=("digits",))
    counts = run_sweep(experiment, GatedConfig(), tmp_path, SweepContext("cpu", progress=False),
                       log=lambda _: None)
    assert counts == {"total": 2, "skipped": 0, "ran": 2}
    records = load_results(tmp_path)[0]["gated"]
    assert sorted(r["unit"]["seed"] for r in records) == [1, 2]
    assert all(r["ensemble"]["size"] == 2 for r in records)
    assert all(len(r["rows"]) == 1 and "test_error" in r["rows"][0] for r in records)


# -- a method registered from outside: run, compare, the zoo and its budgets (issue 22)


@dataclass(frozen=True)
class GatedConfig_(MethodConfig):
    """The gated method's settings: e's width and depth, and q's hidden widths."""

    method: str = field(default="gated", init=False)
    primary_hidden: tuple[int, ...] = (16,)


class RegisteredGated(nn.Module):
    """h_I(x) = q(x * sigmoid(e(I))) for x of shape (B, d) or (B, n, d), or images."""

    method = "gated"

    def __init__(self, c: GatedConfig_, s: Sizes):
        super().__init__()
        self.e = mlp_encoder(s.d_instance, s.d_x, c.encoder_hidden, c.encoder_depth)
        widths = (s.d_x, *c.primary_hidden, s.outputs)
        layers = [nn.Linear(widths[0], widths[1])]
        for a, b in zip(widths[1:-1], widths[2:]):
            layers += [nn.ReLU(), nn.Linear(a, b)]
        self.q = nn.Sequential(*layers)

    def forward(self, x, instance):
        gate = torch.sigmoid(self.e(instance.flatten(1)))
        x = x.flatten(1) if x.dim() == 4 else x  # images (B, C, H, W) -> (B, d)
        return self.q(x * (gate if x.dim() == 2 else gate.unsqueeze(1)))

    def param_counts(self):
        e, q = count_trainable(self.e), count_trainable(self.q)
        return {"e": e, "q": q, "trainable": e + q}


def _count_gated(c: GatedConfig_, s: Sizes) -> dict[str, int]:
    e = theory.encoder_params(s.d_instance, s.d_x, c.encoder_hidden, c.encoder_depth)
    q = theory.mlp_params((s.d_x, *c.primary_hidden, s.outputs))
    return {"e": e, "q": q, "trainable": e + q, "primary": q}


@pytest.fixture
def gated():
    method = register(Method("gated", "q(x * sigmoid(e(I)))", GatedConfig_, RegisteredGated,
                             _count_gated, {"trainable": "encoder_hidden",
                                            "primary": "primary_hidden"}))
    yield method
    del METHODS["gated"]


def test_a_registered_method_is_counted_as_built(gated):
    for sizes in (Sizes(64, 64, 12), Sizes(4, 2, 1)):
        config = GatedConfig_(encoder_hidden=7, encoder_depth=2, primary_hidden=(5, 3))
        model = build_model(config, sizes)
        assert {k: v for k, v in counts(config, sizes).items() if k != "primary"} == \
            model.param_counts()


def test_a_registered_method_runs_in_run_and_compare(gated, tmp_path, capsys):
    tiny = ["--dataset", "digits", "--depth", "1", "--epochs", "1", "--limit-train", "64",
            "--no-progress"]
    assert main(["--threads", "1", "run", "rotation", "--model", "gated", *tiny,
                 "--out", str(tmp_path / "r")]) == 0
    record = json.loads((tmp_path / "r" / "result.json").read_text())
    assert record["config"]["model"]["method"] == "gated"
    assert record["param_counts"]["trainable"] == counts(
        GatedConfig_(encoder_hidden=100, encoder_depth=1, primary_hidden=(10,)),
        Sizes(64, 64, 12))["trainable"]
    assert main(["--threads", "1", "compare", "rotation", "--methods", "gated,hyper",
                 "--budget", "6000", *tiny, "--out", str(tmp_path / "c")]) == 0
    table = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()
             if line.startswith(("gated ", "hyper "))}
    assert sorted(table) == ["gated", "hyper"]
    for row in table.values():
        assert abs(int(row[4].replace(",", "")) - 6000) <= 60  # within 1%
    assert (tmp_path / "c" / "gated" / "result.json").exists()


def test_a_registered_method_joins_the_zoo_at_its_budgets(gated, tmp_path):
    assert main(["--threads", "1", "sweep", "conditioning-zoo", "--quick", "--seeds", "1",
                 "--no-progress", "--out", str(tmp_path), "--set", "methods=gated,hyper",
                 "--set", "budgets=5000", "--set", "datasets=digits,structured",
                 "--set", "tasks=rotation,inr", "--set", "train.epochs=1",
                 "--set", "limit_train=100", "--set", "limit_test=50",
                 "--set", "designs=trainable"]) == 0
    records = load_results(tmp_path)[0]["conditioning-zoo"]
    gated_rows = [r["rows"][-1] for r in records if r["unit"]["method"] == "gated"]
    assert {(r["task"], r["dataset"]) for r in gated_rows} == {
        ("rotation", "digits"), ("inr", "digits"), ("regression", "structured")}
    assert all(r["budget_ok"] and abs(r["trainable"] - 5000) <= 50 for r in gated_rows)
