"""python benchmarks/tuning_ensemble.py [--data-dir ../shared/data] [--epochs 2] [--mnist]

What tuning costs: 4 learning rates x 3 seeds of one configuration trained as one
12-member ensemble (each member its own learning rate, `MemberOptimizer`), against the
same 12 runs trained one after another, same epochs and data, in one process. Cases are
the small models where a CPU sweep spends its time: rotation prediction on the bundled
digits (the paper's hypernetwork and embedding method at depth 2), the structured
synthetic target (hypernetwork and embedding method, the zoo's 20,000-parameter budget),
and with --mnist rotation on MNIST at the paper's depth 4 (larger, slower). Prints each
way's training samples/s (every member's samples counted) and their ratio; figures, not
assertions: rerun to see the noise. Use `--threads 1` to time what one sweep worker gets.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from hypermod.data import load_dataset
from hypermod.models import Ensemble, Sizes, build_model, configure, paper
from hypermod.models.budget import match_budget
from hypermod.tasks import RegressionTask, RotationConfig, RotationTask, make_target, splits
from hypermod.training import TrainConfig, train

LRS = (3e-4, 1e-3, 3e-3, 1e-2)
SEEDS = (1, 2, 3)


def rotation_case(dataset, method, depth, limit_train):
    task = RotationTask(dataset, RotationConfig(val_fraction=0.1), "cpu",
                        limit_train=limit_train, limit_test=500)
    sizes = Sizes(task.input_dim, task.input_dim, task.num_outputs)
    return task, sizes, paper(method, depth, "relu", None)


def structured_case(method):
    target = make_target("structured", 2, 4, seed=0)
    train_set, val_set, test_set = splits(target, 1001, ((512, 16), (128, 16), (256, 16)))
    task = RegressionTask(train_set, test_set, val_set)
    sizes = Sizes(4, 2, 1)
    settings = configure(method, encoder_depth=2, primary_hidden=(16,))
    return task, sizes, match_budget(settings, 20_000, sizes).config


def time_both(task, sizes, settings, base: TrainConfig):
    """(samples/s of the 12 separate runs, samples/s of the one ensemble)."""
    configs = [replace(base, lr=lr, seed=s) for lr in LRS for s in SEEDS]

    def member(seed):
        torch.manual_seed(seed)
        return build_model(settings, sizes)

    samples = task.num_train * base.epochs * len(configs)
    start = time.perf_counter()
    for c in configs:
        train(member(c.seed), task, c, progress=False)
    separate = samples / (time.perf_counter() - start)
    model = Ensemble([member(c.seed) for c in configs])
    start = time.perf_counter()
    train(model, task, configs, progress=False)
    together = samples / (time.perf_counter() - start)
    return separate, together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--mnist", action="store_true", help="also MNIST at depth 4")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(LRS)} lrs x "
          f"{len(SEEDS)} seeds = {len(LRS) * len(SEEDS)} members, {args.epochs} epochs")
    digits = load_dataset("digits")
    cases = [
        ("digits rotation, hyper, depth 2", *rotation_case(digits, "hyper", 2, None),
         TrainConfig(epochs=args.epochs, optimizer="sgd")),
        ("digits rotation, embedding, depth 2", *rotation_case(digits, "embedding", 2, None),
         TrainConfig(epochs=args.epochs, optimizer="sgd")),
        ("structured target, hyper, 20k", *structured_case("hyper"),
         TrainConfig(epochs=args.epochs, optimizer="adam")),
        ("structured target, embedding, 20k", *structured_case("embedding"),
         TrainConfig(epochs=args.epochs, optimizer="adam")),
    ]
    if args.mnist:
        mnist = load_dataset("mnist", args.data_dir)
        cases.append(("mnist rotation, hyper, depth 4 (10k images)",
                      *rotation_case(mnist, "hyper", 4, 10_000),
                      TrainConfig(epochs=1, optimizer="sgd")))
        cases.append(("mnist rotation, embedding, depth 4 (10k images)",
                      *rotation_case(mnist, "embedding", 4, 10_000),
                      TrainConfig(epochs=1, optimizer="sgd")))
    print(f"{'case':<48} {'separate':>10} {'ensemble':>10} {'ratio':>6}")
    for name, task, sizes, settings, base in cases:
        separate, together = time_both(task, sizes, settings, base)
        print(f"{name:<48} {separate:>10,.0f} {together:>10,.0f} {together / separate:>5.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
