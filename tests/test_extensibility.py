"""A conditioning method defined here, outside the package, trains alone, in a seed
ensemble (through the vmap fallback) and in a sweep, with no edit to hypermod."""

from dataclasses import dataclass

import torch
from torch import nn

from hypermod.data import load_dataset
from hypermod.experiments.report import load_results
from hypermod.models import Ensemble, count_trainable, mlp_encoder
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
