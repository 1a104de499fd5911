#!/usr/bin/env bash
# session 23, call 5 on nvidia-h200-x2, cold, at HEAD (step 31: head dim 256 without a window
# on its persistent row with items from a counter; step 30, its parent: head dim 128's long
# extends on the three-consumer short row), bundle made at HEAD (carry .jobs .whl .bundle)
#   GPU 0: the full suite but the peers at HEAD (about 360 s in session 22)
#   GPU 1: the GPU tests at HEAD (about 210 s in session 22)
#   Predicted (calls 1-4's sweeps): against 6643ea4, head dim 128 without a window at long
#   extends 1.04-1.08x (PR matrix 8192 and 4096 without a window, both pools, the quick point,
#   heads 32/8 and 32/32, fp16 at 4096), head dim 256 without a window 1.03x at 4096 (the
#   head-dim sub-grid), every other point unchanged; the gate PASS
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/suite $root/tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=500 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 480 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log; tail -n 3 $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s23-5.tgz -C $root --remove-files suite tests logs
