#!/usr/bin/env bash
# session 18, call 2 on nvidia-h200-x2 (cold), from a checkout of exp/tree-max (1ef173e; carry
# .jobs .whl .bundle .device-cache/triton-cache.txz)
#   The row maxima and sums folded four ways before the reduce (a693630: max; 1ef173e: sum too),
#   A/B against step 25 (c87d28a) in one process, taking turns (tools.ab_kernels; each version
#   checked against the reference at every point first). Predicted: head dim 64 long
#   1.00-1.04x, head dim 128 long 1.00-1.03x, elsewhere 0.99-1.02x; the sum over the max alone
#   1.00-1.02x.
#   GPU 0: head dims 64 and 256, c87d28a -> 1ef173e; then head dim 64's long row c87d28a -> a693630
#   GPU 1: head dim 128, c87d28a -> 1ef173e; then its long row c87d28a -> a693630
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
ab() {  # GPU NAME TIMEOUT OLD NEW ARGS...
    local gpu=$1 name=$2 limit=$3 old=$4 new=$5
    shift 5
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old "$old" --new "$new" --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    ab 0 d64 200 c87d28a 1ef173e --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512
    ab 0 d256 120 c87d28a 1ef173e --head-dim 256 --n-ctx 1024,8192 --windows=-1,127,512
    ab 0 d64-max-only 90 c87d28a a693630 --head-dim 64 --n-ctx 8192,4096 --windows=-1
} > $root/gpu0.log 2>&1 &
{
    ab 1 d128 300 c87d28a 1ef173e --head-dim 128 --n-ctx 8192,2048,1024 --windows=-1,127,512
    ab 1 d128-max-only 90 c87d28a a693630 --head-dim 128 --n-ctx 8192 --windows=-1
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 5 $root/logs/*.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 24; done
tar -czf $root/s18-2.tgz -C $root --remove-files ab logs
