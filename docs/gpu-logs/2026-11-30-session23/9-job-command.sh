#!/usr/bin/env bash
# session 23, call 10 on nvidia-h200-x2, cold, at 2e8f009 (carry .jobs)
#   tools.sweep_blocks' row:SHAPE on the GPU for the first time: every row of the sm_90 table
#   at every PR-matrix point of n_ctx 8192 and 4096, against the windowed row. Steps 30 and 31
#   came from rows never measured at each other's points; this is the check for the rest.
#   GPU 0: head dim 128 (two rows: windowed, and short = long); GPU 1: head dim 64 (three rows)
#   Predicted: at each point the row `default` takes there within 2% of the best row, but for
#   head dim 64's short row at W512, 0.97-1.03x the windowed row (step 18: within 1-3%)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/sweep
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --baseline row:windowed --compile-workers 14 --n-ctx 8192,4096 \
        --windows=-1,127,256,512 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
sweep 0 rows-d128 200 --head-dim 128 --configs row:long > $root/gpu0.log 2>&1 &
sweep 1 rows-d64 200 --head-dim 64 --configs row:short,row:long > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | grep -v "^NVIDIA\|^compile-ahead\|^|---\|^| config" ; done
tar -czf $root/s23-9.tgz -C $root --remove-files sweep gpu0.log gpu1.log
