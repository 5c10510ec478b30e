"""Every registered experiment runs in seconds; the report builds from result files alone."""

import json

import pytest
import torch

from hypermod import theory
from hypermod.config import override
from hypermod.experiments import EXPERIMENTS, get_experiment, settings_for
from hypermod.experiments.report import build_report, load_results
from hypermod.models import conv_teacher, count_trainable, shallow_mlp
from hypermod.records import unit_key
from hypermod.sweep import SweepContext, run_sweep

# Settings that make each experiment's smoke run take seconds on a CPU.
TINY = {
    "rotation-depth": ["datasets=digits", "depths=0,1", "train.epochs=1", "limit_train=128",
                       "limit_test=64"],
    "rotation-embedding": ["datasets=digits", "embedding_dims=50,100", "lrs=0.01,0.1",
                           "train.epochs=1", "limit_train=128", "limit_test=64"],
    "assumption1": ["datasets=uniform", "train.epochs=2", "noise_size=256", "width=16"],
    "assumption2": ["datasets=digits", "widths=1,3", "train.epochs=1", "limit_train=256",
                    "limit_test=64"],
    "conditioning-zoo": ["datasets=digits,structured", "tasks=rotation",
                         "methods=hyper,film,mlp", "budgets=3000,6000", "train.epochs=1",
                         "limit_train=128", "limit_test=64", "train_instances=64",
                         "test_instances=32", "points=8", "tune_lr=3e-3,1e-2",
                         "init_ablation=default", "ablation_budgets=6000"],
    "modularity-scaling": ["widths=1,4", "mlp_widths=4", "encoder_widths=8,16", "max_steps=20",
                           "train_instances=64", "test_instances=32", "val_instances=32"],
    "oracle-scaling": ["m2s=1,2", "hyper_widths=1,4", "embedding_widths=1,4", "train.epochs=2",
                       "polish_steps=2"],
}


def test_registry_holds_the_papers_experiments():
    assert set(EXPERIMENTS) == set(TINY)
    for experiment in EXPERIMENTS.values():
        assert experiment.report is not None
        assert set(experiment.quick.datasets) <= set(experiment.datasets)
        assert set(experiment.full.datasets) <= set(experiment.datasets)


@pytest.mark.parametrize("name", sorted(TINY))
def test_smoke_run_of_every_experiment_then_report(name, tmp_path):
    experiment = get_experiment(name)
    config = override(settings_for(experiment, seeds=1), TINY[name])
    counts = run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False),
                       log=lambda _: None)
    assert counts["ran"] == counts["total"] == len(experiment.units(config)) > 0
    records = load_results(tmp_path)[0][name]
    assert len(records) == counts["total"]
    for record in records:
        assert record["rows"] and all("epoch" in row for row in record["rows"])
    report = build_report(tmp_path).path.read_text()
    figures = sorted((tmp_path / "figures").glob(f"{name}*.png"))
    assert figures and all(f"figures/{f.name}" in report for f in figures)
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in figures)


def test_unsupported_data_set_is_refused():
    with pytest.raises(ValueError, match="assumption1 does not run on \\['digits'\\]"):
        settings_for(get_experiment("assumption1"), datasets=("digits",))
    with pytest.raises(ValueError, match="unknown experiment 'rotation'"):
        get_experiment("rotation")


@pytest.mark.parametrize("d,width", [(64, 1), (784, 17), (3072, 29)])
def test_assumption2_networks_match_the_closed_form(d, width):
    assert count_trainable(shallow_mlp(d, width)) == theory.shallow_params(d, width)
    assert theory.shallow_params(d, width) == d * width + width + width * 10 + 10


def test_assumption2_rows_carry_the_closed_form_count(tmp_path):
    experiment = get_experiment("assumption2")
    config = override(settings_for(experiment, seeds=1), TINY["assumption2"])
    run_sweep(experiment, config, tmp_path, SweepContext("cpu", progress=False), lambda _: None)
    for record in load_results(tmp_path)[0]["assumption2"]:
        width = record["unit"]["width"]
        assert record["rows"][-1]["params"] == theory.shallow_params(64, width)


