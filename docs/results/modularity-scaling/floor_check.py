"""Does the flat g curve at m1 = 1, m2 = 3 move under more than the 2x probes?

    python docs/results/modularity-scaling/floor_check.py 4 64 > floor_check.txt

The full run called every point of that curve primary-limited: an encoder twice as wide,
twice the budget or twice the data, one at a time, moved none by 10%. This trains seed 1
of the given widths again, through the experiment's own `PointTrainer` at its full
settings, with the encoder four times as wide (256) at a lower learning rate (0.003,
where the run's 0.01 trained wide encoders worse), with four times the training
instances, and with both; the validation and test sets are those of the run.

floor_check.txt was made at commit cb83351, when the experiment trained with its own loop
(`fit_regression`), as was the committed run; the script now trains through the one
training loop, which gives close but not identical numbers (see docs/results/README.md).
"""

import sys
from dataclasses import replace

import torch

from hypermod.experiments.modularity_scaling.experiment import FULL, PointTrainer

SEED = 1
CASES = ((64, 1e-2, 4096), (256, 3e-3, 4096), (64, 1e-2, 16384), (256, 3e-3, 16384))


def main(widths: list[int]) -> None:
    torch.set_num_threads(1)
    for width in widths:
        point = {"target": "smooth", "m1": 1, "m2": 3, "method": "hyper", "width": width}
        for encoder, lr, instances in CASES:
            config = replace(FULL, train=replace(FULL.train, lr=lr), train_instances=instances)
            t = PointTrainer(config, point, SEED, torch.device("cpu")).train(encoder)
            print(f"width {width} encoder {encoder} lr {lr:g} train instances {instances}: "
                  f"test RMSE {t['test_rmse']:.4f}, train RMSE {t['train_mse'] ** 0.5:.4f}, "
                  f"stopped by {t['stop']} after {t['steps']} steps, "
                  f"{t['train_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main([int(w) for w in sys.argv[1:]] or [4, 64])
