"""Scaling fits recover known exponents; the grouped forward equals the per-pair call; the
one loop keeps a regression's best state; the modularity-scaling grid and checks."""

import json

import numpy as np
import pytest
import torch

from hypermod import theory
from hypermod.config import override
from hypermod.experiments import get_experiment, settings_for
from hypermod.experiments.modularity_scaling.experiment import ScalingConfig, units
from hypermod.experiments.modularity_scaling.fits import (
    eps_levels,
    exponent_with_ci,
    fit_power_law,
    smallest_size,
    smallest_total,
)
from hypermod.experiments.modularity_scaling.regression import mse, predict, scaling_config
from hypermod.models import Sizes, build_model, primary_size
from hypermod.tasks import RegressionTask
from hypermod.tasks.synthetic import StructuredTarget, splits
from hypermod.training import TrainConfig, fit, selected_row


def scaling_model(method, m1, m2, width, **options):
    return build_model(scaling_config(method, width, **options), Sizes(m2, m1, 1))


@pytest.mark.parametrize("exponent", [0.5, 2.0, 4.5])
def test_slope_fit_recovers_a_known_exponent_from_noisy_data(exponent):
    rng = np.random.default_rng(int(exponent * 10))
    eps = np.geomspace(0.5, 0.01, 12)
    n = 3.0 * eps ** -exponent * np.exp(rng.normal(0, 0.1, eps.size))
    fit = fit_power_law(1 / eps, n)
    assert fit.slope == pytest.approx(exponent, abs=0.1)
    assert fit.t_low < exponent < fit.t_high
    assert fit.intercept == pytest.approx(np.log(3.0), abs=0.3)


def test_t_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    eps = np.geomspace(0.5, 0.05, 6)
    hits = sum(fit.t_low < 2.0 < fit.t_high for fit in (
        fit_power_law(1 / eps, eps ** -2.0 * np.exp(rng.normal(0, 0.2, eps.size)))
        for _ in range(400)))
    assert 0.90 < hits / 400 < 0.99


def test_smallest_size_interpolates_log_log_and_censors_the_ends():
    sizes, errors = [1, 10, 100], [1.0, 0.1, 0.01]
    assert smallest_size(sizes, errors, 0.1) == pytest.approx(10)
    assert smallest_size(sizes, errors, 10 ** -1.5) == pytest.approx(10 ** 1.5)
    assert smallest_size(sizes, errors, 0.5) == pytest.approx(10 ** (np.log10(2)))
    assert smallest_size(sizes, errors, 2.0) is None     # the smallest already reaches it
    assert smallest_size(sizes, errors, 0.001) is None   # nothing reaches it
    # a bigger network that trained worse does not count: the running minimum is used
    assert smallest_size([1, 2, 4, 8], [1.0, 0.5, 0.9, 0.25], 0.5) == pytest.approx(2)
    with pytest.raises(ValueError, match="increase"):
        smallest_size([2, 1], [1.0, 0.5], 0.7)


def test_eps_levels_lie_strictly_inside_the_curve():
    levels = eps_levels([0.8, 0.4, 0.5, 0.1], k=4)
    assert len(levels) == 4 and all(0.1 < e < 0.8 for e in levels)
    assert levels == sorted(levels, reverse=True)
    ratios = np.diff(np.log(levels))
    np.testing.assert_allclose(ratios, ratios[0])
    assert eps_levels([0.5, 0.5, 0.6]) == []


def _seed_curves(rng, exponent, seeds=3, noise=0.03):
    """Errors eps(N) = (N / 5)^(-1/a) times per-run noise, so that N(eps) ~ eps^-a."""
    sizes = np.array([5, 9, 17, 33, 65, 129, 257], float)
    return sizes, (sizes / 5) ** (-1 / exponent) * np.exp(rng.normal(0, noise,
                                                                     (seeds, sizes.size)))


@pytest.mark.parametrize("exponent", [1.0, 3.0])
def test_exponent_from_noisy_seed_curves(exponent):
    sizes, runs = _seed_curves(np.random.default_rng(7), exponent)
    est = exponent_with_ci(sizes, runs, k=6, draws=400)
    assert est.slope == pytest.approx(exponent, rel=0.1)
    assert est.fit.slope == pytest.approx(exponent, rel=0.1)
    assert est.low <= exponent <= est.high
    assert len(est.seed_slopes) == 3 and est.replicates > 300 and len(est.levels) >= 5
    # one seed: the fit, but no interval of either kind
    single = exponent_with_ci(sizes, runs[:1], draws=50)
    assert single.replicates == 0 and np.isnan(single.low) and np.isnan(single.boot_low)
    assert single.slope == single.fit.slope


def test_t_interval_over_seeds_covers_and_the_bootstrap_is_too_narrow():
    # Why the report's interval is the t-interval over seeds: with three seeds a
    # percentile bootstrap misses the true exponent far more often than 5% of the time.
    rng = np.random.default_rng(11)
    t_hits = boot_hits = 0
    trials = 60
    for _ in range(trials):
        sizes, runs = _seed_curves(rng, 2.0)
        est = exponent_with_ci(sizes, runs, k=6, draws=100, seed=int(rng.integers(1000)))
        t_hits += est.low <= 2.0 <= est.high
        boot_hits += est.boot_low <= 2.0 <= est.boot_high
    assert t_hits / trials >= 0.85
    assert boot_hits < t_hits


def test_smallest_total_takes_the_cheapest_configuration_that_reaches_eps():
    totals, errors = [500, 100, 2000, 300], [0.1, 0.4, 0.05, 0.2]
    assert smallest_total(totals, errors, 0.2) == 300
    assert smallest_total(totals, errors, 0.06) == 2000
    assert smallest_total(totals, errors, 0.01) is None


