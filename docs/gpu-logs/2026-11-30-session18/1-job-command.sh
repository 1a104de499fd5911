#!/usr/bin/env bash
# session 18, call 1 on nvidia-h200-x2, cold, at main's HEAD (carry .jobs .whl .bundle
# .device-cache/triton-cache.txz)
#   GPU 0: LaunchConfig.o_through_shared (+os) on head dim 256's two warp-specialized rows
#          (windowed; short extends, n_ctx 1024-2048), against `default`, each config checked
#          against the reference first, then timed in turns (tools.sweep_blocks). It spills 24
#          bytes there; at head dim 128 spills did not stop it winning (step 24). Predicted:
#          1.00-1.04x (32-key tiles: the store is a smaller share of an item's time than at 128)
#   GPU 1: where head dim 64's long row (8192, no window: 0.957x FlashInfer at step 24) spends
#          its time, per instruction: ncu's source counters on `default`, as session 16 read
#          the windowed D=128 row (tools.ncu_source over tools.sass_loops' ranges)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
K256=m128n32w8s4:heads+pf+ws+pe+pg+op
{
    mkdir -p $root/sweep
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 150 python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --baseline default --head-dim 256 \
        --n-ctx 8192,2048 --windows 127,512 --configs default,$K256+os > $root/sweep/d256-windowed.log 2>&1
    echo "gpu0 d256-windowed: rc $? after ${SECONDS}s"
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 120 python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --baseline default --head-dim 256 \
        --n-ctx 2048,1024 --windows=-1 --configs default,$K256+os > $root/sweep/d256-short.log 2>&1
    echo "gpu0 d256-short: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/ncu
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout 400 ncu \
        --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats -o $root/ncu/prof \
        python3 -m tools.ncu_point --impls default --head-dim 64 --n-ctx 8192 --windows=-1 \
        > $root/ncu/ncu-run.txt 2>&1
    echo "gpu1 ncu: rc $? after ${SECONDS}s"
    ncu -i $root/ncu/prof.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/source-sass.csv.gz
    ncu -i $root/ncu/prof.ncu-rep --page details > $root/ncu/ncu-details.txt 2>&1
    rm -f $root/ncu/prof.ncu-rep
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 20; done
tar -czf $root/s18-1.tgz -C $root --remove-files sweep ncu logs
