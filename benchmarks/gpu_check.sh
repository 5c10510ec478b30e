#!/usr/bin/env bash
# bash benchmarks/gpu_check.sh DATA_DIR OUT_DIR
#
# The GPU check of docs/performance.md, one script: the accelerations checked against
# separate runs on the GPU, the full MNIST rotation-depth sweep (both methods, depths
# 2..9, 10 seeds, 10 epochs) timed end to end with seed ensembles and CUDA graphs, and
# the throughput of the reference-style pipeline (PIL + DataLoader workers) against
# hypermod's, on the same machine. Runs from the repository root without installing.
set -uo pipefail
data=${1:?data directory holding mnist/}
out=${2:?output directory}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
hm() { python3 -c 'import sys; from hypermod.cli import main; sys.exit(main(sys.argv[1:]))' "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
            torch.cuda.get_device_name(), "cpus", __import__("os").cpu_count())'

echo "== 1. accelerations against separate runs (2 epochs, 3 seeds, MNIST subset)"
timeout 100 python3 benchmarks/gpu_equivalence.py --data-dir "$data" --steps 150

echo "== 2. full sweep: rotation-depth, MNIST, 2 methods x 8 depths x 10 seeds x 10 epochs"
sweep=/tmp/gpu-sweep
rm -rf "$sweep"
start=$(date +%s.%N)
timeout 300 bash -c "$(declare -f hm); hm sweep rotation-depth --full --dataset mnist \
    --seeds 10 --device cuda --cuda-graphs --data-dir '$data' --out '$sweep' --no-progress"
status=$?
end=$(date +%s.%N)
echo "sweep exit status $status, wall seconds $(python3 -c "print(round($end - $start, 1))")"
if [ $status -ne 0 ]; then  # resumable: finish what is left without CUDA graphs
  timeout 150 bash -c "$(declare -f hm); hm sweep rotation-depth --full --dataset mnist \
      --seeds 10 --device cuda --data-dir '$data' --out '$sweep' --no-progress"
  echo "eager rerun exit status $?, total wall seconds $(python3 -c "import time; print(round(time.time() - $start, 1))")"
fi
hm report "$sweep" > "$out/report.log" 2>&1 || echo "report failed, see report.log"
tar czf "$out/gpu-sweep.tgz" -C "$sweep" . && ls -la "$out"

echo "== 3. throughput: reference-style pipeline with 8 and 16 workers, single runs, ensembles"
for workers in 8 16; do
  timeout 70 python3 benchmarks/sweep_throughput.py --data-dir "$data" --device cuda \
      --seeds 10 --steps 300 --ref-steps 300 --workers $workers --cuda-graphs --depths 4
done
timeout 60 python3 benchmarks/sweep_throughput.py --data-dir "$data" --device cuda \
    --seeds 10 --steps 300 --workers 16 --depths 4 --modes
