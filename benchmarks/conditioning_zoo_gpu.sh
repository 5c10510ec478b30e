#!/usr/bin/env bash
# bash benchmarks/conditioning_zoo_gpu.sh [OUT]   (on a machine with a GPU; not run yet)
#
# The unscaled version of docs/results/conditioning-zoo: every MNIST training image
# (60,000, a tenth held out for validation) and the whole test set, the earlier run's
# budgets (20,000, 80,000 and 320,000 trainable parameters), the structured target on
# 4,096 training instances, a cap of 50 epochs with patience 5 and two learning-rate cuts,
# 5 learning rates and 5 seeds, and the init ablation at every budget. The committed CPU
# run is scaled down from this: 2,000 images (1,000 test), budgets a quarter as large
# (5,000 to 80,000), 1,024 structured instances, a 10-epoch cap with patience 2 and one
# cut, 4 learning rates, the ablation at 20,000 only.
set -euo pipefail
out="${1:-runs/conditioning-zoo-gpu}"
hypermod sweep conditioning-zoo --full --device cuda --out "$out" \
    --set limit_train=none --set limit_test=none \
    --set budgets=20000,80000,320000 --set ablation_budgets= \
    --set train_instances=4096 --set test_instances=1024 --set val_instances=512 \
    --set train.epochs=50 --set train.patience=5 --set train.cuts=2 \
    --set tune_lr=1e-4,3e-4,1e-3,3e-3,1e-2
hypermod report "$out"
