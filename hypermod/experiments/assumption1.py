"""assumption1: do two students of one teacher converge to the same function?

The paper's Assumption 1 says the best approximator in a class is essentially unique.
The reference checks it with a fixed random teacher (Conv(20, 10x10, stride 2), ReLU,
Conv(40, 10x10, stride 2), ReLU, Linear to 10) and two one-hidden-layer ReLU students of
width 100 whose weight rows start with unit norm, both fit to the teacher by MSE with
SGD (lr 0.01, momentum 0.5) on the same batches. Per epoch it measures, on held-out
inputs, the mean squared distance between the students and between a student and the
teacher. If the best approximator is unique, the first distance shrinks well below the
second. Inputs are MNIST or CIFAR-10 images (normalized as the reference does) or
uniform noise in [-1, 1]^(1x28x28), fresh for every batch as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypermod.data import MNIST_MEAN, MNIST_STD
from hypermod.models import conv_teacher, shallow_mlp
from hypermod.reporting import Section, final_rows, group_stats, markdown_table, pm, verdict
from hypermod.reporting import figures as plotting
from hypermod.reporting.claims import Arm, Claim, judge
from hypermod.reporting.markdown import pair_cells
from hypermod.sweep import (
    Experiment,
    SweepContext,
    Unit,
    check_settings,
    check_train,
    group_legacy,
    unit,
)
from hypermod.tasks.limits import images_on, limited
from hypermod.training import TrainConfig, resolve_device, train

NAME = "assumption1"
NOISE_SHAPE = (1, 28, 28)


TRAIN = TrainConfig(epochs=100, lr=0.01, momentum=0.5)  # the reference's SGD


@dataclass(frozen=True)
class Assumption1Config:
    """Settings of assumption1; the defaults are the reference's.

    Attributes:
        datasets: "mnist", "cifar10" and/or "uniform" (noise needs no data set).
        width: hidden units of each student.
        train: the training settings (`TrainConfig`): SGD with lr 0.01 and momentum 0.5
            for 100 epochs, batches of 64 and 1000, as the reference; the seed is each
            unit's.
        noise_size: uniform-noise samples per epoch, and in the held-out set.
        limit_train, limit_test: use only the first N images of a data set.
        seeds: repetitions (teacher, students and data order all follow the seed).
    """

    datasets: tuple[str, ...] = ("mnist", "uniform", "cifar10")
    width: int = 100
    train: TrainConfig = TRAIN
    noise_size: int = 10_000
    limit_train: int | None = None
    limit_test: int | None = None
    seeds: int = 5

    # What runs made before a setting existed used, and where settings of older records
    # live now (see `sweep.spec.settings_differ`).
    LEGACY: ClassVar[dict[str, Any]] = group_legacy(TRAIN)
    MOVED: ClassVar[dict[str, str]] = {k: f"train.{k}" for k in (
        "epochs", "lr", "momentum", "batch_size", "test_batch_size")}

    def __post_init__(self) -> None:
        check_settings(self, nonempty=("datasets",), positive=("width", "noise_size", "seeds"),
                       optional_positive=("limit_train", "limit_test"))
        check_train(self, TRAIN)


FULL = Assumption1Config()
# Quick: a larger step (0.05) so that 60 short epochs get where the paper's 100 long ones do.
QUICK = Assumption1Config(datasets=("uniform",), train=replace(TRAIN, epochs=60, lr=0.05),
                          noise_size=4_000, limit_train=2_000, limit_test=1_000, seeds=2)


class StudentPair(nn.Module):
    """The two students as one model: (B, C, H, W) -> (B, 2, 10), student k in [:, k].

    Trained with one optimizer on the sum of their losses, each student still receives
    exactly its own gradient, so this is two separate fits on the same batches."""

    def __init__(self, d: int, width: int):
        super().__init__()
        self.students = nn.ModuleList(shallow_mlp(d, width, 10, "relu", normalize_rows=True)
                                      for _ in range(2))

    def forward(self, x: Tensor) -> Tensor:
        flat = x.flatten(1)
        return torch.stack([s(flat) for s in self.students], dim=1)


class TeacherTask:
    """Inputs (fresh uniform noise per batch, or normalized images) and the fixed random
    teacher's outputs for them, as a `hypermod.tasks.Task`.

    The loss is the sum of the two students' MSEs to the teacher; `errors` counts the
    held-out inputs where student 1's largest output is not the teacher's.
    """

    def __init__(self, name: str, config: Assumption1Config, ctx: SweepContext, seed: int,
                 device: torch.device):
        self.config, self.device = config, device
        if name == "uniform":
            self.shape = NOISE_SHAPE
            held_out = torch.Generator().manual_seed(10_000_019 + seed)
            self.test = torch.rand(config.noise_size, *NOISE_SHAPE, generator=held_out)
            self.test = (self.test * 2 - 1).to(device)
            self.train = None
        else:
            data = limited(ctx.dataset(name), config.limit_train, config.limit_test)
            if min(data.image_shape[1:]) < 28:
                raise ValueError(f"assumption1's teacher needs images of at least 28x28; "
                                 f"{name} has {data.image_shape[1]}x{data.image_shape[2]}")
            self.shape = data.image_shape
            self.train, test = images_on(data, device)
            self.test = self._normalize(test)
        self.teacher = conv_teacher(self.shape[0], self.shape[1]).to(device).eval()

    @staticmethod
    def _normalize(images: Tensor) -> Tensor:
        return (images.float() / 255 - MNIST_MEAN) / MNIST_STD

    @property
    def num_train(self) -> int:
        return self.config.noise_size if self.train is None else self.train.shape[0]

    def train_noise(self, count: int, generator: torch.Generator) -> Tensor | None:
        """Uniform noise in [-1, 1]: the inputs themselves (count, C, H, W); else None."""
        if self.train is not None:
            return None
        return torch.rand(count, *self.shape, generator=generator, device=self.device) * 2 - 1

    @torch.no_grad()
    def _pair(self, x: Tensor) -> tuple[tuple[Tensor], Tensor]:
        return (x,), self.teacher(x)

    def batch_from(self, index: Tensor, noise: Tensor | None):
        return self._pair(noise if self.train is None else self._normalize(self.train[index]))

    def test_batches(self, batch_size: int):
        for start in range(0, self.test.shape[0], batch_size):
            yield self._pair(self.test[start : start + batch_size])

    def losses(self, output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        """Student 1's plus student 2's MSE to the teacher, per input (N,) or averaged."""
        if reduction == "mean":
            return sum(F.mse_loss(output[:, k], target) for k in range(output.shape[1]))
        return ((output - target[:, None]) ** 2).mean(dim=2).sum(dim=1)

    def errors(self, output: Tensor, target: Tensor) -> Tensor:
        return (output[:, 0].argmax(dim=1) != target.argmax(dim=1)).sum()


@torch.no_grad()
def _distances(pair: StudentPair, task: TeacherTask) -> dict[str, float]:
    sums = torch.zeros(3, device=task.test.device)
    for (x,), t in task.test_batches(task.config.train.test_batch_size):
        out = pair(x)
        a, b = out[:, 0], out[:, 1]
        sums += torch.stack([F.mse_loss(a, b), F.mse_loss(a, t), F.mse_loss(b, t)]) * x.shape[0]
    students_gap, teacher_gap, teacher_gap_2 = (sums / task.test.shape[0]).tolist()
    return {"dist_students": students_gap, "dist_teacher": teacher_gap,
            "dist_teacher_2": teacher_gap_2}


def run(config: Assumption1Config, item: Unit, ctx: SweepContext) -> list[dict[str, Any]]:
    """Fit two students to one random teacher; one row per epoch (epoch 0: at init)."""
    name = dict(item.point)["dataset"]
    device = resolve_device(ctx.device)
    torch.manual_seed(item.seed)
    task = TeacherTask(name, config, ctx, item.seed, device)
    shape = task.shape
    pair = StudentPair(shape[0] * shape[1] * shape[2], config.width).to(device)
    rows = [{**item.as_dict(), "epoch": 0, **_distances(pair, task)}]

    def on_epoch(metrics: list[dict[str, Any] | None]) -> None:
        row = metrics[0]
        if row.get("diverged"):  # NaN weights: no distances to measure
            gaps = {"dist_students": None, "dist_teacher": None, "dist_teacher_2": None,
                    "diverged": True, "last_finite_loss": row["last_finite_loss"]}
        else:
            gaps = _distances(pair, task)
        rows.append({**item.as_dict(), "epoch": row["epoch"], "train_loss": row["train_loss"],
                     **gaps})

    train(pair, task, replace(config.train, seed=item.seed), progress=False,
          on_epoch=on_epoch)
    return rows


# What `report` reads from every row (checked before: a file without them is skipped).
ROW_FIELDS = {"dataset": str, "dist_students": float, "dist_teacher": float}


def claim() -> Claim:
    """The students are closer to each other than to the teacher: a paired test over
    seeds of the two final distances, one per input distribution, Holm over them."""
    return Claim("students-closer", "two students of one teacher converge to essentially "
                 "the same function", "dist_students", Arm("students", {}),
                 Arm("teacher", {}, metric="dist_teacher"), family=("dataset",),
                 test="paired")


WORDS = {"first": "students closer", "second": "teacher closer", "noise": "within noise",
         "too few": "too few seeds", "failed": "every run diverged"}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per input distribution: both final distances, their ratio and the verdict."""
    rows = [row for r in records for row in r["rows"]]
    finals = final_rows(records)
    (judgement,) = judge(claim(), finals) or [None]
    pairs = {p.at["dataset"]: p for p in judgement.pairs} if judgement else {}
    out: dict[str, Any] = {"datasets": {}}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in finals if r["dataset"] == name]
        gap = group_stats(mine, ("dataset",), "dist_students")[0]
        tgap = group_stats(mine, ("dataset",), "dist_teacher")[0]
        data = {"epoch": mine[0]["epoch"], "students": gap, "teacher": tgap,
                "pair": pairs.get(name)}
        if gap["mean"] is None or tgap["mean"] is None:  # NaN or infinite distances only
            data["verdict"] = verdict.Verdict(verdict.INCONCLUSIVE, "every run diverged")
            out["datasets"][name] = data
            continue
        first = [r for r in rows if r["dataset"] == name and r["epoch"] == 1]
        data["ratio"] = gap["mean"] / tgap["mean"] if tgap["mean"] else float("inf")
        data["first_ratio"] = (sum(r["dist_students"] for r in first)
                               / max(sum(r["dist_teacher"] for r in first), 1e-30))
        outcome = data["pair"].outcome if data["pair"] else "too few"
        data["verdict"] = {
            "first": verdict.Verdict(verdict.HELD), "second": verdict.Verdict(verdict.NOT_HELD),
            "noise": verdict.Verdict(verdict.INCONCLUSIVE, "the gap is within noise"),
        }.get(outcome, verdict.Verdict(verdict.INCONCLUSIVE,
                                       verdict.seeds_reason(gap["n"]) or WORDS[outcome]))
        out["datasets"][name] = data
    return out


