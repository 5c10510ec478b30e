#!/usr/bin/env bash
# bash benchmarks/modularity_scaling_gpu.sh [OUT]   (on a machine with a GPU; not run yet)
#
# docs/results/modularity-scaling with 10 seeds instead of 3, every seed's points
# diagnosed: the experiment's full settings otherwise (every run choosing its encoder from
# widths 64 and 128 by validation error, cutting the learning rate after 15 passes
# without a 0.1% gain). The committed CPU run (3 seeds, 63 min of wall time on 2 cores,
# 2026-12-07) has t-intervals with 2 degrees of freedom; with 10 seeds they have 9 and
# the probes' paired tests 9 as well. Its networks are small, so eight runs share the card
# (and one CPU each).
set -euo pipefail
out="${1:-runs/modularity-scaling-gpu}"
hypermod sweep modularity-scaling --full --device cuda --out "$out" \
    --executor ray --cpus-per-task 1 --gpus-per-task 0.125 \
    --seeds 10 --set probe_seeds=10
hypermod report "$out"
