#!/usr/bin/env bash
# session 22, call 2 on nvidia-h200-x2, from a checkout of exp/early-indices (carry .jobs .bundle)
#   Call 1: fewer producer registers made the long row slower (232/40: 0.97-0.99x, 240/24:
#   0.89-0.94x; 224/56 1.00x), though the consumers then spill nothing: the producer's speed
#   shows in the consumers' time. Here the producer loads a row-copied tile's pool indices
#   before it waits for the tile's stage (they were loaded after), so that their latency
#   passes under the wait.
#   Predicted: head dim 128's long row (8192, 4096 none) 1.00-1.03x, its short row (2048,
#   1024 none) 1.00-1.02x, windowed rows 0.99-1.01x; head dim 64 1.00-1.02x
#   GPU 0: the A/B at head dim 128 against 0fa8bd7 (step 28); GPU 1: head dim 64, then the
#   GPU tests of the Gluon kernels' random shapes
set -u
export PYTHONUNBUFFERED=1
root=$OUT
ab() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old 0fa8bd7 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab $root/tests1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    ab 0 d128 260 --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows=-1,127,512
} > $root/gpu0.log 2>&1 &
{
    ab 1 d64 120 --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512
    OUT=$root/tests1 GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout $((400 - SECONDS)) bash ci/gpu_job.sh tests \
        -k gluon_kernels_random_shapes
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log; tail -n 3 $root/tests1/gpu_tests.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 16; done
tar -czf $root/s22-2.tgz -C $root --remove-files ab tests1 gpu0.log gpu1.log
