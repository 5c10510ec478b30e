"""Oracle encoders, their task, the polish and certificate, and oracle-scaling's analysis."""

import math

import numpy as np
import pytest
import torch

from hypermod.experiments.oracle_scaling import analysis, rules, structured
from hypermod.experiments.oracle_scaling.experiment import OracleConfig, units
from hypermod.experiments.oracle_scaling.fitting import (
    member_errors,
    polish,
    uniform_knots_rmse,
)
from hypermod.models import Ensemble
from hypermod.models.oracle import OracleEmbedding, OracleHyper
from hypermod.reporting.verdict import HELD, INCONCLUSIVE, NOT_HELD
from hypermod.tasks.oracle import OracleSets, OracleTask, sample_oracle
from hypermod.tasks.synthetic import SmoothTarget, SyntheticSet


def _g(model: OracleHyper, k: int, x: torch.Tensor) -> torch.Tensor:
    """Instance k's copy of g written out: relu(x W1^T + b1) . w2 + b2."""
    hidden = torch.relu(x @ model.w1[k].T + model.b1[k])
    return hidden @ model.w2[k] + model.b2[k]


def test_oracle_hyper_runs_each_instance_through_its_own_copy_of_g():
    torch.manual_seed(0)
    model = OracleHyper(instances=5, d_x=2, width=3)
    x, ids = torch.rand(4, 7, 2) * 2 - 1, torch.tensor([3, 0, 3, 4])
    out = model(x, ids)
    assert out.shape == (4, 7)
    for b, k in enumerate(ids.tolist()):
        torch.testing.assert_close(out[b], _g(model, k, x[b]))
    assert model.param_counts() == {"encoder": 5 * 13, "primary": 13, "trainable": 5 * 13}
    assert sum(p.numel() for p in model.parameters()) == 5 * 13


def test_oracle_embedding_is_one_q_on_codes_and_points():
    torch.manual_seed(0)
    model = OracleEmbedding(instances=6, d_x=1, width=4, code_dim=3)
    x, ids = torch.rand(2, 5, 1) * 2 - 1, torch.tensor([5, 1])
    out = model(x, ids)
    for b, k in enumerate(ids.tolist()):
        z = torch.cat([model.codes[k].expand(5, 3), x[b]], dim=1)  # [c_k, x]
        weight = torch.cat([model.wc, model.wx], dim=1)
        expected = torch.relu(z @ weight.T + model.b1) @ model.w2 + model.b2
        torch.testing.assert_close(out[b], expected)
    counts = model.param_counts()
    assert counts["primary"] == 4 * (3 + 1 + 2) + 1 == 25  # as EmbeddingConfig's q counts
    assert counts["trainable"] == sum(p.numel() for p in model.parameters()) == 25 + 18


@pytest.mark.parametrize("make", [lambda: OracleHyper(4, 1, 3),
                                  lambda: OracleEmbedding(4, 1, 3, code_dim=2)])
def test_stacked_members_match_each_member_alone(make):
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        members.append(make())
    ensemble = Ensemble(members)
    x = torch.rand(3, 4, 6, 1) * 2 - 1
    ids = torch.stack([torch.randperm(4) for _ in range(3)])
    out = ensemble(x, ids)
    for k, member in enumerate(members):
        torch.testing.assert_close(out[k], member(x[k], ids[k]))


def test_knots_init_puts_every_kink_inside_the_domain():
    torch.manual_seed(0)
    model = OracleHyper(instances=50, d_x=1, width=20)
    kinks = -model.b1 / model.w1[..., 0]
    assert kinks.abs().max() <= 1
    default = OracleHyper(instances=50, d_x=1, width=20, init="default")
    outside = (-default.b1 / default.w1[..., 0]).abs() > 1
    assert 0.3 < outside.float().mean() < 0.7  # about half, as the docstring says
    with pytest.raises(ValueError, match="unknown init 'kaiming'"):
        OracleEmbedding(4, 1, 3, 2, init="kaiming")
    with pytest.raises(ValueError, match="width >= 1"):
        OracleHyper(4, 1, 0)


def test_oracle_sets_share_their_instances_and_nest_in_k():
    target = SmoothTarget(1, 2, seed=0)
    big = sample_oracle(target, 8, (16, 4, 8), seed=3)
    small = sample_oracle(target, 4, (16, 4, 8), seed=3)
    assert torch.equal(big.val.instances, big.train.instances)
    torch.testing.assert_close(small.train.instances, big.train.instances[:4])
    torch.testing.assert_close(small.test.x, big.test.x[:4])
    assert not torch.equal(big.train.x[:, :4], big.test.x[:, :4])  # points drawn apart
    torch.testing.assert_close(big.test.y, target(big.test.x, big.test.instances))
    with pytest.raises(ValueError, match="must hold the training instances"):
        OracleSets(big.train, small.val, big.test)


