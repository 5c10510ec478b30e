"""Seed ensembles: members equal separate runs; accelerations change only rounding."""

import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from hypermod.data import load_dataset
from hypermod.models import (
    Ensemble,
    HyperNetwork,
    ModulePrimary,
    Sizes,
    build_model,
    mlp_encoder,
    paper,
)
from hypermod.sweep import SweepContext, SweepSettings, groups, run_sweep, unit
from hypermod.tasks import RotationTask
from hypermod.training import Accel, TrainConfig, fit, train
from hypermod.training.run import RotationRun, run_rotation, train_rotation

SEEDS = [1, 2, 3]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def task(digits):
    return RotationTask(digits, limit_train=200, limit_test=100)


def members(method, seeds=SEEDS, depth=1, d=64, dtype=torch.float32):
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(build_model(paper(method, depth), Sizes(d, d, 12)).to(dtype))
    return out


@pytest.mark.parametrize("mode", ["bmm", "vmap"])
@pytest.mark.parametrize("method", ["hyper", "embedding"])
def test_forward_equals_each_member(method, mode):
    models = members(method, dtype=torch.float64)
    ensemble = Ensemble(models, mode=mode)
    x, instance = torch.randn(3, 5, 64, dtype=torch.float64), torch.randn(3, 5, 1, 8, 8,
                                                                          dtype=torch.float64)
    out = ensemble(x, instance)
    assert out.shape == (3, 5, 12)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(x[k], instance[k]), rtol=0, atol=1e-12)


def test_unknown_submodule_falls_back_to_vmap():
    """A conv primary network and a LayerNorm in the encoder are not in the bmm table."""
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        g = ModulePrimary(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(0), nn.Linear(72, 4)))
        f = nn.Sequential(mlp_encoder(64, 32, hidden=16, depth=1), nn.LayerNorm(32),
                          nn.Linear(32, g.num_params))
        models.append(HyperNetwork(f, g).double())
    ensemble = Ensemble(models)
    x, instance = torch.randn(2, 3, 1, 8, 8).double(), torch.randn(2, 3, 64).double()
    out = ensemble(x, instance)
    for k in range(2):
        torch.testing.assert_close(out[k], models[k](x[k], instance[k]))


def test_bad_ensembles_are_refused():
    with pytest.raises(ValueError, match="mode"):
        Ensemble(members("hyper"), mode="loop")
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    mixed = members("hyper", [1]) + members("hyper", [2], depth=2)
    with pytest.raises(ValueError, match="member 1 differs"):
        Ensemble(mixed)
    with pytest.raises(ValueError, match="member 0 has buffers"):
        Ensemble([nn.BatchNorm1d(3)])
    ensemble = Ensemble(members("hyper"))
    with pytest.raises(ValueError, match="leading dimension must be 3"):
        ensemble(torch.randn(2, 4, 64), torch.randn(2, 4, 64))
    with pytest.raises(ValueError, match="3 seeds"):
        train(Ensemble(members("hyper", [1, 2])), None, TrainConfig(), SEEDS)


@pytest.mark.parametrize("optimizer", ["sgd", "adadelta"])
@pytest.mark.parametrize("method", ["hyper", "embedding"])
def test_members_train_like_separate_runs(task, method, optimizer):
    config = TrainConfig(epochs=2, lr=0.05 if optimizer == "sgd" else 1.0, batch_size=32,
                         test_batch_size=64, optimizer=optimizer)
    ensemble = Ensemble(members(method))
    histories = train(ensemble, task, config, SEEDS, progress=False)
    for k, (seed, model) in enumerate(zip(SEEDS, members(method))):
        alone = fit(model, task, replace(config, seed=seed), progress=False)
        assert [r["test_error"] for r in histories[k]] == [r["test_error"] for r in alone]
        for ours, theirs in zip(histories[k], alone):
            assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-5)
            assert ours["test_loss"] == pytest.approx(theirs["test_loss"], rel=1e-5)
        state = ensemble.member_state(k)
        for name, p in model.named_parameters():
            torch.testing.assert_close(state[name], p.detach(), rtol=1e-4, atol=1e-5)
    # the members really differ: different seeds, different results
    assert histories[0][-1]["train_loss"] != histories[1][-1]["train_loss"]


def test_a_diverging_member_is_recorded_and_the_others_go_on(task):
    config = TrainConfig(epochs=2, lr=0.05, batch_size=32, test_batch_size=64)
    models = members("hyper")
    with torch.no_grad():
        for p in models[1].parameters():
            p.fill_(float("inf"))
    histories = train(Ensemble(models), task, config, SEEDS, progress=False)
    assert len(histories[1]) == 1
    assert histories[1][0]["diverged"] is True and histories[1][0]["epoch"] == 1
    assert histories[1][0]["last_finite_loss"] is None and histories[1][0]["test_error"] is None
    alone = fit(members("hyper", [3])[0], task, replace(config, seed=3), progress=False)
    assert [r["test_error"] for r in histories[2]] == [r["test_error"] for r in alone]


def test_divergence_is_recorded_as_fit_records_it(digits):
    """A learning rate that blows up some members: each member's history, diverged or not,
    is what `fit` records for its seed."""
    task = RotationTask(digits, limit_train=200, limit_test=100)
    config = TrainConfig(epochs=4, lr=0.7, batch_size=32, test_batch_size=64)
    histories = train(Ensemble(members("hyper")), task, config, SEEDS, progress=False)
    # lr 0.7 gives all three cases: diverged in epoch 2, trained through, and broken by
    # the last steps of epoch 1 (finite train loss, infinite test loss)
    assert [h[-1].get("diverged", False) for h in histories] == [True, False, True]
    for seed, model, history in zip(SEEDS, members("hyper"), histories):
        alone = fit(model, task, replace(config, seed=seed), progress=False)
        assert [r.get("diverged", False) for r in history] == \
            [r.get("diverged", False) for r in alone]
        for ours, theirs in zip(history, alone):
            assert ours["epoch"] == theirs["epoch"]
            for key in ("train_loss", "last_finite_loss", "test_error"):
                if theirs.get(key) is None:
                    assert ours.get(key) is None
                else:
                    assert ours[key] == pytest.approx(theirs[key], rel=1e-4)


