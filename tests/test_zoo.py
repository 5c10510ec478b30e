"""The conditioning zoo: counts against closed forms, batched forwards against a loop,
ensembles, hyperfan init, parameter budgets."""

import math

import pytest
import torch

from hypermod.data import load_dataset
from hypermod.models import (
    METHODS,
    Ensemble,
    HyperNetwork,
    Sizes,
    build_model,
    configure,
    count_trainable,
    counts,
)
from hypermod.models.budget import match_budget
from hypermod.models.primary import num_generated, split_params
from hypermod.tasks import RotationTask
from hypermod.training import TrainConfig, fit, train

D_I, D_X, OUT = 20, 9, 5
SIZES = Sizes(D_I, D_X, OUT)
ZOO = tuple(METHODS)


def measured_primary(model) -> int:
    """The primary network's size read off the module: g's weights per instance, q's
    trainable ones, or the whole plain MLP's."""
    if isinstance(model, HyperNetwork):
        return num_generated(model.g.param_shapes)
    return count_trainable(model.q) if hasattr(model, "q") else count_trainable(model)
CONFIGS = [dict(primary_hidden=(7,), encoder_hidden=11, encoder_depth=0),
           dict(primary_hidden=(6, 4), encoder_hidden=13, encoder_depth=2, rank=3,
                chunk_size=17, generated_layers=2, primary_bias=False, embedding_dim=5)]


def _model(method, dtype=torch.float64, seed=0, **settings):
    torch.manual_seed(seed)
    return build_model(configure(method, **settings), SIZES).to(dtype)


@pytest.mark.parametrize("settings", CONFIGS)
@pytest.mark.parametrize("method", ZOO)
def test_counts_by_role_equal_the_closed_form(method, settings):
    model = _model(method, **settings)
    want = counts(configure(method, **settings), SIZES)
    assert model.param_counts() == {k: v for k, v in want.items() if k != "primary"}
    assert measured_primary(model) == want["primary"]
    assert count_trainable(model) == want["trainable"]


@pytest.mark.parametrize("settings", CONFIGS)
@pytest.mark.parametrize("method", ZOO)
def test_batched_forward_equals_a_loop_over_instances(method, settings):
    model = _model(method, **settings)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, D_X, generator=gen, dtype=torch.float64)
    points = torch.randn(6, 4, D_X, generator=gen, dtype=torch.float64)
    instance = torch.randn(6, D_I, generator=gen, dtype=torch.float64)
    batched, batched_points = model(x, instance), model(points, instance)
    assert batched.shape == (6, OUT) and batched_points.shape == (6, 4, OUT)
    for b in range(6):
        one = model(x[b : b + 1], instance[b : b + 1])[0]
        torch.testing.assert_close(batched[b], one, rtol=0, atol=1e-10)
        for n in range(4):  # each query point alone, as a (1, d) input
            alone = model(points[b : b + 1, n], instance[b : b + 1])[0]
            torch.testing.assert_close(batched_points[b, n], alone, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ZOO)
