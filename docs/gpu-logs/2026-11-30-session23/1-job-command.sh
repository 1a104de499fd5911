#!/usr/bin/env bash
# session 23, call 1 on nvidia-h200-x2 (cold), at main 35bc1e1 (carry .jobs)
#   Head dim 128's short row (three consumer warpgroups, 64-key tiles, m192n64w12s3, items
#   from the counter) at the long row's points, never measured there: at 2048 it measured
#   1.08x over m128n64 while the long row's tiles measured 0.97x (step 19), so about 1.11x the
#   long row's config there. Variants: without the counter, four stages, one key stream,
#   softmax over P.V.
#   Predicted: m192n64 0.93-1.03x `default` at 8192/none, 0.97-1.05x at 4096/none
#   GPU 0 and GPU 1: the same sweep, configs in opposite orders, one round each.
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/sweep
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --compile-workers 14 --windows=-1 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
S=m192n64w12s3:heads
K=ws+pe+pg+pq+di+tm+os
c="default,$S+$K,$S+${K/di+/},m192n64w12s4:heads+$K,$S+$K+ks,$S+${K/di+/op+di+}"
rev() { echo "$1" | tr , '\n' | tac | paste -sd, ; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
sweep 0 d128-long-m192-a 280 --head-dim 128 --n-ctx 8192,4096 --configs "$c" > $root/gpu0.log 2>&1 &
sweep 1 d128-long-m192-b 280 --head-dim 128 --n-ctx 8192,4096 --configs "$(rev $c)" > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 22; done
tar -czf $root/s23-1.tgz -C $root --remove-files sweep gpu0.log gpu1.log
