#!/usr/bin/env bash
# session 21, call 1 on nvidia-h200-x2 (cold), from a checkout of exp/one-key-stream (fa16376;
# carry .jobs .bundle)
#   One key stream per item: the item's keys are positions, the prefix's then the extend's, in
#   tiles from the first key it sees; the tile at the prefix's end holds both kinds of key
#   (each row's tensor picked by the producer), so an item pays for one partial tile (the
#   diagonal) instead of two (the prefix's last and the diagonal). Counted on the PR lengths:
#   1.5% fewer tiles at 8192/none (128-key tiles), 2.7% at 4096, 6% at 2048 and 1024 (64-key,
#   three consumers: 1024 6.3%, 2048 3.2%), windows 0-3.5% (1024 W512 3.5%, 8192 0%).
#   Masked arms spill more (D=128 long: stack 56 -> 88 bytes, 17 STL/LDL pairs in consumer 0's
#   masked arm), but an item now runs one masked tile instead of two.
#   A/B against 8b50aa3 (step 27) in one process, taking turns, each version checked against
#   the reference at every point first.
#   Predicted: D=128 8192/none 1.005-1.015x, 2048/none 1.02-1.05x, 1024/none 1.02-1.05x,
#   W127 and 8192 windows 0.99-1.01x, 1024/2048 W512 1.00-1.03x; D=64 8192/none 1.005-1.015x,
#   4096/none 1.00-1.02x, 1024/none 1.02-1.05x; D=256 1024/none 1.00-1.02x, windows 0.99-1.01x
#   GPU 0: the A/B at head dim 128, then the Gluon random-shapes shard of the GPU tests
#   GPU 1: the A/B at head dims 64 and 256, then the other shard
set -u
export PYTHONUNBUFFERED=1
root=$OUT
ab() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old 8b50aa3 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab $root/tests0 $root/tests1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    ab 0 d128 200 --head-dim 128 --n-ctx 8192,2048,1024 --windows=-1,127,512
    OUT=$root/tests0 GPU_JOB_GPU=0 GPU_TEST_WORKERS=14 timeout $((530 - SECONDS)) bash ci/gpu_job.sh tests \
        -k gluon_kernels_random_shapes
    echo "gpu0 tests: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    ab 1 d64 90 --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512
    ab 1 d256 90 --head-dim 256 --n-ctx 8192,1024 --windows=-1,512
    OUT=$root/tests1 GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout $((530 - SECONDS)) bash ci/gpu_job.sh tests \
        -k "not gluon_kernels_random_shapes"
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log; tail -n 3 $root/tests*/gpu_tests.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 14; done
tar -czf $root/s21-1.tgz -C $root --remove-files ab tests0 tests1 logs