def test_assumption1_networks_are_the_references():
    teacher = conv_teacher(3, 32)
    assert teacher[-1].in_features == 160  # 40 channels of 2x2 on CIFAR-10, as the reference
    assert conv_teacher(1, 28)[-1].in_features == 40
    student = shallow_mlp(784, 100, act="relu", normalize_rows=True)
    for layer in (student[0], student[2]):
        torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(layer.out_features))


# ---- the report from hand-made result files -------------------------------------------

def _write(root, experiment, unit_, rows, config):
    """A finished unit file, named by its unit's key as a sweep names it."""
    path = root / experiment / "runs" / f"{unit_key(unit_)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "status": "finished", "experiment": experiment, "unit": unit_, "config": config,
        "rows": rows, "environment": {"torch": "2.13.0", "device": "cpu"},
        "code": {"hypermod": "0.1.0", "git_commit": "abc"}, "wall_seconds": 1.5,
    }))


# The experiments `_hand_made` writes files for.
HAND_MADE = ("rotation-depth", "rotation-embedding", "assumption1", "assumption2",
             "modularity-scaling")


def _hand_made(root, claims_hold=True):
    for seed in (1, 2):
        for depth in (2, 4):
            for method, err in (("hyper", 0.20), ("embedding", 0.40)):
                if not claims_hold:
                    err = 0.6 - err
                row = {"dataset": "mnist", "method": method, "depth": depth, "seed": seed,
                       "epoch": 10, "test_error": err + 0.01 * seed, "trainable": 1000}
                _write(root, "rotation-depth", row, [row],
                       {"epochs": 10})
        emb_cfg = {"embedding_dims": [100, 200], "lrs": [0.01, 0.1]}
        for e in (100, 200):
            for lr in (0.01, 0.1):
                row = {"dataset": "mnist", "method": "embedding", "E": e, "lr": lr,
                       "seed": seed, "epoch": 3, "test_error": 0.5 - lr, "trainable": 10}
                _write(root, "rotation-embedding", row, [row], emb_cfg)
        for lr in (0.01, 0.1):
            row = {"dataset": "mnist", "method": "hyper", "E": 0, "lr": lr, "seed": seed,
                   "epoch": 3, "test_error": 0.3 if claims_hold else 0.45, "trainable": 10}
            _write(root, "rotation-embedding", row, [row], emb_cfg)
        gap = 0.1 if claims_hold else 1.5
        rows = [{"dataset": "uniform", "seed": seed, "epoch": ep, "dist_students": gap / ep,
                 "dist_teacher": 0.5 / ep, "dist_teacher_2": 0.5 / ep} for ep in range(4)[1:]]
        _write(root, "assumption1", {"dataset": "uniform", "seed": seed}, rows,
               {"epochs": 3})
        for width in (1, 2, 4):
            row = {"dataset": "digits", "width": width, "seed": seed, "epoch": 1,
                   "test_error": 0.5 / width if claims_hold else 0.1 * width,
                   "test_mse": 0.1 / width, "params": width}
            _write(root, "assumption2", row, [row], {"epochs": 1})
        # modularity-scaling: error curves with known exponents, N ~ eps^-1 for g and
        # N ~ eps^-2 for q, times a per-seed factor that leaves every slope exact
        scaling_cfg = {"r": 1.0, "delta": 0.1, "encoder_widths": [16], "embedding_dim": 4,
                       "m1s": [1], "m2s": [1], "widths": [1, 2, 4, 8], "totals_encoders": [],
                       "mlp_widths": [], "max_steps": 100}
        for method, per_width, exponent in (("hyper", 3, 1.0), ("embedding", 7, 2.0)):
            for width in (1, 2, 4, 8):
                n = per_width * width + 1
                rmse = (1 + 0.1 * seed) * (n / 4) ** (-1 / exponent)
                row = {"target": "smooth", "m1": 1, "m2": 1, "method": method, "width": width,
                       "encoder": 16, "seed": seed, "epoch": 1, "primary": n,
                       "trainable": 100 + n, "train_mse": rmse ** 2, "test_mse": rmse ** 2,
                       "test_rmse": rmse, "steps": 50}
                _write(root, "modularity-scaling", row, [row],
                       scaling_cfg)


