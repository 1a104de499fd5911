#!/usr/bin/env bash
# session 18, call 10 on nvidia-h200-x2 (cold), from a checkout of exp/lane-sums (c18e512; carry
# .jobs .whl .bundle .device-cache/triton-cache.txz)
#   Each row's running sum kept split by lane until the item's end (FlashAttention-3's way),
#   A/B against step 25 (c87d28a) in one process, taking turns (tools.ab_kernels; each version
#   checked against the reference at every point first). For the record: adopting it needs more
#   device time than this session has left. Predicted: head dim 64 long 1.00-1.02x, elsewhere
#   1.00-1.01x
#   GPU 0: head dim 64; GPU 1: head dims 128 and 256
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
ab() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old c87d28a --new c18e512 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
ab 0 d64 200 --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512 > $root/gpu0.log 2>&1 &
{
    ab 1 d128 150 --head-dim 128 --n-ctx 8192,2048 --windows=-1,127,512
    ab 1 d256 80 --head-dim 256 --n-ctx 1024,8192 --windows=-1,512
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 10; done
tar -czf $root/s18-10.tgz -C $root --remove-files ab logs