def test_oracle_task_fills_an_epoch_with_whole_passes():
    sets = sample_oracle(SmoothTarget(1, 1, seed=0), 8, (16, 4, 8), seed=1)
    task = OracleTask(sets, batch_size=2, steps_per_epoch=10)
    assert task.num_train == 8 * 3  # 20 instance visits asked for: three whole passes
    (x, ids), y = task.batch_from(torch.tensor([9, 2]))
    assert ids.tolist() == [1, 2] and x.shape == (2, 16, 1) and y.shape == (2, 16)
    (xv, idv), yv = next(task.val_batches(100))
    assert xv.shape == (8, 4, 1) and idv.tolist() == list(range(8))
    output = torch.zeros_like(yv)
    assert torch.isclose(task.errors(output, yv) / 8, (yv ** 2).mean())


def _line_sets(width: int) -> OracleSets:
    """Two instances whose targets are ReLU networks with kinks on the uniform grid."""
    knots = np.linspace(-1, 1, width + 1)[1:-1]
    instances = torch.zeros(2, 1)
    sets = []
    for n, seed in ((64, 0), (8, 1), (32, 2)):
        x = torch.rand(2, n, 1, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        y = torch.stack([0.3 + x[0, :, 0] + sum(torch.relu(x[0, :, 0] - t) for t in knots),
                         -x[1, :, 0] + 2 * torch.relu(x[1, :, 0] - knots[0])])
        sets.append(SyntheticSet(instances, x, y))
    return OracleSets(*sets)


def test_uniform_knot_certificate_is_exact_on_a_network_it_can_represent():
    assert uniform_knots_rmse(_line_sets(4), 4) < 1e-6  # float32 targets
    assert uniform_knots_rmse(_line_sets(4), 2) > 0.01  # too few kinks: an error remains


def test_polish_keeps_a_member_only_when_its_validation_error_falls():
    sets = _line_sets(4)
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        members.append(OracleHyper(2, 1, 8))
    model = Ensemble(members)
    before = [e["val_mse"] for e in member_errors(model, sets)]
    kept = polish(model, sets, steps=50)
    after = [e["val_mse"] for e in member_errors(model, sets)]
    for k in range(3):
        assert after[k] < before[k] if kept[k] else after[k] == pytest.approx(before[k])
    assert any(kept)


def test_units_hold_the_controls():
    config = OracleConfig(datasets=("smooth",), m2s=(1,), hyper_widths=(2,),
                          embedding_widths=(2, 4), instances=16, k_fractions=(4, 2, 1),
                          code_dims=(8, 16), seeds=2)
    made = [u.as_dict() for u in units(config)]
    assert sum(u["method"] == "hyper" for u in made) == 2  # one width, K_max only, 2 seeds
    q = [(u["width"], u["K"], u["E"]) for u in made if u["method"] == "embedding"
         and u["seed"] == 1]
    assert sorted(q) == sorted([(w, k, 8) for w in (2, 4) for k in (4, 8, 16)]
                               + [(2, 16, 16), (4, 16, 16)])
    with pytest.raises(ValueError, match="not a whole number of at least 4"):
        OracleConfig(instances=12, k_fractions=(8, 1))
    with pytest.raises(ValueError, match="must include 1"):
        OracleConfig(k_fractions=(2,))


# ---- the analysis, on synthetic rows of known exponent --------------------------------

def _rows(method: str, m2: int, exponent: float, seeds: int = 6, noise: float = 0.03,
          K: int = 64, E: int = 8, scale: float = 1.0, rng=None) -> list[dict]:
    """Rows whose error follows N = (scale / eps)^exponent, with multiplicative noise."""
    rng = rng or np.random.default_rng(0)
    out = []
    for seed in range(1, seeds + 1):
        for n in (4, 8, 16, 32, 64, 128, 256):
            eps = scale * n ** (-1 / exponent) * math.exp(noise * rng.standard_normal())
            out.append({"target": "smooth", "m1": 1, "m2": m2, "method": method, "width": n,
                        "K": K, "E": 0 if method == "hyper" else E, "seed": seed,
                        "primary": n, "trainable": n, "test_rmse": eps, "test_max": 3 * eps,
                        "stop": "rule"})
    return out


def test_fit_recovers_a_planted_exponent_with_an_interval():
    sizes, runs, seeds = analysis.curve(_rows("hyper", 1, 1.5), method="hyper", m2=1)
    f = analysis.fit(sizes, runs)
    assert f["n"] == len(seeds) == 6
    assert f["low"] < 1.5 < f["high"] and f["high"] - f["low"] < 0.3
    low, high = f["curvature"][1:]
    assert low < 0 < high  # a straight line in log-log: no curvature


def test_curvature_check_finds_a_bent_curve():
    rows = []
    rng = np.random.default_rng(1)
    for seed in range(1, 7):
        for n in (4, 8, 16, 32, 64, 128, 256, 512):
            # the exponent grows along the curve: log N = 2 log(1/eps) + 2 log(1/eps)^2
            u = (-2 + math.sqrt(4 + 8 * math.log(n))) / 4
            rows.append({"method": "hyper", "m2": 1, "seed": seed, "primary": n,
                         "test_rmse": math.exp(-u) * math.exp(0.01 * rng.standard_normal())})
    f = analysis.fit(*analysis.curve(rows, method="hyper", m2=1)[:2])
    assert f["curvature"][1] > 0


def test_verdicts_hold_on_rows_built_to_the_theory():
    rng = np.random.default_rng(2)
    rows = []
    for m2 in (1, 2, 3):
        rows += _rows("hyper", m2, 1.0, scale=2.0, rng=rng)  # error ranges overlap q's
        for k in (16, 32, 64):  # q's curve does not move with K: the same law each time
            rows += _rows("embedding", m2, 1.0 + m2, K=k, rng=rng)
        rows += _rows("embedding", m2, 1.0 + m2, E=16, rng=rng)
    result = analysis.analyze(rows)
    v = result["verdicts"]
    assert v["g_rate"].word == HELD, v["g_rate"]
    assert v["q_grows"].word == HELD, v["q_grows"]
    assert v["ratio"].word == HELD, v["ratio"]
    for m2, r in result["ratios"].items():  # N_q/N_g ~ eps^-m2 exactly, up to the noise
        assert r["low"] < m2 < r["high"]
    assert result["k_limited_share"] < 0.2


def test_verdicts_refuse_when_the_exponents_do_not_move_with_m2():
    rng = np.random.default_rng(3)
    rows = []
    for m2 in (1, 2, 3):
        rows += _rows("hyper", m2, 1.0 + m2, rng=rng)  # g grows with m2: not flat
        for k in (32, 64):
            rows += _rows("embedding", m2, 2.0, K=k, rng=rng)  # q flat in m2
    v = analysis.analyze(rows)["verdicts"]
    assert v["g_rate"].word == NOT_HELD
    assert v["q_grows"].word == NOT_HELD  # interval around 0, narrower than FLAT_WIDTH


def test_k_limited_points_make_a_held_inconclusive():
    rng = np.random.default_rng(4)
    rows = []
    for m2 in (1, 2):
        rows += _rows("hyper", m2, 1.0, rng=rng)
        rows += _rows("embedding", m2, 1.0 + m2, K=32, scale=1.0, rng=rng)
        rows += _rows("embedding", m2, 1.0 + m2, K=64, scale=2.0, rng=rng)  # twice the error
    result = analysis.analyze(rows)
    assert result["k_limited_share"] > rules.K_LIMITED_SHARE
    assert result["verdicts"]["q_grows"].word == INCONCLUSIVE
    assert "K-limited" in result["verdicts"]["q_grows"].reason


def _structured(method: str, sizes: dict[int, float], seeds: int = 4, rng=None) -> list[dict]:
    rng = rng or np.random.default_rng(0)
    return [{"target": "structured", "method": method, "seed": s, "width": n, "encoder": n,
             "trainable": n, "test_rmse": e * math.exp(0.02 * rng.standard_normal()),
             "stop": "rule"} for s in range(1, seeds + 1) for n, e in sizes.items()]


def test_structured_verdict_reads_the_ratio_at_the_smallest_common_error():
    hyper = _structured("hyper", {100: 0.2, 300: 0.05})
    others = (_structured("embedding", {2000: 0.3, 9000: 0.1, 30000: 0.06}) +
              _structured("mlp", {3000: 0.3, 12000: 0.1, 40000: 0.06}))
    result = structured.totals(hyper + others)
    assert result["eps_star"] == pytest.approx(0.06, rel=0.1)
    assert result["verdict"].word == HELD  # 30000/300 = 100x and 40000/300 = 133x
    close = _structured("embedding", {200: 0.3, 900: 0.06}) + _structured("mlp", {300: 0.06})
    assert structured.totals(hyper + close)["verdict"].word == NOT_HELD


def test_predictions_follow_the_targets_smoothness():
    rows = _rows("hyper", 1, 1.0) + _rows("embedding", 1, 2.0)
    fits = analysis.analyze(rows, r=2.0)["fits"]
    assert {(f["method"], f["predicted"]) for f in fits} == {("hyper", 0.5), ("embedding", 1.0)}
