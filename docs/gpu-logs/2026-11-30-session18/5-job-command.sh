#!/usr/bin/env bash
# session 18, call 5 on nvidia-h200-x2 (cold), at step 25 (c87d28a; carry .jobs .whl .bundle
# .device-cache/triton-cache.txz)
#   The long rows' softmax overlapping P.V (overlap_pv, +op) again, now that the rows copy extend
#   tiles by TMA and write O through the Q buffer: ncu at head dim 128's long row (call 4) puts
#   the consumers' wait for their own MMAs (WARPGROUP.DEPBAR) at 24% of the tile loop's samples;
#   step 12 measured +op 4% slower there, before steps 16-25. Each row also without the knob (its
#   control: the sweep's spec of the row, which `default` may differ from in cache modifiers).
#   Predicted: 0.96-1.04x over the control, no better guess than step 12's sign.
#   GPU 0: head dim 128 long (8192, 4096), +op and +di; GPU 1: head dim 64 long (8192, 4096), +op
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
D128=m128n128w8s3:heads+ws+pe+pg
D64=m128n128w8s4:heads+ws+pe+pg+pq
sweep 0 d128-long 200 --head-dim 128 --n-ctx 8192,4096 --windows=-1 \
    --configs default,$D128+tm+os,$D128+op+tm+os,$D128+di+tm+os > $root/gpu0.log 2>&1 &
sweep 1 d64-long 200 --head-dim 64 --n-ctx 8192,4096 --windows=-1 \
    --configs default,$D64+tm+os,$D64+op+tm+os > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 2 $root/logs/*.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 14; done
tar -czf $root/s18-5.tgz -C $root --remove-files sweep logs
