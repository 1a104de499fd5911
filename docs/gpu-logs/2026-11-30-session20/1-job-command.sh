#!/usr/bin/env bash
# session 20, call 1 on nvidia-h200-x2, cold, storing step 27 (eb9e847; HEAD 6051f87, the same
# kernels; carry .jobs .whl .bundle, whose HEAD is 6051f87)
#   GPU 0: the full suite but the peers at HEAD (324 s cold at step 26)
#   GPU 1: the GPU tests at HEAD (251 s cold at step 26), then the backfill of eb9e847 (step
#          27's PR matrix, about 300 s), the one kernel commit without stored H200 results
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/suite $root/tests $root/backfill
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=500 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 300 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
    OUT=$root/backfill GPU_JOB_GPU=1 ASV_DEADLINE_S=$((560 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s20-1.tgz -C $root --remove-files suite tests backfill logs