def test_report_builds_every_figure_and_table_from_hand_made_files(tmp_path):
    _hand_made(tmp_path)
    text = build_report(tmp_path).path.read_text()
    for name in HAND_MADE:
        assert f"![{name}](figures/{name}.png)" in text
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
    assert text.count("### Settings") == 5
    assert "| smooth | 1 | 1 | hyper | 1 | 1.00 | [1.00, 1.00] (n=2) |" in text
    assert "| smooth | 1 | 1 | embedding | 2 | 2.00 | [2.00, 2.00] (n=2) |" in text
    # two seeds, 0.21 and 0.22: mean 0.215, sample standard deviation 0.0071
    assert "| mnist | 2 | 0.2150 ± 0.0071 (n=2) | 0.4150 ± 0.0071 (n=2) |" in text
    assert "on mnist: **held**; the hypernetwork was lower beyond noise at 2 of 2 depths" in text
    assert ("on mnist: **held**; the embedding method's chosen setting (E = 100, lr 0.1) "
            "reached 0.4000") in text
    assert "on uniform: **held**" in text
    assert "ratio 0.200" in text  # students 0.1/3 apart, 0.5/3 from the teacher
    assert "on digits: **held**" in text
    assert "test error 0.5000 at width 1 and 0.1250 at width 4" in text
    assert "Spearman rank correlation with width -1.00" in text
    assert "1.00 [1.00, 1.00] vs 1 on 4 of 4 points (0.8 decades of N), consistent" in text
    assert "over all settings: **held**." in text
    assert "Verdict rules: two arms are compared by Welch's t-test" in text
    assert "quick settings" not in text  # hand-made configs are not the quick ones
    assert "## Environment" in text and "2.13.0" in text


def test_report_says_when_the_claims_fail(tmp_path):
    _hand_made(tmp_path, claims_hold=False)
    text = build_report(tmp_path).path.read_text()
    assert "on mnist: **did not hold**; the hypernetwork was lower beyond noise at 0 of 2 " \
        "depths, the embedding method at 2" in text
    assert ("on mnist: **did not hold**; the embedding method's chosen setting (E = 100, lr "
            "0.1) reached 0.4000 ± 0.0000 (n=2), the hypernetwork at its chosen lr (0.01) "
            "0.4500") in text
    assert "on uniform: **did not hold**" in text and "(ratio 3.000" in text
    assert "on digits: **did not hold**; test error 0.1000 at width 1 and 0.4000" in text
    # only modularity-scaling's exponents are unchanged (claims list and section)
    assert "**held" not in text.replace("m1=1, m2=1 **held**", "").replace(
        "over all settings: **held**", "")


def test_report_refuses_to_average_runs_of_different_settings(tmp_path):
    _hand_made(tmp_path)
    (path,) = (tmp_path / "assumption2" / "runs").glob("dataset-digits_width-1_*_seed-1.json")
    record = json.loads(path.read_text())
    record["config"] = {"epochs": 5}  # an older record's flat name: read as train.epochs
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"different settings \(train\.epochs\)"):
        build_report(tmp_path)


def test_report_of_an_empty_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no finished result files"):
        build_report(tmp_path)


def test_reproduce_quick_runs_every_experiment_and_prints_the_claims(tmp_path, monkeypatch,
                                                                     capsys):
    """The happy path of `hypermod reproduce --quick`, on tiny settings."""
    from dataclasses import replace

    from hypermod.cli import main
    from hypermod.config import override

    tiny = {name: replace(e, quick=override(replace(e.quick, seeds=2 if name ==
                                                    "rotation-embedding" else 1), TINY[name]))
            for name, e in EXPERIMENTS.items()}
    monkeypatch.setattr("hypermod.experiments.registry.EXPERIMENTS", tiny)
    monkeypatch.setattr("hypermod.experiments.EXPERIMENTS", tiny)
    monkeypatch.setattr("hypermod.experiments.reproduce.EXPERIMENTS", tiny)
    out = tmp_path / "r"
    assert main(["reproduce", "--quick", "--no-progress", "--device", "cpu",
                 "--dataset", "digits", "--dataset", "uniform", "--dataset", "smooth",
                 "--dataset", "structured", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in TINY:
        assert list((out / name / "runs").glob("*.json")), name
    assert "what the paper claims" in printed
    assert printed.count("\n- ") >= len(TINY)
    # rotation-embedding with 2 seeds trained them as one ensemble
    record = json.loads(next((out / "rotation-embedding" / "runs").glob("*.json")).read_text())
    assert record["ensemble"]["size"] == 2
    assert (out / "report.md").is_file()
