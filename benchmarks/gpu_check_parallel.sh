#!/usr/bin/env bash
# bash benchmarks/gpu_check_parallel.sh DATA_DIR OUT_DIR [PROCESSES]
#
# The full MNIST rotation-depth sweep of gpu_check.sh, split by depth over PROCESSES
# (default 4) concurrent sweep processes sharing one GPU and one output directory, timed
# end to end; and a profile of one ensemble step (graph replay against host work).
set -uo pipefail
data=${1:?data directory holding mnist/}
out=${2:?output directory}
procs=${3:-4}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
hm() { python3 -c 'import sys; from hypermod.cli import main; sys.exit(main(sys.argv[1:]))' "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "== step profile"
timeout 90 python3 benchmarks/gpu_step_profile.py --data-dir "$data"

echo "== full sweep in $procs processes"
case $procs in
  2) groups=("2,9,4,7" "3,8,5,6") ;;
  4) groups=("2,9" "3,8" "4,7" "5,6") ;;
  *) echo "PROCESSES must be 2 or 4"; exit 2 ;;
esac
sweep=/tmp/gpu-sweep-par
rm -rf "$sweep"
start=$(date +%s.%N)
pids=()
for g in "${groups[@]}"; do
  timeout 300 bash -c "$(declare -f hm); hm sweep rotation-depth --full --dataset mnist \
      --seeds 10 --device cuda --cuda-graphs --data-dir '$data' --out '$sweep' \
      --no-progress --set depths=$g" > "$out/sweep-$g.log" 2>&1 &
  pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
end=$(date +%s.%N)
echo "$procs processes, $fails failed; wall seconds $(python3 -c "print(round($end - $start, 1))")"
echo "unit files: $(ls "$sweep"/rotation-depth/runs | wc -l)"
tail -n 2 "$out"/sweep-*.log
tar czf "$out/gpu-sweep-par.tgz" -C "$sweep" .
