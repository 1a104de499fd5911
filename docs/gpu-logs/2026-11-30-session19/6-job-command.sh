#!/usr/bin/env bash
# session 19, call 6 on nvidia-h200-x2 (cold), from a checkout of exp/row-reciprocal (carry .jobs
# .bundle)
#   Each output row divided by its softmax sum once (a reciprocal a row, then a multiply an
#   element) instead of a full-range fp32 division per element, which compiled to a
#   reciprocal with a scaling test and select around it for each of a thread's 64 elements:
#   FMUL and FSEL were a third of a consumer's samples after its last P·V at 8192/W127 (call
#   4). 180-740 fewer instructions per compile (D=128 windowed: 184 per consumer); stack +8
#   bytes at D=128 long and D=256 short. A/B against step 26 (64a37a4) in one process, taking
#   turns, each version checked against the reference at every point first.
#   Predicted: D=128 W127 1.02-1.06x, W512 1.01-1.03x, short rows 1.01-1.03x, the long rows
#   (many tiles an item) 1.00-1.01x; D=256's windowed and short rows 1.01-1.04x
#   GPU 0: the A/B at head dims 128 and 256
#   GPU 1: the A/B at head dim 64, then the Gluon random-shapes shard of the GPU tests
set -u
export PYTHONUNBUFFERED=1
root=$OUT
ab() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old 64a37a4 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab $root/tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    ab 0 d128 110 --head-dim 128 --n-ctx 8192,2048 --windows=-1,127,512
    ab 0 d256 60 --head-dim 256 --n-ctx 1024 --windows=-1,512
} > $root/gpu0.log 2>&1 &
{
    ab 1 d64 70 --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512
    OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout $((195 - SECONDS)) bash ci/gpu_job.sh tests \
        -k gluon_kernels_random_shapes
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log; tail -n 2 $root/tests/gpu_tests.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 10; done
tar -czf $root/s19-6.tgz -C $root --remove-files ab tests logs
