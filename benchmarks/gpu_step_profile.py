"""python benchmarks/gpu_step_profile.py --data-dir DIR [--seeds 10] [--steps 300]

Where the time of one ensemble training step goes on a GPU with CUDA graphs: the whole
loop body as `fit_ensemble` runs it, the graph replay alone (the GPU's share), and the
per-member random draws alone (host work outside the graph), in microseconds per step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hypermod.data import load_dataset
from hypermod.models import Ensemble, Sizes, build_model, paper
from hypermod.tasks import RotationTask
from hypermod.training import Accel, TrainConfig, make_optimizer
from hypermod.training.step import Stepper


def per_step(fn, steps: int) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        fn(i)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    device = torch.device("cuda")
    task = RotationTask(load_dataset("mnist", args.data_dir), device=device)
    seeds = list(range(1, args.seeds + 1))
    for method in ("hyper", "embedding"):
        profile(method, task, seeds, args.steps)


def profile(method: str, task: RotationTask, seeds: list[int], steps: int) -> None:
    device = task.device
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(build_model(paper(method, 4), Sizes(784, 784, 12)))
    model = Ensemble(members).to(device)
    optimizer = make_optimizer(TrainConfig(), model.parameters())
    stepper = Stepper(model, task, optimizer, Accel(cuda_graphs=True), device, stacked=True)
    gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    orders = torch.stack([torch.randperm(task.num_train, generator=g, device=device)
                          for g in gens])

    def draws(i: int) -> torch.Tensor:
        return torch.stack([task.train_noise(64, g) for g in gens])

    def body(i: int) -> None:
        stepper(orders[:, (i % 900) * 64 : (i % 900 + 1) * 64], draws(i), full=True)

    for i in range(10):  # warm-up steps and the capture
        body(i)
    whole = per_step(body, steps)
    replay = per_step(lambda i: stepper.graph.replay(), steps)
    draw = per_step(draws, steps)
    print(f"{method:<10} {len(seeds)} seeds: whole step {whole:.0f} us, graph replay alone "
          f"{replay:.0f} us, random draws alone {draw:.0f} us; "
          f"{64 * len(seeds) / whole * 1e6:.0f} samples/s")


if __name__ == "__main__":
    main()
