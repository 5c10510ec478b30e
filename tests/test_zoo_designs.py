"""conditioning-zoo's fairness machinery: the two designs, the baselines, the init
ablation's units, Kendall's tau, and the report's tests against baselines."""

import math

import pytest
import torch

from hypermod.data import load_dataset
from hypermod.experiments.conditioning_zoo import (
    ZooExperimentConfig,
    analysis,
    baselines,
    summarize,
)
from hypermod.experiments.conditioning_zoo.designs import code_dim, is_ablation, method_config
from hypermod.experiments.conditioning_zoo.experiment import units
from hypermod.models import Sizes, configure, counts
from hypermod.models.budget import match_budget
from hypermod.tasks import RegressionTask, RotationConfig, RotationTask
from hypermod.tasks.inr import INRConfig, INRTask
from hypermod.tasks.synthetic import SyntheticSet

ROTATION = Sizes(784, 784, 12)
STRUCTURED = Sizes(4, 2, 1)


@pytest.mark.parametrize("sizes", [ROTATION, STRUCTURED])
@pytest.mark.parametrize("budget", [20_000, 80_000])
def test_primary_design_gives_every_method_the_papers_g_and_fills_the_budget(sizes, budget):
    config = ZooExperimentConfig()
    g = counts(method_config(config, "hyper", budget, sizes).config, sizes)["primary"]
    for method in ("hyper", "film", "lowrank-hyper", "partial-hyper", "chunked-hyper"):
        match = method_config(config, method, budget, sizes, design="primary")
        got = counts(match.config, sizes)
        assert got["primary"] == g, method
        assert match.count == got["trainable"]
        if budget == 80_000:  # room enough: the encoder alone reaches the budget
            assert match.ok and abs(got["trainable"] - budget) <= 0.01 * budget, method
    for method in ("embedding", "concat-all"):  # q steps coarsely: 57 or 61 against 65
        got = counts(method_config(config, method, budget, sizes, "primary").config, sizes)
        assert abs(got["primary"] - g) <= 0.15 * g, method
    mlp = method_config(config, "mlp", budget, sizes, design="primary")
    assert not mlp.ok and mlp.count == counts(mlp.config, sizes)["primary"] < budget
    assert "all primary" in mlp.note


def test_the_other_width_stays_put_when_asked():
    settings = configure("hyper", primary_hidden=(16,))
    free = match_budget(settings, 5_000, ROTATION)
    held = match_budget(settings, 5_000, ROTATION, vary_other=False)
    assert free.config.primary_hidden != (16,)  # 16 cannot fit: g moved
    assert held.config.primary_hidden == (16,) and not held.ok


def test_code_sizes_are_capped_by_the_encoders_last_hidden_width():
    assert code_dim(configure("film", embedding_dim=7), STRUCTURED) == 7
    wide = configure("hyper", primary_hidden=(16,), encoder_hidden=100)
    assert code_dim(wide, STRUCTURED) == 65  # g's weights
    narrow = configure("hyper", primary_hidden=(16,), encoder_hidden=12)
    assert code_dim(narrow, STRUCTURED) == 12  # f(I) is affine in 12 numbers
    assert code_dim(configure("mlp"), STRUCTURED) is None


def test_units_share_the_reference_and_ablate_only_inits_that_exist():
    config = ZooExperimentConfig(datasets=("structured",), budgets=(1_000, 2_000),
                                 designs=("trainable", "primary"), init_ablation=("default",),
                                 ablation_budgets=(2_000,), seeds=1,
                                 methods=("hyper", "mip-hyper", "film", "partial-hyper"))
    points = [dict(u.point) for u in units(config)]
    main = [p for p in points if p["init"] != "default" or p["method"] in ("mip-hyper", "film")]
    assert not [p for p in main if p["design"] == "primary" and p["method"] == "hyper"]
    assert len(main) == 2 * 4 * 2 - 2
    ablation = [p for p in points if p not in main]
    assert sorted((p["method"], p["budget"]) for p in ablation) == [("hyper", 2_000),
                                                                    ("partial-hyper", 2_000)]
    assert {p["design"] for p in ablation} == {"trainable"}
    flags = {(p["method"], p["init"], p["design"]): is_ablation(config, p) for p in points}
    assert flags[("hyper", "default", "trainable")] and flags[("partial-hyper", "default",
                                                                "trainable")]
    assert not flags[("hyper", "hyperfan", "trainable")]
    assert not flags[("film", "default", "trainable")]  # no init setting: the main run
    assert not flags[("mip-hyper", "default", "primary")]
    with pytest.raises(ValueError, match="leaves out"):
        ZooExperimentConfig(designs=("primary",), init_ablation=("default",))
    with pytest.raises(ValueError, match="ablation_budgets"):
        ZooExperimentConfig(budgets=(1_000,), ablation_budgets=(2_000,))
    with pytest.raises(ValueError, match="designs"):
        ZooExperimentConfig(designs=("neither",))
    with pytest.raises(ValueError, match="repeats the main init"):
        ZooExperimentConfig(init_ablation=("hyperfan",))


