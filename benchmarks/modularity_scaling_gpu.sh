#!/usr/bin/env bash
# bash benchmarks/modularity_scaling_gpu.sh [OUT]   (on a machine with a GPU; not run yet)
#
# The unscaled version of docs/results/modularity-scaling: the experiment's full settings
# (`--full`), every run choosing its encoder from widths 64 and 128 by validation error
# and cutting the learning rate after 15 passes without a 0.1% gain. The committed CPU
# run is scaled down from this: one encoder width (64; the diagnosis's wider probe then
# trains 128, the width this envelope drops) and a patience of 10 passes, every other
# setting the same. Its networks are small, so eight runs share the card (and one CPU
# each). On 2 CPU cores the same command without --device and --gpus-per-task ran 99 of
# its 141 runs in 118 min of wall time (2026-12-07, other work sharing the cores; that
# run was not finished).
set -euo pipefail
out="${1:-runs/modularity-scaling-gpu}"
hypermod sweep modularity-scaling --full --device cuda --out "$out" \
    --executor ray --cpus-per-task 1 --gpus-per-task 0.125
hypermod report "$out"
