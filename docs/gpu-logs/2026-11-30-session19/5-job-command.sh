#!/usr/bin/env bash
# session 19, call 5 on nvidia-h200-x2 (cold), from a checkout of exp/stagger (carry .jobs)
#   LaunchConfig.stagger_consumers: each consumer after the first starts its first item once the
#   one before has run that item's first softmax, so that the consumers reach the item edges
#   (the first tile's scores, alone; the last P·V; the output) at different times. Call 4's
#   profile of the windowed D=128 row at 8192/W127: a consumer's two-tile loop holds 35% of
#   its samples, the item's first tile and header 46%, its last P·V and output 19%, and both
#   consumers run the same item in step. Each row's spec with +sg against `default` (the same
#   spec without it), checked against the reference first, timed in turns (tools.sweep_blocks).
#   Predicted: D=128 W127 1.00-1.08x, W256 and W512 1.00-1.05x; the long rows (8192/none,
#   many tiles an item) 0.99-1.02x
#   GPU 0: D=128's windowed row, n_ctx 8192 and 2048, W127, W256, W512
#   GPU 1: D=64's long row (8192/none), then D=128's long row (8192/none)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --compile-workers 6 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/sweep
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
sweep 0 d128-windowed-sg 260 --head-dim 128 --n-ctx 8192,2048 --windows 127,256,512 \
    --configs default,m128n64w8s4:heads+ws+pe+pg+pq+op+tm+os+sg > $root/gpu0.log 2>&1 &
{
    sweep 1 d64-long-sg 130 --head-dim 64 --n-ctx 8192 --windows=-1 \
        --configs default,m128n128w8s4:heads+ws+pe+pg+pq+tm+os+sg
    sweep 1 d128-long-sg 130 --head-dim 128 --n-ctx 8192 --windows=-1 \
        --configs default,m128n128w8s3:heads+ws+pe+pg+tm+os+sg
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
for f in $root/sweep/*.log; do echo "== $f"; grep -E "^\||×|error|Error" $f | tail -n 14; done
tar -czf $root/s19-5.tgz -C $root --remove-files sweep logs