def _regression(values, val):
    """A task whose test targets are `values` (one instance each, one point) and whose
    validation targets are `val`."""
    def make(ys):
        ys = torch.tensor(ys, dtype=torch.float32)[:, None]
        return SyntheticSet(torch.zeros(len(ys), 1), torch.zeros(len(ys), 1, 1), ys)
    return RegressionTask(make([0.0, 1.0]), make(values), make(val))


def test_constant_guess_is_chosen_on_validation_and_scored_on_test():
    task = _regression([1.0, 3.0], val=[2.0, 4.0])  # the guess is 3: errors 4 and 0
    assert baselines.constant_guess(task) == pytest.approx(2.0)
    rotation = RotationTask(load_dataset("digits"), RotationConfig(val_fraction=0.2),
                            limit_train=300, limit_test=200)
    labels = torch.cat([y for _, y in rotation.val_batches(64)])
    mode = torch.bincount(labels).argmax()
    test = torch.cat([y for _, y in rotation.test_batches(64)])
    assert baselines.constant_guess(rotation) == pytest.approx(
        (test != mode).float().mean().item())
    with pytest.raises(ValueError, match="no validation part"):
        baselines.constant_guess(RotationTask(load_dataset("digits"), limit_train=50,
                                              limit_test=20))


def test_mean_image_and_pca_against_their_definitions():
    task = INRTask(load_dataset("digits"), INRConfig(), limit_train=200, limit_test=50)
    train = task.intensities(task.train_images).double()
    test = task.intensities(task.test_images).double()
    mean = train.mean(dim=0)
    assert baselines.mean_image(task) == pytest.approx(
        ((test - mean) ** 2).mean(dim=1).mean().item(), rel=1e-5)
    errors = [baselines.pca(task, k) for k in (1, 4, 16)]
    assert errors[0] > errors[1] > errors[2] > 0
    assert baselines.pca(task, 64) == pytest.approx(0, abs=1e-9)  # 8x8: every axis kept
    # rebuilt by hand from numpy's SVD of the centred training images
    _, _, axes = torch.linalg.svd(train - mean, full_matrices=False)
    rebuilt = mean + (test - mean) @ axes[:4].T @ axes[:4]
    assert errors[1] == pytest.approx(((test - rebuilt) ** 2).mean(dim=1).mean().item(),
                                      rel=1e-5)
    found = baselines.inr_baselines(task, (4, 4, 16))
    assert list(found) == ["mean image", "pca-4", "pca-16"]


def test_kendall():
    assert analysis.kendall(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1)
    assert analysis.kendall(["a", "b", "c"], ["c", "b", "a"]) == pytest.approx(-1)
    assert analysis.kendall(["a", "b", "c", "d"], ["b", "a", "c", "d"]) == pytest.approx(2 / 3)
    assert analysis.kendall(["a"], ["a"]) is None


def _row(method, seed, lr, val, test, init="default", design="trainable", **extra):
    return {"unit": {"seed": seed}, "config": {"train": {"lr": 1e-3}}, "rows": [
        {"dataset": "structured", "task": "regression", "method": method, "budget": 1000,
         "design": design, "init": init, "lr": lr, "seed": seed, "epoch": 3,
         "val_error": val, "test_error": test, "trainable": 1000, "primary": 65,
         "budget_ok": True, "code_dim": 65, "baselines": {"constant": 1.0 + 0.01 * seed},
         "stop": "cap" if lr == 1e-3 else "rule", **extra}]}


