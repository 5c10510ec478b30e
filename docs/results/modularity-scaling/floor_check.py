"""Does the flat g curve at m1 = 1, m2 = 3 move under more than the 2x probes?

    python docs/results/modularity-scaling/floor_check.py 4 64 > floor_check.txt

The full run called every point of that curve primary-limited: an encoder twice as wide,
twice the budget or twice the data, one at a time, moved none by 10%. This trains seed 1
of the given widths again with the encoder four times as wide (256) at a lower learning
rate (0.003, where the run's 0.01 trained wide encoders worse), with four times the
training instances, and with both; the validation and test sets are those of the run.
"""

import sys
import time

import torch

from hypermod.experiments.modularity_scaling.regression import (
    RegressionConfig,
    fit_regression,
    mse,
    scaling_model,
)
from hypermod.tasks.synthetic import make_target, splits

SEED = 1
CASES = ((64, 1e-2, 4096), (256, 3e-3, 4096), (64, 1e-2, 16384), (256, 3e-3, 16384))


def main(widths: list[int]) -> None:
    torch.set_num_threads(1)
    target = make_target("smooth", 1, 3, 0, r=1.0, delta=0.1)
    # as experiment._data draws them: evaluation sets apart from the training set
    val, test = splits(target, 1000 + SEED + 500_000, ((256, 16), (1024, 16)))
    for width in widths:
        for encoder, lr, instances in CASES:
            train = splits(target, 1000 + SEED, ((instances, 16),))[0]
            torch.manual_seed(SEED)
            model = scaling_model("hyper", 1, 3, width, encoder_width=encoder)
            start = time.perf_counter()
            result = fit_regression(model, train, val, RegressionConfig(
                lr=lr, batch_instances=256, max_steps=8000, patience=10, decays=3,
                seed=SEED))
            print(f"width {width} encoder {encoder} lr {lr:g} train instances {instances}: "
                  f"test RMSE {mse(model, test) ** 0.5:.4f}, train RMSE "
                  f"{result['train_mse'] ** 0.5:.4f}, stopped by {result['stop']} after "
                  f"{result['steps']} steps, {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main([int(w) for w in sys.argv[1:]] or [4, 64])
