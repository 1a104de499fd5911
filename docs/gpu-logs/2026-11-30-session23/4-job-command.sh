#!/usr/bin/env bash
# session 23, call 4 on nvidia-h200-x2, at main 35bc1e1 (carry .jobs)
#   Call 3: head dim 256's persistent row (m128n32w8s4, the short and windowed rows) with
#   items from the counter measured 1.03x and 1.03x at 4096/none, 1.05x and 1.05x at 1024/none.
#   Here: the same knob at head dim 256's windowed points (the counter measured 1-7% slower
#   with a window at head dim 128, step 15) and at 8192/none, where the `tl` long row runs.
#   Predicted: with a window 0.95-1.01x; at 8192/none the persistent row + counter 0.95-1.05x
#   of the `tl` row.
#   GPU 0 and GPU 1: the same sweeps, configs in opposite orders, one round each.
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/sweep
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --compile-workers 14 --head-dim 256 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
K256=heads+pf+ws+pe+pg+op+os
d256="default,m128n32w8s4:$K256,m128n32w8s4:${K256/op/op+di}"
rev() { echo "$1" | tr , '\n' | tac | paste -sd, ; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    sweep 0 d256-win-a 150 --n-ctx 8192,4096,1024 --windows 127,256,512 --configs "$d256"
    sweep 0 d256-long-a 100 --n-ctx 8192 --windows=-1 --configs "$d256"
} > $root/gpu0.log 2>&1 &
{
    sweep 1 d256-win-b 150 --n-ctx 8192,4096,1024 --windows 127,256,512 --configs "$(rev $d256)"
    sweep 1 d256-long-b 100 --n-ctx 8192 --windows=-1 --configs "$(rev $d256)"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | grep -v "^NVIDIA\|^compile-ahead\|^|---\|^| config" ; done
tar -czf $root/s23-4.tgz -C $root --remove-files sweep gpu0.log gpu1.log