def test_an_ensemble_runs_each_member_on_its_slice(method):
    members = [_model(method, seed=s, **CONFIGS[1]) for s in (1, 2)]
    ensemble = Ensemble(members)
    x = torch.randn(2, 3, 4, D_X, dtype=torch.float64)
    instance = torch.randn(2, 3, D_I, dtype=torch.float64)
    out = ensemble(x, instance)
    for k, member in enumerate(members):
        torch.testing.assert_close(out[k], member(x[k], instance[k]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ZOO)
def test_every_method_trains_alone_and_in_a_seed_ensemble(method):
    task = RotationTask(load_dataset("digits"), limit_train=96, limit_test=48)
    config = configure(method, encoder_hidden=16, encoder_depth=1)

    def member(seed):
        torch.manual_seed(seed)
        return build_model(config, Sizes(64, 64, 12))

    history = fit(member(1), task, TrainConfig(epochs=2, lr=0.05), progress=False)
    assert len(history) == 2 and not history[-1].get("diverged")
    histories = train(Ensemble([member(1), member(2)]), task, TrainConfig(epochs=2, lr=0.05),
                      seeds=[1, 2], progress=False)
    assert histories[0][-1]["test_error"] == pytest.approx(history[-1]["test_error"], abs=0.03)


@pytest.mark.parametrize("method", ["hyper", "chunked-hyper", "lowrank-hyper", "partial-hyper"])
def test_hyperfan_gives_generated_layers_kaiming_variance(method):
    torch.manual_seed(0)
    config = configure(method, primary_hidden=(32,), encoder_hidden=64, init="hyperfan",
                       chunk_size=50, rank=4, generated_layers=2)
    model = build_model(config, Sizes(40, 30, 10), instances=torch.randn(512, 40))
    fresh = torch.randn(512, 40)  # other instances than the init saw
    with torch.no_grad():
        params = split_params(model.f(fresh), model.g.param_shapes)
    for name, value in params.items():
        if value.dim() == 3:  # weights (B, out, in): Kaiming's 2 / in
            assert value.var().item() == pytest.approx(2 / value.shape[2], rel=0.2), name
        elif method != "lowrank-hyper":  # generated biases start at zero
            assert value.abs().max().item() == 0, name
    # the default init is far from it: the point of hyperfan
    default = build_model(configure("hyper", primary_hidden=(32,)), Sizes(40, 30, 10))
    with torch.no_grad():
        weights = split_params(default.f(fresh), default.g.param_shapes)["layers.0.weight"]
    assert not 0.8 < weights.var().item() / (2 / 30) < 1.2


def test_film_starts_as_its_plain_network():
    model = _model("film", **CONFIGS[1])
    x, instance = torch.randn(4, D_X, dtype=torch.float64), torch.randn(4, D_I,
                                                                        dtype=torch.float64)
    h = x
    for i, layer in enumerate(model.q):
        h = layer(h)
        h = torch.relu(h) if i < len(model.q) - 1 else h
    torch.testing.assert_close(model(x, instance), h, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ZOO)
def test_budgets_are_matched_within_one_percent_or_explained(method):
    for target in (20_000, 100_000, 400_000):
        match = match_budget(configure(method), target, Sizes(64, 64, 12))
        assert match.ok, match.note
        assert abs(match.count - target) <= 0.01 * target
        model = build_model(match.config, Sizes(64, 64, 12))
        assert count_trainable(model) == match.count  # the closed form holds on the module
    for target in (2_000, 10_000, 40_000):
        match = match_budget(configure(method), target, Sizes(64, 64, 12), count="primary")
        if match.ok:
            model = build_model(match.config, Sizes(64, 64, 12))
            assert measured_primary(model) == match.count
        else:
            assert "cannot reach" in match.note and str(match.count) in match.note


def test_an_unreachable_budget_says_why():
    match = match_budget(configure("hyper"), 100, Sizes(784, 784, 12))
    assert not match.ok
    assert "cannot reach 100 within 1% (the fewest parameters it reaches is" in match.note
    with pytest.raises(ValueError, match="count must be one of"):
        match_budget(configure("hyper"), 1000, Sizes(4, 4, 2), count="all")


def _record(method, seed, error, budget=1000, task="rotation"):
    row = {"dataset": "digits", "task": task, "method": method, "budget": budget,
           "seed": seed, "epoch": 1, "test_error": error, "trainable": budget,
           "primary": 10, "budget_ok": True}
    if task == "inr":
        row.update(test_psnr=10 * math.log10(1 / error), heldout_psnr=12.5)
    return {"unit": {"seed": seed}, "rows": [row]}


def test_zoo_summary_ranks_methods_and_marks_significant_gaps():
    from hypermod.experiments.conditioning_zoo import summarize

    records = ([_record("hyper", s, e) for s, e in zip((1, 2, 3), (0.10, 0.11, 0.12))]
               + [_record("film", s, e) for s, e in zip((1, 2, 3), (0.30, 0.32, 0.31))]
               + [_record("mlp", s, e) for s, e in zip((1, 2, 3), (0.12, 0.10, 0.13))])
    summary = summarize(records)
    assert summary["select"] == "test_error"  # no validation part in these records
    (task,) = summary["tasks"]
    (ranking,) = task["rankings"]
    assert ranking["best"] == "hyper"
    places = {r["method"]: r for r in ranking["ranked"]}
    assert [r["method"] for r in ranking["ranked"]] == ["hyper", "mlp", "film"]
    film, mlp = places["film"]["pair"], places["mlp"]["pair"]
    assert film.outcome == "first" and film.test.test == "paired"  # a large, steady gap
    assert film.p_adjusted == pytest.approx(2 * film.test.p)  # Holm: the smaller of 2, x2
    assert mlp.outcome == "noise" and mlp.p_adjusted > 0.05  # within the noise
    assert places["hyper"]["pair"] is None
    assert places["hyper"]["side"].stats()["mean"] == pytest.approx(0.11)


def test_zoo_ranks_on_validation_when_the_runs_have_it():
    from hypermod.experiments.conditioning_zoo import summarize

    records = ([_record("hyper", s, e) for s, e in zip((1, 2), (0.10, 0.11))]
               + [_record("film", s, e) for s, e in zip((1, 2), (0.12, 0.13))])
    for r in records:  # film is better on validation
        row = r["rows"][0]
        row["val_error"] = 0.5 if row["method"] == "hyper" else 0.2
    summary = summarize(records)
    (ranking,) = summary["tasks"][0]["rankings"]
    assert summary["select"] == "val_error" and ranking["best"] == "film"


def test_zoo_summary_gives_psnr_for_inr_and_no_test_with_one_seed():
    from hypermod.experiments.conditioning_zoo import summarize

    records = [_record("hyper", 1, 0.01, task="inr"), _record("film", 1, 0.02, task="inr")]
    (ranking,) = summarize(records)["tasks"][0]["rankings"]
    assert ranking["ranked"][0]["psnr"] == pytest.approx(20.0)
    assert ranking["ranked"][0]["heldout_psnr"] == pytest.approx(12.5)
    assert ranking["ranked"][1]["pair"].outcome == "too few"


def test_mip_starts_as_its_plain_network_on_a_constant_norm_input():
    """mip-hyper: theta_I = theta_0 + f(phi(I)) with f's output layer at zero, so every
    instance starts with theta_0; phi(I) has norm sqrt(d_I) whatever I is."""
    from hypermod.models.generators import magnitude_invariant

    model = _model("mip-hyper", **CONFIGS[0])
    instance = torch.randn(5, D_I, dtype=torch.float64) * torch.tensor([[0.1], [1], [10],
                                                                        [100], [1e4]])
    norms = magnitude_invariant(instance).norm(dim=1)
    torch.testing.assert_close(norms, torch.full((5,), math.sqrt(D_I), dtype=torch.float64))
    with torch.no_grad():
        theta = model.f(instance)
    torch.testing.assert_close(theta, model.f.base.expand(5, -1))
    weights = split_params(theta[:1], model.g.param_shapes)
    first = weights["layers.0.weight"][0]
    assert first.var().item() == pytest.approx(2 / D_X, rel=0.5)  # Kaiming, as a plain g
    assert weights["layers.0.bias"].abs().max().item() == 0
    # after one step f no longer outputs zero: the instance now moves the weights
    x = torch.randn(5, D_X, dtype=torch.float64)
    model(x, instance).pow(2).sum().backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    with torch.no_grad():
        moved = model.f(instance) - model.f.base
    assert moved.abs().max() > 0 and not torch.allclose(moved[0], moved[1])
