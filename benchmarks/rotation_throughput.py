"""python benchmarks/rotation_throughput.py [--data-dir ../shared/data] [--steps 150]

Training throughput of rotation prediction on MNIST at encoder depth 4, both methods:
hypermod's pipeline (uint8 images in memory, whole batches rotated with grid_sample)
against a reference-style pipeline measured in the same run (a Dataset that rotates one
PIL image per __getitem__, default DataLoader collation, as Galanti and Wolf's code feeds
its models). Same model, optimizer (SGD, lr 0.01) and batch size (64) in both; a step
counts the data pipeline, forward, backward and the optimizer step.

Then the same two data pipelines alone, without a model. Also prints the FLOPs of one
training step (counted by torch's FlopCounterMode), the GFLOP/s that achieves, the
GFLOP/s of the step's own matrix products (recorded from one step, same shapes and order)
run back to back with nothing between them, the step's share of that rate (what the rest
of the step costs: activations, the optimizer, batch building, Python), and a
large-matmul GFLOP/s measured in the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from hypermod.data import load_dataset
from hypermod.models import Sizes, build_model, paper
from hypermod.tasks import RotationTask

MEAN, STD = 0.1307, 0.3081


class ReferenceStyleRotation(Dataset):
    """One sample at a time: PIL rotation (nearest, zero fill), to tensor, normalize."""

    def __init__(self, images: np.ndarray, seed: int = 0):
        self.images = images[:, 0]  # (N, H, W) uint8
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        angle = float(self.rng.uniform(0, 360))
        img = Image.fromarray(self.images[i], mode="L")
        plain = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255)[None]
        turned = torch.from_numpy(np.asarray(img.rotate(angle), dtype=np.float32) / 255)[None]
        label = min(range(12), key=lambda k: abs(30 * k - angle))
        return (turned - MEAN) / STD, (plain - MEAN) / STD, label


def step(model, optimizer, x, instance, y):
    loss = F.cross_entropy(model(x, instance), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def time_hypermod(model, task, steps: int, warmup: int, batch: int = 64) -> float:
    """Training samples/s of hypermod's on-device pipeline."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(task.num_train, generator=gen)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        index = order[(i * batch) % (task.num_train - batch):][:batch]
        (x, instance), y = task.batch_from(index, task.train_noise(batch, gen))
        step(model, opt, x, instance, y)
    return steps * batch / (time.perf_counter() - start)


def time_reference(model, images: np.ndarray, steps: int, warmup: int, batch: int = 64) -> float:
    """Training samples/s of the reference-style pipeline (num_workers=0, as on CPU)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(ReferenceStyleRotation(images), batch_size=batch, shuffle=True)
    it = iter(loader)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x, instance, y = next(it)
        step(model, opt, x, instance, y)
    return steps * batch / (time.perf_counter() - start)


def time_pipelines(task, images: np.ndarray, batches: int = 200, batch: int = 64) -> tuple:
    """Samples/s of the data pipelines alone (no model): hypermod's and the reference-style."""
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(task.num_train, generator=gen)
    start = time.perf_counter()
    for i in range(batches):
        task.batch_from(order[i * batch : (i + 1) * batch], task.train_noise(batch, gen))
    ours = batches * batch / (time.perf_counter() - start)
    it = iter(DataLoader(ReferenceStyleRotation(images), batch_size=batch, shuffle=True))
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return ours, batches * batch / (time.perf_counter() - start)


def step_flops(model, task, batch: int = 64) -> int:
    """FLOPs of one forward + backward pass (matrix products; what FlopCounterMode counts)."""
    (x, instance), y = task.batch_from(torch.arange(batch),
                                        task.train_noise(batch, torch.Generator().manual_seed(0)))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x, instance), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


MATMULS = ("mm", "addmm", "bmm", "baddbmm")


class _RecordMatmuls(TorchDispatchMode):
    """Notes the shapes of every matrix product dispatched while active."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in MATMULS:
            self.calls.append((name, [tuple(a.shape) if isinstance(a, torch.Tensor) else a
                                      for a in args]))
        return func(*args, **(kwargs or {}))


def step_matmul_rate(model, task, flops: int, batch: int = 64, reps: int = 50) -> float:
    """GFLOP/s of the step's own matrix products (same shapes, same order) run alone,
    with nothing else between them: what the step would reach if it were all matmul."""
    (x, instance), y = task.batch_from(torch.arange(batch),
                                        task.train_noise(batch, torch.Generator().manual_seed(0)))
    with _RecordMatmuls() as recorder:
        F.cross_entropy(model(x, instance), y).backward()
    model.zero_grad(set_to_none=True)
    ops = []
    for name, shapes in recorder.calls:
        op = getattr(torch, name)
        ops.append((op, [torch.randn(s) if isinstance(s, tuple) else s for s in shapes]))
    for op, args in ops:
        op(*args)
    start = time.perf_counter()
    for _ in range(reps):
        for op, args in ops:
            op(*args)
    return flops * reps / (time.perf_counter() - start) / 1e9


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=150, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--depth", type=int, default=4)
    args = parser.parse_args()

    data = load_dataset("mnist", args.data_dir)
    task = RotationTask(data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, MNIST "
          f"{data.train_images.shape[0]} training images from {data.source}")
    print(f"{'method':<10} {'hypermod':>10} {'reference':>10} {'ratio':>6} "
          f"{'GFLOP/step':>10} {'GFLOP/s':>8} {'its matmuls alone':>17} {'share':>6}")
    for method in ("hyper", "embedding"):
        torch.manual_seed(0)
        model = build_model(paper(method, args.depth), Sizes(784, 784, 12))
        flops = step_flops(model, task)
        ours = time_hypermod(model, task, args.steps, args.warmup)
        ref = time_reference(model, data.train_images, args.steps, args.warmup)
        gflops = flops / 64 * ours / 1e9
        alone = step_matmul_rate(model, task, flops)
        print(f"{method:<10} {ours:>10.0f} {ref:>10.0f} {ours / ref:>5.1f}x "
              f"{flops / 1e9:>10.3f} {gflops:>8.1f} {alone:>17.1f} {gflops / alone:>6.0%}")
    ours, ref = time_pipelines(task, data.train_images)
    print(f"{'pipeline':<10} {ours:>10.0f} {ref:>10.0f} {ours / ref:>5.1f}x "
          f"(data pipeline alone: batches of (x, I, label), no model)")
    large = matmul_gflops()
    print(f"samples/s; GFLOP/s of the step, of the step's own matmuls (same shapes) run "
          f"alone, and the step's share of that; large matmul 2048^3 fp32 in this run: "
          f"{large:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