def test_summary_tunes_per_method_counts_caps_tests_baselines_and_gives_tau():
    noise = (0.0, 0.01, -0.01, 0.02, -0.02)
    records = []
    for s, e in zip(range(1, 6), noise):
        # at the shared lr (1e-3) film beats hyper; each at its best lr, hyper wins
        records += [_row("hyper", s, 1e-3, 0.5 + e, 0.5 + e, init="hyperfan"),
                    _row("hyper", s, 1e-2, 0.1 + e, 0.1 + e, init="hyperfan"),
                    _row("film", s, 1e-3, 0.3 + e, 0.3 + e),
                    _row("film", s, 1e-2, 0.4 + e, 0.4 + e),
                    # the mlp never leaves its baseline
                    _row("mlp", s, 1e-3, 0.99 + 2 * e, 1.0 + 0.01 * s + e),
                    _row("mlp", s, 1e-2, 1.2, 1.2),
                    # the ablation: hyper from the default init is worse
                    _row("hyper", s, 1e-3, 0.7 + e, 0.7 + e, ablation=True),
                    _row("hyper", s, 1e-2, 0.6 + e, 0.6 + e, ablation=True)]
    summary = summarize(records)
    (entry,) = summary["tasks"]
    (ranking,) = entry["rankings"]
    assert [r["method"] for r in ranking["ranked"]] == ["hyper", "film", "mlp"]
    assert ranking["shared_order"][:2] == ["film", "hyper"]
    assert ranking["tau"] == pytest.approx(1 / 3)
    ranked = {r["method"]: r for r in ranking["ranked"]}
    assert ranked["hyper"]["lr"] == 1e-2 and ranked["film"]["lr"] == 1e-3
    assert ranked["film"]["cap"] == 5 and ranked["hyper"]["cap"] == 0
    assert ranked["hyper"]["against"]["constant"].outcome == "first"  # below its baseline
    assert ranked["mlp"]["against"]["constant"].outcome != "first"
    assert entry["baselines"]["constant"]["mean"] == pytest.approx(1.03)
    (ablation,) = entry["ablation"]
    assert (ablation["base"], ablation["init"]) == ("hyperfan", "default")
    assert ablation["lr_base"] == 1e-2 and ablation["lr_init"] == 1e-2
    assert ablation["pair"].outcome == "first"  # hyperfan lower beyond noise
    assert ablation["pair"].test.diff == pytest.approx(-0.5)


def test_the_primary_design_reads_the_reference_from_the_trainable_runs():
    records = [_row("hyper", s, 1e-3, 0.1 * s, 0.1 * s, init="hyperfan") for s in (1, 2)]
    records += [_row("film", s, 1e-3, 0.2, 0.2 + 0.01 * s, design=d)
                for s in (1, 2) for d in ("trainable", "primary")]
    (entry,) = summarize(records)["tasks"]
    primary = next(r for r in entry["rankings"] if r["design"] == "primary")
    hyper = next(r for r in primary["ranked"] if r["method"] == "hyper")
    assert hyper["shared"] and hyper["side"].stats()["mean"] == pytest.approx(0.15)
    assert not math.isnan(hyper["selection"])


def test_reported_rows_carry_the_scores_taken_after_training():
    record = {"unit": {"seed": 1}, "rows": [
        {"epoch": 1, "test_error": 0.1},
        {"epoch": 2, "test_error": 0.2, "best_epoch": 1, "stop": "rule", "test_psnr": 11.0}]}
    (row,) = analysis.reported_rows([record])
    assert row["epoch"] == 1 and row["test_psnr"] == 11.0


def test_a_report_without_tuning_renders_the_ablation(tmp_path):
    from hypermod.experiments.conditioning_zoo import report

    records = [_row("hyper", s, None, 0.1 * s, 0.1 * s, init="hyperfan") for s in (1, 2)]
    records += [_row("hyper", s, None, 0.2 * s, 0.2 * s, ablation=True) for s in (1, 2)]
    for r in records:
        del r["rows"][0]["lr"]
    section = report(records, tmp_path)
    ablation = next(t for t in section.tables if "init ablation" in t)
    assert "| hyper | 1,000 | 0.1500" in ablation and "(lr" not in ablation
