#!/usr/bin/env bash
# session 23, call 3 on nvidia-h200-x2, at main 35bc1e1 (carry .jobs)
#   Calls 1-2: head dim 128's three-consumer row with items from the counter measured
#   1.04-1.06x the long row at 8192/none and 1.08x at 4096/none; without the counter 1.00x and
#   1.07x. Session 14 measured head dim 64's three-consumer 64-key row (no counter) within 1-3%
#   of its long row. Here: head dim 64 with the counter, at its long and short points; head
#   dim 256's persistent row (m128n32) with the counter.
#   Predicted: D=64 m192n64 + counter 1.00-1.05x at 8192/none and 4096/none, 0.98-1.02x at
#   1024 (the short row plus the counter); D=256 + counter 0.98-1.03x.
#   GPU 0 and GPU 1: the same sweeps, configs in opposite orders, one round each.
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
K=heads+ws+pe+pg+pq+tm+os+ks
KD=heads+ws+pe+pg+pq+di+tm+os+ks
d64="default,m192n64w12s3:$K,m192n64w12s3:$KD,m192n64w12s4:$KD,m192n64w12s3:${KD/+ks/},m128n128w8s4:heads+r224+ws+pe+pg+pq+di+tm+os+ks"
K256=heads+pf+ws+pe+pg+op+os
d256="default,m128n32w8s4:$K256,m128n32w8s4:${K256/op/op+di}"
rev() { echo "$1" | tr , '\n' | tac | paste -sd, ; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    sweep 0 d64-a 150 --head-dim 64 --n-ctx 8192,4096,1024 --configs "$d64"
    sweep 0 d256-a 120 --head-dim 256 --n-ctx 4096,1024 --configs "$d256"
} > $root/gpu0.log 2>&1 &
{
    sweep 1 d64-b 150 --head-dim 64 --n-ctx 8192,4096,1024 --configs "$(rev $d64)"
    sweep 1 d256-b 120 --head-dim 256 --n-ctx 4096,1024 --configs "$(rev $d256)"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | grep -v "^NVIDIA\|^compile-ahead\|^|---" ; done
tar -czf $root/s23-3.tgz -C $root --remove-files sweep gpu0.log gpu1.log