@pytest.mark.parametrize("method", ["hyper", "embedding", "mlp"])
def test_grouped_forward_equals_the_per_pair_call(method):
    torch.manual_seed(0)
    model = scaling_model(method, 2, 3, width=5, encoder_width=16, embedding_dim=4)
    x, instances = torch.rand(4, 7, 2) * 2 - 1, torch.rand(4, 3) * 2 - 1
    grouped = predict(model, x, instances)
    pairs = model(x.reshape(28, 2), instances.repeat_interleave(7, dim=0)).view(4, 7)
    torch.testing.assert_close(grouped, pairs)


def test_primary_sizes_match_the_closed_form():
    m1, m2, w, enc, e_dim = 2, 4, 6, 16, 8
    sizes = Sizes(m2, m1, 1)
    config = scaling_config("hyper", w, encoder_width=enc, embedding_dim=e_dim)
    generated = theory.mlp_params((m1, w, 1))
    assert primary_size(config, sizes) == generated
    hyper = build_model(config, sizes)
    assert hyper.param_counts()["f"] == theory.mlp_params((m2, enc, enc, generated))
    config = scaling_config("embedding", w, encoder_width=enc, embedding_dim=e_dim)
    assert primary_size(config, sizes) == theory.mlp_params((e_dim + m1, w, 1))
    assert build_model(config, sizes).param_counts()["e"] == theory.mlp_params(
        (m2, enc, enc, e_dim))
    assert primary_size(scaling_config("mlp", w), sizes) == theory.mlp_params(
        (m1 + m2, w, w, 1))


def test_the_one_loop_trains_a_regression_to_its_best_validation_state():
    """What the scaling experiment asks of the loop: early stopping on the validation set
    with cuts, the best state kept and reported, bit for bit again with the same seed."""
    target = StructuredTarget(1, 1, seed=0)
    train, val, test = splits(target, 0, ((64, 8), (32, 8), (32, 8)))
    task = RegressionTask(train, test, val)
    config = TrainConfig(epochs=60, lr=1e-2, batch_size=32, optimizer="adam", patience=3,
                         cuts=1)

    def trained():
        torch.manual_seed(0)
        model = scaling_model("hyper", 1, 1, width=4, encoder_width=16)
        before = mse(model, test)
        return model, before, fit(model, task, config, progress=False)

    model, before, history = trained()
    best = selected_row(history)
    assert best["val_loss"] == min(r["val_loss"] for r in history)
    assert best["val_loss"] == pytest.approx(mse(model, val), rel=1e-5)  # the kept state
    assert best["test_loss"] == pytest.approx(mse(model, test), rel=1e-5)
    assert mse(model, test) < 0.5 * before
    assert history[-1]["stop"] in ("rule", "cap") and history[-1]["best_epoch"] == best["epoch"]
    lrs = [r["current_lr"] for r in history]
    assert lrs[0] == 1e-2 and all(b <= a for a, b in zip(lrs, lrs[1:]))
    _, _, again = trained()
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in history]  # bit for bit


def test_units_cover_both_targets_and_the_plain_mlp():
    config = ScalingConfig(m1s=(1, 2), m2s=(1, 4), structured_m2s=(3,), widths=(1, 2, 4),
                           encoder_widths=(16, 64), totals_encoders=(8,), mlp_widths=(4, 16),
                           seeds=2)
    todo = units(config)
    smooth = [u for u in todo if dict(u.point)["target"] == "smooth"]
    structured = [u for u in todo if dict(u.point)["target"] == "structured"]
    assert len(smooth) == 2 * 2 * 2 * 2 * 3        # seeds x m1 x m2 x methods x widths
    assert len(structured) == 2 * 2 * (2 * 3 + 2)  # seeds x m1 x (methods x widths + mlp)
    assert config.encoders("smooth") == (16, 64)
    assert config.encoders("structured") == (8, 16, 64)  # small encoders for the totals
    assert len({u.key for u in todo}) == len(todo)
    assert {dict(u.point)["m2"] for u in structured} == {3}


@pytest.mark.parametrize("change,message", [
    (["datasets=rough"], "unknown targets"), (["widths=0,2"], "positive"),
    (["activation=swish"], "unknown activation"), (["r=0"], "positive"),
])
def test_bad_settings_are_refused(change, message):
    experiment = get_experiment("modularity-scaling")
    with pytest.raises(ValueError, match=message):
        override(settings_for(experiment), change)


def test_report_names_and_skips_a_unit_file_without_a_row_field(tmp_path):
    """It used to end in a KeyError; now it is skipped like the other experiments' files."""
    from hypermod.experiments.report import build_report, load_results
    from hypermod.sweep import SweepContext, run_sweep

    experiment = get_experiment("modularity-scaling")
    config = override(settings_for(experiment, seeds=1),
                      ["widths=1,2", "mlp_widths=4", "encoder_widths=8", "max_steps=10",
                       "train_instances=32", "val_instances=16", "test_instances=16"])
    run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False),
              log=lambda _: None)
    victim = sorted((tmp_path / experiment.name / "runs").glob("*.json"))[0]
    record = json.loads(victim.read_text())
    del record["rows"][0]["test_rmse"]
    victim.write_text(json.dumps(record))
    grouped, skipped = load_results(tmp_path)
    assert skipped == [f"{victim}: not a valid unit record (row 0 has no 'test_rmse')"]
    assert str(victim) not in [r["path"] for r in grouped[experiment.name]]
    messages = []
    build_report(tmp_path, log=messages.append)
    assert messages == [f"skipped {skipped[0]}"]
