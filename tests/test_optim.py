"""Members with their own learning rates and weight decay: each member of an ensemble
trains as the separate run with its settings and seed would (to float rounding), for
every optimizer, across a checkpoint and resume, and with early stopping member by
member."""

from dataclasses import replace

import pytest
import torch

from hypermod.data import load_dataset
from hypermod.models import Ensemble, Sizes, build_model, paper
from hypermod.tasks import RotationConfig, RotationTask
from hypermod.training import TrainConfig, evaluate, fit, selected_row, train
from hypermod.training.optim import MemberOptimizer


@pytest.fixture(scope="module")
def task():
    return RotationTask(load_dataset("digits"), RotationConfig(val_fraction=0.25),
                        limit_train=160, limit_test=64)


def _member(seed, method="hyper"):
    torch.manual_seed(seed)
    return build_model(paper(method, depth=1), Sizes(64, 64, 12))


def _close(ours, theirs, rel):
    assert [r["epoch"] for r in ours] == [r["epoch"] for r in theirs]
    for a, b in zip(ours, theirs):
        for key in ("train_loss", "test_loss", "val_loss"):
            assert a[key] == pytest.approx(b[key], rel=rel), key


SETTINGS = {
    "sgd": dict(optimizer="sgd", lrs=(0.02, 0.05, 0.1), weight_decay=(0.0, 1e-3, 0.0)),
    "sgd-momentum": dict(optimizer="sgd", momentum=0.5, lrs=(0.01, 0.03, 0.05),
                         weight_decay=(0.0, 0.0, 1e-3)),
    "adam": dict(optimizer="adam", lrs=(3e-4, 1e-3, 3e-3), weight_decay=(0.0, 1e-4, 0.0)),
    "adamw": dict(optimizer="adamw", lrs=(3e-4, 1e-3, 3e-3), weight_decay=(0.0, 1e-2, 0.1)),
}


def _configs(name, epochs=3, **extra):
    s = SETTINGS[name]
    base = TrainConfig(epochs=epochs, batch_size=32, test_batch_size=64,
                       optimizer=s["optimizer"], momentum=s.get("momentum", 0.0), **extra)
    return [replace(base, lr=lr, weight_decay=wd, seed=seed)
            for seed, (lr, wd) in enumerate(zip(s["lrs"], s["weight_decay"]), 1)]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_member_trains_as_its_separate_run(task, name):
    configs = _configs(name)
    together = train(Ensemble([_member(c.seed) for c in configs]), task, configs,
                     progress=False)
    for c, history in zip(configs, together):
        alone = fit(_member(c.seed), task, c, progress=False)
        _close(history, alone, rel=2e-4)
    # the learning rates mattered: the members' curves differ
    assert together[0][-1]["train_loss"] != together[2][-1]["train_loss"]


@pytest.mark.parametrize("name", ["sgd-momentum", "adam"])
def test_a_resumed_ensemble_ends_where_an_uninterrupted_one_does(task, name, tmp_path):
    configs = _configs(name, epochs=3)
    straight = train(Ensemble([_member(c.seed) for c in configs]), task, configs,
                     progress=False)
    path = tmp_path / "checkpoint.pt"
    first = [replace(c, epochs=2) for c in configs]
    train(Ensemble([_member(c.seed) for c in configs]), task, first, progress=False,
          checkpoint=path)
    resumed = train(Ensemble([_member(c.seed) for c in configs]), task, configs,
                    progress=False, checkpoint=path, resume=True)
    for a, b in zip(resumed, straight):
        assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]


def test_members_stop_early_one_by_one_as_their_separate_runs(task):
    base = TrainConfig(epochs=15, batch_size=32, test_batch_size=64, optimizer="adam",
                       patience=2, cuts=1)
    configs = [replace(base, lr=lr, seed=s) for s, lr in enumerate((1e-3, 1e-2, 3e-2), 1)]
    model = Ensemble([_member(c.seed) for c in configs])
    together = train(model, task, configs, progress=False)
    for k, (c, history) in enumerate(zip(configs, together)):
        alone = fit(_member(c.seed), task, c, progress=False)
        _close(history, alone, rel=2e-4)
        assert history[-1]["stop"] == alone[-1]["stop"]
        assert history[-1]["best_epoch"] == alone[-1]["best_epoch"]
        # each member ends with the weights of its best epoch: they score what it reports
        # (weight by weight, Adam at lr 3e-2 turns float rounding on a near-zero gradient
        # into a visible difference of a single weight, so the function is compared)
        chosen = selected_row(history)
        assert chosen["epoch"] == history[-1]["best_epoch"]
        member = _member(c.seed)
        member.load_state_dict(model.member_state(k))
        (scored,) = evaluate(member, task, 64, split="val")
        assert scored["val_loss"] == pytest.approx(chosen["val_loss"], rel=1e-4)
    # the members stopped at different epochs, at least one by the rule after a cut
    assert len({len(h) for h in together}) > 1
    assert any(h[-1]["stop"] == "rule" and h[-1]["current_lr"] < h[0]["current_lr"]
               for h in together)


def test_a_stopped_member_no_longer_moves():
    weights = torch.nn.Parameter(torch.ones(3, 4))
    opt = MemberOptimizer([weights], "adamw", lrs=[0.1, 0.1, 0.1], weight_decays=[0.1] * 3)
    opt.freeze(1)
    opt.scale(2, 0.5)
    weights.grad = torch.ones(3, 4)
    opt.step()
    assert torch.equal(weights[1], torch.ones(4))
    assert (weights[0] < 1).all() and (weights[2] > weights[0]).all()


def test_members_may_differ_only_in_lr_weight_decay_and_seed(task):
    configs = [TrainConfig(lr=0.1), TrainConfig(lr=0.1, batch_size=16)]
    with pytest.raises(ValueError, match=r"member 1 differs in \['batch_size'\]"):
        train(Ensemble([_member(1), _member(2)]), task, configs, progress=False)
    with pytest.raises(ValueError, match="early stopping"):
        fit(_member(1), RotationTask(load_dataset("digits"), limit_train=32, limit_test=16),
            TrainConfig(epochs=1, patience=2), progress=False)
