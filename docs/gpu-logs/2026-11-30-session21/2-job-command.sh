#!/usr/bin/env bash
# session 21, call 2 on nvidia-h200-x2 (cold), from a checkout of exp/one-key-stream (ce44a76;
# carry .jobs .bundle)
#   Call 1's one key stream (fa16376) won at head dim 64 (8192/none 1.033x, 1024/none 1.063x)
#   and lost at head dim 128 (8192/none 0.963x, 2048/none 0.947x, W127 0.95-0.98x) and at
#   D=256 8192/W512 (0.968x). Compiled for sm_90 its D=128 rows spilled more (long 56 -> 88
#   bytes, the hoisted row bound min(q_pos, end) kept across the loop, 17 STL/LDL pairs in the
#   masked arm; windowed 0 -> 24, the boundary tile's two pointer sets in the 72-register
#   producer). ce44a76: the bound per tile, and one offset a row with each row's tensor picked:
#   D=128 long 16 bytes (56 at step 27), windowed 0; short 48 (16), D=256 short 40 (24),
#   windowed 32 (24), all outside the tile loops.
#   A/B against 8b50aa3 (step 27) as in call 1, plus D=128 4096/none.
#   Predicted: D=128 8192/none 1.00-1.03x (the tile count's 1.5% and the spills gone), 2048 and
#   1024/none 1.00-1.04x, W127 0.99-1.01x, W512 1.00-1.02x; D=64 as call 1 (1.01-1.06x);
#   D=256 0.98-1.02x
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
    ab 0 d128 200 --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows=-1,127,512
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
tar -czf $root/s21-2.tgz -C $root --remove-files ab tests0 tests1 logs
