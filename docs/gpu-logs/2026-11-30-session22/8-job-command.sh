#!/usr/bin/env bash
# session 22, call 8 on nvidia-h200-x2, cold, at HEAD 6643ea4 (step 29: head dim 64's long row
# at 224 registers a consumer), bundle made at HEAD (carry .jobs .whl .bundle)
#   GPU 0: the full suite but the peers at HEAD (345 s in session 21)
#   GPU 1: the GPU tests at HEAD (195 s in session 21)
#   Predicted (call 7's A/B): every point unchanged but head dim 64's long row (n_ctx 8192
#   without a window), 1.005x; the gate from 0fa8bd7 PASS with nothing flagged at 5%
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
tar -czf $root/s22-8.tgz -C $root --remove-files suite tests logs
