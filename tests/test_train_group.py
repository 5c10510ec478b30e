"""Every experiment holds its training settings as one `train: TrainConfig` group, and the
conditioning zoo its shared architecture as `model: HyperConfig` (issue 22): `--set
train.lr=...` means the same everywhere, old names are refused with the new one, and
sweeps and reports made under the old flat names still resume and rebuild."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from hypermod.config import override
from hypermod.experiments import assumption2, modularity_scaling, oracle_scaling
from hypermod.experiments.modularity_scaling.experiment import PointTrainer
from hypermod.experiments.registry import EXPERIMENTS
from hypermod.experiments.report import load_results
from hypermod.sweep import SweepContext, SweepStore, config_record, settings_differ, unit
from hypermod.sweep.spec import flat_settings, legacy_settings, moved_settings
from hypermod.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _old_record(config) -> dict:
    """The config record an older hypermod wrote: the moved settings at their old flat
    names, the training settings it did not have absent."""
    flat = flat_settings(config_record(config))
    groups = tuple({new.rsplit(".", 1)[0] + "." for new in moved_settings(config).values()})
    old = {k: v for k, v in flat.items() if not k.startswith(groups)}
    for before, after in moved_settings(config).items():
        old[before] = flat[after]
    record: dict = {}
    for key, value in old.items():  # back into nested dicts (structured.m2 ...)
        *heads, leaf = key.split(".")
        node = record
        for head in heads:
            node = node.setdefault(head, {})
        node[leaf] = value
    return record


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_holds_one_train_config(name):
    quick = EXPERIMENTS[name].quick
    assert isinstance(quick.train, TrainConfig)
    assert override(quick, ["train.weight_decay=0.001"]).train.weight_decay == 0.001


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_an_old_flat_name_is_refused_with_its_new_one(name):
    quick = EXPERIMENTS[name].quick
    moved = {k: v for k, v in moved_settings(quick).items() if "." not in k}
    assert moved, f"{name} moved no setting into train"
    for before, after in moved.items():
        with pytest.raises(ValueError, match=f"'{before}' of .* is now '{after}': set {after}="):
            override(quick, [f"{before}=1"])


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_a_record_in_the_old_shape_counts_as_the_same_settings(name):
    """What keeps old sweeps resumable: the moved names map, and the settings the old
    records lack are the ones the experiment used (its LEGACY table)."""
    experiment = EXPERIMENTS[name]
    quick = experiment.quick
    old = _old_record(quick)
    assert "train" not in old and "model" not in old
    same = settings_differ(old, config_record(quick), experiment.grid_fields,
                           legacy_settings(quick), moved_settings(quick))
    assert same == []
    other = override(quick, ["train.weight_decay=0.5"])
    assert settings_differ(old, config_record(other), experiment.grid_fields,
                           legacy_settings(quick), moved_settings(quick)) \
        == ["train.weight_decay"]


def test_an_old_sweep_json_resumes_and_a_changed_lr_is_named(tmp_path):
    experiment = EXPERIMENTS["rotation-depth"]
    (tmp_path / "sweep.json").write_text(json.dumps(
        {"schema": 1, "config": _old_record(experiment.quick)}))
    store = SweepStore(tmp_path, experiment.quick, experiment.grid_fields)
    assert store.open() == []
    changed = override(experiment.quick, ["train.lr=0.1"])
    store = SweepStore(tmp_path, changed, experiment.grid_fields)
    assert store.open() == ["train.lr: 0.05 -> 0.1"]  # no finished unit: replaced, named
    assert json.loads((tmp_path / "sweep.json").read_text())["config"]["train"]["lr"] == 0.1


def test_the_committed_tuned_run_is_current_under_its_documented_command(tmp_path):
    """docs/results/rotation-depth-tuned was made before the train group: its records
    hold lr, epochs and patience flat. The command docs/results/README.md gives for it,
    in the new names, finds every unit finished."""
    source = ROOT / "docs/results/rotation-depth-tuned/rotation-depth"
    directory = tmp_path / "rotation-depth"
    shutil.copytree(source, directory)
    experiment = EXPERIMENTS["rotation-depth"]
    config = override(dataclasses.replace(experiment.full, seeds=3), [
        "datasets=mnist", "depths=2,4,9", "train.epochs=30", "limit_train=10000",
        "limit_test=3000", "val_fraction=0.1", "tune_lr=0.003,0.01,0.03,0.1",
        "train.patience=5"])
    store = SweepStore(directory, config, experiment.grid_fields)
    keys = [p.stem for p in (directory / "runs").glob("*.json")]
    assert len(keys) > 10 and all(store.is_current(k) for k in keys)
    assert "lr" in json.loads((source / "sweep.json").read_text())["config"]
    records = load_results(tmp_path)[0]["rotation-depth"]
    assert {r["config"]["train"]["epochs"] for r in records} == {30}
    assert "epochs" not in records[0]["config"]
    longer = override(config, ["train.epochs=31"])
    assert not SweepStore(directory, longer, experiment.grid_fields).is_current(keys[0])


def test_train_lr_and_optimizer_change_what_a_unit_trains():
    config = dataclasses.replace(assumption2.QUICK, widths=(4,), limit_train=500,
                                 limit_test=200)
    item = unit(1, dataset="digits", width=4)
    ctx = SweepContext("cpu", progress=False)

    def losses(c):
        return [r["train_loss"] for r in assumption2.run(c, item, ctx)]

    base = losses(config)
    assert losses(config) == base  # deterministic, so a difference is the setting's
    assert losses(override(config, ["train.lr=0.1"])) != base
    assert losses(override(config, ["train.optimizer=sgd"])) != base


def test_modularity_scaling_trains_with_its_train_group():
    config = dataclasses.replace(modularity_scaling.QUICK, train_instances=64,
                                 val_instances=32, test_instances=32, max_steps=40)
    point = {"target": "smooth", "m1": 1, "m2": 2, "method": "hyper", "width": 4}
    base = PointTrainer(config, point, 1, "cpu").train(16)
    slower = PointTrainer(override(config, ["train.lr=0.0001"]), point, 1, "cpu").train(16)
    assert slower["val_mse"] != base["val_mse"]
    with pytest.raises(ValueError, match="train.epochs follows from max_steps"):
        override(config, ["train.epochs=3"])
    oracle = override(oracle_scaling.QUICK, ["train.lr=0.02", "structured.train.cuts=2"])
    assert oracle.train_config(1, 16).lr == 0.02 and oracle.structured.train.cuts == 2
    with pytest.raises(ValueError, match="train.batch_size follows from batch_fraction"):
        override(oracle_scaling.QUICK, ["train.batch_size=8"])


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_the_seed_is_each_units(name):
    with pytest.raises(ValueError, match="train.seed is each unit's seed"):
        override(EXPERIMENTS[name].quick, ["train.seed=7"])


def test_a_frame_puts_old_and_new_records_in_one_column(tmp_path):
    pytest.importorskip("pandas")
    from hypermod.frame import load_frame

    shutil.copytree(ROOT / "docs/results/rotation-depth-tuned/rotation-depth",
                    tmp_path / "rotation-depth")
    moved = {"rotation-depth": moved_settings(EXPERIMENTS["rotation-depth"].quick)}
    df = load_frame(tmp_path, moved=moved)
    assert set(df["config.train.epochs"]) == {30} and "config.epochs" not in df
    assert "config.epochs" in load_frame(tmp_path)  # without the table, as written


def test_the_zoo_offers_its_model_group_to_every_method():
    from hypermod.experiments.conditioning_zoo.designs import method_config
    from hypermod.models import Sizes

    quick = EXPERIMENTS["conditioning-zoo"].quick
    deeper = override(quick, ["model.encoder_depth=3", "model.activation=tanh"])
    sizes = Sizes(16, 2, 1)
    for method in quick.methods:
        for design in quick.designs:
            got = method_config(deeper, method, 20_000, sizes, design).config
            assert (got.encoder_depth, got.activation) == (3, "tanh"), (method, design)
            assert method_config(quick, method, 20_000, sizes, design).config.encoder_depth == 2
    with pytest.raises(ValueError, match="'init' of ZooExperimentConfig is now 'model.init'"):
        override(quick, ["init=default"])
    with pytest.raises(ValueError, match="model.encoder_hidden follows from budgets"):
        override(quick, ["model.encoder_hidden=8"])
