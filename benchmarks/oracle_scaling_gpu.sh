#!/usr/bin/env bash
# bash benchmarks/oracle_scaling_gpu.sh [OUT]   (on a machine with a GPU; not run yet)
#
# The unscaled version of docs/results/oracle-scaling: K_max = 256 instances per m2 (q
# also at 64 and 128), 512 training points per instance (128 validation, 512 test),
# widths 1..256 of g and q (N_g up to 769, N_q up to 2,817 at E = 8: over 2 decades
# each), 2,000 epochs of 16 Adam steps as the cap, 1,000 L-BFGS steps, 10 seeds; the
# structured part on 16,384 training instances with q and the MLP up to width 512 and
# 10 seeds. The committed CPU run is scaled down from this (K_max = 64, 128 points,
# widths 1..64, a cap of 400 epochs and 300 L-BFGS steps; structured: 4,096 instances,
# widths up to 256, 5 seeds).
set -euo pipefail
out="${1:-runs/oracle-scaling-gpu}"
hypermod sweep oracle-scaling --full --device cuda --out "$out" \
    --set instances=256 --set points=512,128,512 \
    --set hyper_widths=1,2,4,8,16,32,64,128,256 \
    --set embedding_widths=1,2,4,8,16,32,64,128,256 \
    --set train.epochs=2000 --set polish_steps=1000 \
    --set structured.train_instances=16384 --set structured.embedding_widths=16,64,256,512 \
    --set structured.mlp_widths=16,32,64,128,256,512 --set structured.seeds=10
hypermod report "$out"
