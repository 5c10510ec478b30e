"""python benchmarks/gpu_equivalence.py --data-dir DIR [--device cuda]

On one device: a seed ensemble trained eagerly, the same ensemble with each step
captured as a CUDA graph (and with TF32 on top), and separate runs with `fit`, all
on the same MNIST subset and seeds. Prints each member's final train loss and test error
per way and the largest differences, so that the accelerations are checked where they run.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from hypermod.data import load_dataset
from hypermod.models import Ensemble, Sizes, build_model, paper
from hypermod.tasks import RotationTask
from hypermod.training import Accel, TrainConfig, fit, resolve_device, train

SEEDS = [1, 2, 3]


def members(method: str, device) -> list[torch.nn.Module]:
    out = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        out.append(build_model(paper(method, 4), Sizes(784, 784, 12)).to(device))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200, help="steps per epoch")
    args = parser.parse_args()
    device = resolve_device(args.device)
    data = load_dataset("mnist", args.data_dir)
    # 20 images fewer than full batches, so that every epoch ends in a partial batch
    task = RotationTask(data, device=device, limit_train=args.steps * 64 - 20, limit_test=2000)
    config = TrainConfig(epochs=2, lr=0.01)
    ways = {"eager": Accel()}
    if device.type == "cuda":
        ways.update({"cuda_graphs": Accel(cuda_graphs=True),
                     "cuda_graphs+tf32": Accel(cuda_graphs=True, tf32=True),
                     "bf16": Accel(autocast="bf16")})
    for method in ("hyper", "embedding"):
        finals = {}
        for name, accel in ways.items():
            hist = train(Ensemble(members(method, device)), task, config, SEEDS, accel,
                                progress=False)
            finals[name] = [(h[-1]["train_loss"], h[-1]["test_error"]) for h in hist]
        finals["separate fit"] = [
            (h[-1]["train_loss"], h[-1]["test_error"])
            for h in (fit(m, task, replace(config, seed=s), progress=False)
                      for s, m in zip(SEEDS, members(method, device)))
        ]
        base = finals["separate fit"]
        for name, rows in finals.items():
            loss_gap = max(abs(a[0] - b[0]) / abs(b[0]) for a, b in zip(rows, base))
            err_gap = max(abs(a[1] - b[1]) for a, b in zip(rows, base))
            print(f"{method:<10} {name:<18} " + "  ".join(f"{loss:.6f}/{err:.4f}"
                                                         for loss, err in rows)
                  + f"   vs separate: rel loss gap {loss_gap:.1e}, error gap {err_gap:.4f}")


if __name__ == "__main__":
    main()