def test_bf16_autocast_changes_results_only_slightly(task):
    config = TrainConfig(epochs=2, lr=0.05, batch_size=32, test_batch_size=64)
    exact = train(Ensemble(members("hyper")), task, config, SEEDS, progress=False)
    bf16 = train(Ensemble(members("hyper")), task, config, SEEDS, Accel(autocast="bf16"),
                        progress=False)
    for a, b in zip(exact, bf16):
        assert b[-1]["train_loss"] == pytest.approx(a[-1]["train_loss"], rel=0.03)
        assert abs(b[-1]["test_error"] - a[-1]["test_error"]) <= 0.08
        assert b[-1]["train_loss"] != a[-1]["train_loss"]  # bf16 did run


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compile_changes_results_only_by_rounding(task):
    config = TrainConfig(epochs=1, lr=0.05, batch_size=32, test_batch_size=64)
    exact = train(Ensemble(members("hyper", [1, 2])), task, config, [1, 2],
                         progress=False)
    compiled = train(Ensemble(members("hyper", [1, 2])), task, config, [1, 2],
                            Accel(compile=True), progress=False)
    for a, b in zip(exact, compiled):
        assert b[-1]["train_loss"] == pytest.approx(a[-1]["train_loss"], rel=1e-4)
        assert b[-1]["test_error"] == a[-1]["test_error"]


def test_accel_settings_are_checked(task):
    with pytest.raises(ValueError, match="autocast"):
        Accel(autocast="fp8")
    with pytest.raises(ValueError, match="compile or cuda_graphs"):
        Accel(compile=True, cuda_graphs=True)
    with pytest.raises(ValueError, match="cuda_graphs needs a CUDA device"):
        train(Ensemble(members("hyper")), task, TrainConfig(), SEEDS,
                     Accel(cuda_graphs=True), progress=False)


def test_rotation_ensemble_matches_separate_runs(digits):
    run = RotationRun(dataset="digits", model=paper("embedding", 1),
                      train=TrainConfig(epochs=2, lr=0.05), limit_train=150, limit_test=90,
                      device="cpu")
    together = train_rotation(run, [4, 5], data=digits, progress=False)
    for seed, history in zip([4, 5], together.histories):
        alone = run_rotation(replace(run, train=replace(run.train, seed=seed)), data=digits,
                             progress=False)
        assert together.param_counts == alone["param_counts"]
        assert [r["test_error"] for r in history] == [r["test_error"] for r in alone["epochs"]]
        assert history[-1]["ensemble_size"] == 2
    with pytest.raises(ValueError, match="no member twice"):
        train_rotation(run, [1, 1], data=digits, progress=False)


def test_groups_gather_seeds_of_a_point():
    class Exp:
        run_ensemble = object()

    pending = [unit(s, depth=d) for s in (1, 2, 3) for d in (2, 5)]
    grouped = groups(pending, Exp, SweepSettings("cpu", progress=False))
    assert [[u.seed for u in g] for g in grouped] == [[1, 2, 3], [1, 2, 3]]
    assert [g[0].point for g in grouped] == [(("depth", 2),), (("depth", 5),)]
    capped = groups(pending, Exp, SweepSettings("cpu", progress=False, max_ensemble=2))
    assert [[u.seed for u in g] for g in capped] == [[1, 2], [3], [1, 2], [3]]
    off = groups(pending, Exp, SweepSettings("cpu", progress=False, ensemble=False))
    assert off == [[u] for u in pending]


def test_sweep_with_ensembles_equals_sweep_without(tmp_path):
    from hypermod.experiments.rotation_depth import EXPERIMENT, QUICK

    config = replace(QUICK, depths=(1,), seeds=3, train=replace(QUICK.train, epochs=1),
                     limit_train=128, limit_test=64)
    ctx = SweepContext("cpu", progress=False)
    run_sweep(EXPERIMENT, config, tmp_path / "ens", ctx, log=lambda _: None)
    # a resumed sweep with one seed missing trains only that seed
    victim = next((tmp_path / "ens" / EXPERIMENT.name / "runs").glob("*method-hyper*seed-2.json"))
    victim.unlink()
    counts = run_sweep(EXPERIMENT, config, tmp_path / "ens", ctx, log=lambda _: None)
    assert counts == {"total": 6, "skipped": 5, "ran": 1}
    run_sweep(EXPERIMENT, config, tmp_path / "one", SweepContext("cpu", progress=False,
                                                                 ensemble=False),
              log=lambda _: None)
    for path in sorted((tmp_path / "one" / EXPERIMENT.name / "runs").glob("*.json")):
        alone = json.loads(path.read_text())
        ours = json.loads((tmp_path / "ens" / EXPERIMENT.name / "runs" / path.name).read_text())
        assert [r["test_error"] for r in ours["rows"]] == [r["test_error"] for r in alone["rows"]]
        assert ours["rows"][-1]["train_loss"] == pytest.approx(alone["rows"][-1]["train_loss"],
                                                               rel=1e-5)
        assert "ensemble" not in alone
    ensembled = [json.loads(p.read_text()) for p in
                 (tmp_path / "ens" / EXPERIMENT.name / "runs").glob("*.json")]
    assert sorted(r["ensemble"]["size"] for r in ensembled if "ensemble" in r) == [3] * 5
