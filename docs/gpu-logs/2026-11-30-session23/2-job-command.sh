#!/usr/bin/env bash
# session 23, call 2 on nvidia-h200-x2 (warm), at main 35bc1e1 (carry .jobs)
#   Call 1: head dim 128's short row (m192n64w12s3 + items from the counter) measured 1.05x
#   and 1.05x the long row at 8192/none, 1.08x and 1.08x at 4096/none; four stages 1.05x/1.07x
#   and 1.08x/1.08x. Around it, for the long row's points: stages 3-5, the consumers' register
#   split (152/56 now: 160/32, 144/80), and the rows the long row serves beside the PR matrix
#   (heads 32/8 and 32/32, fp16, the fragmented pool), and 2048/1024 (the short row's points)
#   to see whether one row serves both.
#   Predicted: s4 and s5 within 1% of s3; r160 0.97-1.01x of s4, r144 0.99-1.01x;
#   32/32 and 32/8 at 4096 1.00-1.08x; fragmented as contiguous.
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/sweep
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --baseline default --compile-workers 14 --windows=-1 --head-dim 128 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
K=heads+ws+pe+pg+pq+di+tm+os
c="default,m192n64w12s3:$K,m192n64w12s4:$K,m192n64w12s5:$K,m192n64w12s4:${K/heads/heads+r160},m192n64w12s4:${K/heads/heads+r144}"
s="default,m192n64w12s3:$K,m192n64w12s4:$K,m192n64w12s5:$K"
rev() { echo "$1" | tr , '\n' | tac | paste -sd, ; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    sweep 0 long-a 150 --pool contiguous --n-ctx 8192,4096 --configs "$c"
    sweep 0 frag-a 100 --pool fragmented --n-ctx 8192,4096 --configs "$s"
    sweep 0 short-a 100 --pool contiguous --n-ctx 2048,1024 --configs "$s"
    sweep 0 heads-a 120 --pool contiguous --n-ctx 4096 --heads 32/32 --configs "$s"
} > $root/gpu0.log 2>&1 &
{
    sweep 1 long-b 150 --pool contiguous --n-ctx 8192,4096 --configs "$(rev $c)"
    sweep 1 frag-b 100 --pool fragmented --n-ctx 8192,4096 --configs "$(rev $s)"
    sweep 1 heads-b 100 --pool contiguous --n-ctx 4096 --heads 32/8 --configs "$s"
    sweep 1 fp16-b 100 --pool contiguous --n-ctx 4096 --dtype fp16 --configs "$s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | grep -v "^NVIDIA\|^compile-ahead\|^|---" ; done
tar -czf $root/s23-2.tgz -C $root --remove-files sweep gpu0.log gpu1.log
