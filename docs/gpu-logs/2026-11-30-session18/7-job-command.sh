#!/usr/bin/env bash
# session 18, call 7 on nvidia-h200-x2 (cold), at d8e1d66 (step 25's kernel; carry .jobs .whl
# .bundle .device-cache/triton-cache.txz). Block shapes the rows have not been measured in since
# the output went through the Q buffer (steps 23-25), each config checked against the reference
# first, then timed in turns with `default` (tools.sweep_blocks). For the record: adopting one
# needs more device time than this session has left.
#   GPU 0: head dim 128's windowed row (8192/W127 is issue 16's target: 7% short): 32-key tiles
#          (session 15, before step 23: at most 1.04x at 8192), with 4 and 6 stages, and 64-key
#          tiles with 5 stages. Predicted: 0.97-1.05x at W127, less at W512
#   GPU 1: head dim 64's long row (1-5% short of FlashInfer) with 5 and 6 stages instead of 4.
#          Predicted: 0.99-1.02x (the row is bound by exp2 and the MMAs, not by its copies)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
sweep() {  # GPU NAME TIMEOUT ARGS...: one sweep against `default`
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --baseline default "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/sweep
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
K=heads+ws+pe+pg+pq+op+tm+os
sweep 0 d128-windowed 200 --head-dim 128 --n-ctx 8192,2048 --windows 127,512 \
    --configs default,m128n32w8s4:$K,m128n32w8s6:$K,m128n64w8s5:$K > $root/gpu0.log 2>&1 &
sweep 1 d64-long 200 --head-dim 64 --n-ctx 8192,4096 --windows=-1 \
    --configs default,m128n128w8s5:heads+ws+pe+pg+pq+tm+os,m128n128w8s6:heads+ws+pe+pg+pq+tm+os \
    > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 2 $root/logs/*.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 24; done
tar -czf $root/s18-7.tgz -C $root --remove-files sweep logs