def render(summary: dict[str, Any], records: list[dict[str, Any]], outdir: Path) -> Section:
    """The distance curves, the table and the claim text of `summary`."""
    rows = [row for r in records for row in r["rows"]]
    datasets = summary["datasets"]
    fig, axes = plotting.panels(len(datasets), "Assumption 1: two students of one teacher")
    for ax, name in zip(axes, datasets):
        mine = [r for r in rows if r["dataset"] == name]
        for key, label in (("dist_students", "student 1 vs student 2"),
                           ("dist_teacher", "student 1 vs teacher")):
            plotting.band(ax, group_stats(mine, ("epoch",), key), "epoch", label, marker="")
        ax.set(title=name, xlabel="epoch", yscale="log",
               ylabel="mean squared distance on held-out inputs")
        ax.legend(fontsize=8)
    figure = plotting.save(fig, outdir / "figures" / f"{NAME}.png")
    table_rows, claims = [], []
    for name, d in datasets.items():
        table_rows.append({"dataset": name, "epoch": d["epoch"], "students": pm(d["students"], 5),
                           "teacher": pm(d["teacher"], 5), "first_ratio": d.get("first_ratio", ""),
                           "ratio": d.get("ratio", "")})
        text = f"on {name}: {d['verdict'].markdown()}"
        if "ratio" in d:
            text += (f"; after {d['epoch']} epochs the students are "
                     f"{d['students']['mean']:.5f} apart and {d['teacher']['mean']:.5f} from "
                     f"the teacher (ratio {d['ratio']:.3f}, from {d['first_ratio']:.3f} after "
                     f"epoch 1; n={d['students']['n']})")
        if d["pair"] is not None and d["pair"].test is not None:
            c = pair_cells(d["pair"], WORDS, digits=5)
            text += (f"; students minus teacher distance {c['diff']} ({c['test']}, p "
                     f"{c['p']}, Holm p {c['p_adj']} over {len(datasets)} input "
                     "distributions)")
        claims.append(text)
    table = markdown_table(table_rows, [
        ("dataset", "inputs"), ("epoch", "epochs"), ("students", "student vs student"),
        ("teacher", "student vs teacher"), ("first_ratio", "ratio after epoch 1"),
        ("ratio", "final ratio"),
    ])
    return Section(
        title="Assumption 1: the best approximator is essentially unique",
        claim="Paper: two students fit to the same teacher converge to essentially the same "
              "function. Students with independent errors would be twice as far from each "
              "other as from the teacher (ratio 2), identical ones 0 apart; we call it held "
              "when the students end closer to each other than to the teacher beyond noise "
              "(paired t-test over seeds of the two final distances, Holm over the input "
              "distributions). Here " + "; ".join(claims) + ".",
        figures=[str(figure.relative_to(outdir))],
        tables=[table],
        notes=[verdict.rules_note("paired", "holm", "seeds", "diverged")],
    )


def report(records: list[dict[str, Any]], outdir: Path) -> Section:
    """Both distances against epoch per input distribution; the final ratio per input."""
    return render(summarize(records), records, outdir)


EXPERIMENT = Experiment(
    name=NAME,
    description="two normalized-init students of one random conv teacher: distance between "
                "them and to the teacher, per epoch",
    full=FULL,
    quick=QUICK,
    datasets=("uniform", "mnist", "fashion-mnist", "cifar10"),
    units=lambda c: [unit(s, dataset=d) for s in range(1, c.seeds + 1) for d in c.datasets],
    run=run,
    grid_fields=("datasets", "seeds"),
    report=report,
    row_fields=ROW_FIELDS,
)
