#!/usr/bin/env bash
# bash benchmarks/rotation_depth_tuned_gpu.sh [OUT]   (on a machine with a GPU; not run yet)
#
# The unscaled version of docs/results/rotation-depth-tuned: rotation-depth at each
# method's own learning rate, chosen on a validation part (10% of the training images),
# on the full training set, encoder depths 2..9, 5 seeds, plain SGD with early stopping
# (patience 10) and a cap of 100 epochs, on MNIST and on CIFAR-10 where its files are
# found (`hypermod data fetch cifar10` on a machine with internet). Each grid point trains
# its seeds x learning rates as one ensemble. The committed CPU run is scaled down from
# this (10,000 training images, depths 2, 4, 9, 3 seeds, cap 30 epochs).
set -euo pipefail
out="${1:-runs/rotation-depth-tuned-gpu}"
datasets=mnist
if python -c "import sys; from hypermod.experiments.registry import is_available; sys.exit(0 if is_available('cifar10') else 1)"; then
    datasets=mnist,cifar10
fi
hypermod sweep rotation-depth --full --device cuda --seeds 5 --out "$out" \
    --set datasets="$datasets" --set train.epochs=100 --set val_fraction=0.1 \
    --set tune_lr=0.003,0.01,0.03,0.1 --set train.patience=10
hypermod report "$out"
