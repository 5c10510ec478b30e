"""python benchmarks/sweep_throughput.py [--data-dir ../shared/data] [--device cpu] [--seeds 4]

Throughput of a rotation-depth sweep on MNIST, timed three ways in one run:
  reference  the reference-style pipeline: a Dataset that rotates one PIL image per
             __getitem__, DataLoader collation (with --workers processes), one model;
  single     hypermod one run at a time (`hypermod.train.fit`, batches built on the device);
  ensemble   hypermod with all seeds of a configuration as one ensemble (`fit_ensemble`).
Each configuration (method x depth) trains every seed for --steps steps of batch 64 with
plain SGD; the reference pipeline trains one seed per configuration (its samples/s does not
depend on the seed). Prints training samples/s of each way and the ratios, FLOPs per
training sample (torch's FlopCounterMode), the GFLOP/s achieved, and a large-matmul
GFLOP/s measured in the same run. Figures, not assertions: rerun to see the noise.

    --modes        also time the ensemble's "vmap" mode against "bmm"
    --cuda-graphs, --tf32, --autocast bf16, --compile   accelerations of the ensemble way
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from hypermod.data import load_dataset
from hypermod.models import Ensemble, Sizes, build_model, paper
from hypermod.tasks import RotationTask
from hypermod.training import Accel, TrainConfig, fit, resolve_device, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rotation_throughput import ReferenceStyleRotation  # noqa: E402

BATCH = 64


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_reference(method: str, depth: int, images: np.ndarray, steps: int, device,
                   workers: int) -> float:
    """Training samples/s of the reference-style pipeline feeding one model."""
    torch.manual_seed(0)
    model = build_model(paper(method, depth), Sizes(784, 784, 12)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(ReferenceStyleRotation(images), batch_size=BATCH, shuffle=True,
                        num_workers=workers, pin_memory=device.type == "cuda",
                        persistent_workers=workers > 0)
    it = iter(loader)
    warmup = 5
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        x, instance, y = (t.to(device, non_blocking=True) for t in next(it))
        loss = F.cross_entropy(model(x, instance), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return steps * BATCH / (time.perf_counter() - start)


def flops_per_sample(method: str, depth: int, task: RotationTask) -> float:
    """Forward + backward FLOPs of one training sample (matrix products)."""
    model = build_model(paper(method, depth), Sizes(784, 784, 12)).to(task.device)
    (x, instance), y = task.batch_from(torch.arange(BATCH, device=task.device), task.train_noise(
        BATCH, torch.Generator(task.device).manual_seed(0)))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x, instance), y).backward()
    return counter.get_total_flops() / BATCH


def matmul_gflops(device, n: int = 2048, reps: int = 10) -> float:
    if device.type == "cuda":
        n, reps = 8192, 20
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", default="hyper,embedding")
    parser.add_argument("--depths", default="4", help="comma-separated encoder depths")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per configuration")
    parser.add_argument("--steps", type=int, default=100, help="training steps per run")
    parser.add_argument("--ref-steps", type=int, default=None,
                        help="steps of the reference pipeline per configuration "
                             "(default: --steps)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (reference)")
    parser.add_argument("--modes", action="store_true", help="also time vmap ensembles")
    parser.add_argument("--tf32", action="store_true")
    parser.add_argument("--autocast", default="none", choices=("none", "bf16"))
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--cuda-graphs", action="store_true")
    args = parser.parse_args()

    device = resolve_device(args.device)
    accel = Accel(tf32=args.tf32, autocast=args.autocast, compile=args.compile,
                  cuda_graphs=args.cuda_graphs)
    data = load_dataset("mnist", args.data_dir)
    n_train = args.steps * BATCH
    # A small test set: the figures are about training; evaluation is once per run.
    task = RotationTask(data, device=device, limit_train=n_train, limit_test=BATCH)
    seeds = list(range(1, args.seeds + 1))
    config = TrainConfig(epochs=1, lr=0.01, batch_size=BATCH)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__} on {name}, {torch.get_num_threads()} threads; "
          f"{args.seeds} seeds x {args.steps} steps of {BATCH} per configuration; "
          f"reference with {args.workers} DataLoader workers; accel {accel}")
    header = (f"{'method':<10}{'depth':>6}{'reference':>11}{'single':>10}{'ensemble':>10}"
              f"{'ens/ref':>9}{'single/ref':>11}{'ens/single':>11}{'MFLOP/smp':>10}"
              f"{'GFLOP/s single':>15}{'GFLOP/s ens':>12}")
    rows = []
    for method in args.methods.split(","):
        for depth in (int(d) for d in args.depths.split(",")):
            ref = time_reference(method, depth, data.train_images, args.ref_steps or args.steps,
                                 device, args.workers)
            sync(device)
            start = time.perf_counter()
            for seed in seeds:
                torch.manual_seed(seed)
                model = build_model(paper(method, depth), Sizes(784, 784, 12)).to(device)
                fit(model, task, TrainConfig(epochs=1, lr=0.01, seed=seed), progress=False)
            sync(device)
            single = n_train * len(seeds) / (time.perf_counter() - start)
            speeds = {}
            for mode in ("bmm", "vmap") if args.modes else ("bmm",):
                members = []
                for seed in seeds:
                    torch.manual_seed(seed)
                    members.append(build_model(paper(method, depth), Sizes(784, 784, 12)))
                ensemble = Ensemble(members, mode).to(device)
                sync(device)
                start = time.perf_counter()
                train(ensemble, task, config, seeds, accel, progress=False)
                sync(device)
                speeds[mode] = n_train * len(seeds) / (time.perf_counter() - start)
            flops = flops_per_sample(method, depth, task)
            rows.append((method, depth, ref, single, speeds, flops))
            ens = speeds["bmm"]
            if len(rows) == 1:
                print(header)
            print(f"{method:<10}{depth:>6}{ref:>11.0f}{single:>10.0f}{ens:>10.0f}"
                  f"{ens / ref:>8.1f}x{single / ref:>10.1f}x{ens / single:>10.1f}x"
                  f"{flops / 1e6:>10.2f}{flops * single / 1e9:>15.1f}{flops * ens / 1e9:>12.1f}"
                  + (f"   vmap {speeds['vmap']:.0f} ({speeds['vmap'] / ens:.2f}x bmm)"
                     if "vmap" in speeds else ""))
    total = {k: sum(1 / r[i] for r in rows) for k, i in (("reference", 2), ("single", 3))}
    total["ensemble"] = sum(1 / r[4]["bmm"] for r in rows)
    # harmonic means: the rate of the whole sweep when every configuration trains equally long
    rate = {k: len(rows) / v for k, v in total.items()}
    print(f"sweep samples/s: reference {rate['reference']:.0f}, single {rate['single']:.0f}, "
          f"ensemble {rate['ensemble']:.0f}; ensemble/reference "
          f"{rate['ensemble'] / rate['reference']:.1f}x, single/reference "
          f"{rate['single'] / rate['reference']:.1f}x")
    print(f"large matmul fp32 in this run: {matmul_gflops(device):.1f} GFLOP/s")


if __name__ == "__main__":
    main()
