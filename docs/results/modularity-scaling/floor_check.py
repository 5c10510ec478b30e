"""Does the flat g curve at m1 = 1, m2 = 3 move under more than the 2x probes?

    python docs/results/modularity-scaling/floor_check.py 4 64 > floor_check.txt

The committed run's 2x probes (an encoder twice as wide, twice the budget or twice the
data, one at a time) test each point one factor at a time. This trains seed 1 of the
given widths again, through the experiment's own `PointTrainer` at the committed run's
settings (`RUN`, checked against its sweep.json), with the encoder four times as wide
(256) at a lower learning rate (0.003, where the run's 0.01 trained wide encoders
worse), with four times the training instances, and with both; the validation and test
sets are those of the run, and the first line of each width is the run's own training.
"""

import sys
from dataclasses import replace
from pathlib import Path

import torch

from hypermod.experiments.modularity_scaling.experiment import FULL, PointTrainer
from hypermod.sweep.spec import config_record, moved_settings, settings_differ
from hypermod.sweep.store import read_settings

# The committed run's settings: the experiment's full ones.
RUN = FULL
SWEEP = Path(__file__).parent / "modularity-scaling" / "sweep.json"
SEED = 1
CASES = ((64, 1e-2, 4096), (256, 3e-3, 4096), (64, 1e-2, 16384), (256, 3e-3, 16384))


def main(widths: list[int]) -> None:
    recorded = read_settings(SWEEP)
    differ = settings_differ(recorded, config_record(RUN), moved=moved_settings(RUN))
    if differ:
        raise SystemExit(f"RUN differs from {SWEEP} in {', '.join(differ)}")
    torch.set_num_threads(1)
    for width in widths:
        point = {"target": "smooth", "m1": 1, "m2": 3, "method": "hyper", "width": width}
        for encoder, lr, instances in CASES:
            config = replace(RUN, train=replace(RUN.train, lr=lr), train_instances=instances)
            t = PointTrainer(config, point, SEED, torch.device("cpu")).train(encoder)
            print(f"width {width} encoder {encoder} lr {lr:g} train instances {instances}: "
                  f"test RMSE {t['test_rmse']:.4f}, train RMSE {t['train_mse'] ** 0.5:.4f}, "
                  f"stopped by {t['stop']} after {t['steps']} steps, "
                  f"{t['train_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main([int(w) for w in sys.argv[1:]] or [4, 64])
