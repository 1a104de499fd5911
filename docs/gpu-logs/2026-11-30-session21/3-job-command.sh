#!/usr/bin/env bash
# session 21, call 3 on nvidia-h200-x2 (cold), from a checkout of exp/one-key-stream (2b81cd3;
# carry .jobs .bundle)
#   Call 2 (ce44a76, one key stream everywhere): head dim 64 1.01-1.06x, head dim 128 W512
#   1.04-1.07x, W127 0.99-1.00x, head dim 128 without a window 0.94-0.98x, head dim 256
#   0.99-1.01x. Guess for the last: the boundary tile moves the extend's first rows from TMA to
#   the producer's cp.async, about half a tile more row copies an item, where head dim 128's
#   producer (twice head dim 64's bytes a row) binds. 2b81cd3 makes the layout a knob
#   (LaunchConfig.one_key_stream, +ks in a sweep spec): on for head dim 64's rows and the
#   windowed rows of 64 and 128; head dim 128's short and long rows and head dim 256 on two
#   streams in the new code (D=128 long: stack 0 bytes, step 27 56).
#   GPU 0: the A/B at head dim 128 against 8b50aa3; a sweep at head dim 128 without a window,
#   the long and short rows with +ks against `default` (which runs them without); then the
#   Gluon random-shapes shard of the GPU tests
#   GPU 1: the A/B at head dims 64 and 256, then the other shard
#   Predicted: D=128 without a window 0.99-1.01x of 8b50aa3 (two streams again), +ks 0.94-0.98x
#   of `default` there if the layout is the cause; D=128 W512 1.03-1.07x, W127 0.99-1.01x;
#   D=64 as call 2; D=256 0.99-1.01x
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
    ab 0 d128 200 --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows=-1,127,512
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 150 python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --head-dim 128 --n-ctx 8192,2048 --windows=-1 \
        --configs default,m128n128w8s3:heads+ws+pe+pg+tm+os+ks,m192n64w12s3:heads+ws+pe+pg+pq+di+tm+os+ks \
        > $root/ab/sweep-d128-ks.log 2>&1
    echo "gpu0 sweep: rc $? after ${SECONDS}s"
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
tar -czf $root/s21-3.tgz -C $root --remove-files ab tests0 tests1 logs
