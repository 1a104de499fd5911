#!/usr/bin/env bash
# session 19, call 3 on nvidia-h200-x2 (cold), from a checkout of exp/carry-header (1bd4a0c;
# carry .jobs .whl .bundle)
#   The consumers' sequence rows (qo_indptr, kv_indptr) loaded an item or two before the item
#   starts on the strided share with PREFETCH_Q (head dim 64's rows, head dim 128's windowed
#   row), A/B against main (2e4a909, step 26's kernel) in one process, taking turns
#   (tools.ab_kernels; each version checked against the reference at every point first).
#   Predicted: D=128 W127 1.00-1.05x, W512 1.00-1.03x, D=64 1.00-1.02x; D=128 long (its SASS
#   the same length, registers moved) 0.99-1.01x; D=128 short (the counter's rows: both
#   loads at the item's start, 8 bytes more stack) 0.99-1.02x.
#   GPU 0: the A/B at head dim 128, then the backfill of 64a37a4 (step 26's PR matrix) from a
#          clone of main
#   GPU 1: the A/B at head dim 64, then the branch's GPU tests
set -u
export PYTHONUNBUFFERED=1
root=$OUT
ab() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.ab_kernels \
        --old 2e4a909 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
mkdir -p $root/ab $root/backfill $root/tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    ab 0 d128 220 --head-dim 128 --n-ctx 8192,2048 --windows=-1,127,512
    rm -rf /tmp/main-checkout && git clone -q --branch main .bundle/repo.bundle /tmp/main-checkout &&
        cp -r .whl .bundle /tmp/main-checkout/ &&
        (cd /tmp/main-checkout && git log --oneline -1 &&
         OUT=$root/backfill GPU_JOB_GPU=0 ASV_DEADLINE_S=$((535 - SECONDS)) bash ci/gpu_job.sh backfill)
    echo "gpu0 backfill: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    ab 1 d64 220 --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512
    OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout $((545 - SECONDS)) bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log $root/tests/gpu_tests.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 12; done
rm -f "$root"/*/*.txz
tar -czf $root/s19-3.tgz -C $root --remove-files ab backfill tests logs
