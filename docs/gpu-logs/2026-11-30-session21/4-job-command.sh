#!/usr/bin/env bash
# session 21, call 4 on nvidia-h200-x2, cold, at HEAD 0fa8bd7 (step 28: one key stream on head
# dim 64's rows and the windowed rows), bundle made at HEAD (carry .jobs .whl .bundle)
#   GPU 0: the full suite but the peers at HEAD (356-365 s cold)
#   GPU 1: the GPU tests at HEAD (173 s with 14 workers in session 20)
#   Predicted (calls 1-3's A/B): head dim 128 8192/W512 about 2.81 -> 2.65 ms, 1024-4096 W512
#   1.03-1.05x, W127 0.99-1.00x, without a window unchanged; head dim 64 sub-grid (4096)
#   1.01x without a window; head dim 256 unchanged; the gate from 6051f87 PASS
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/suite $root/tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=520 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 500 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log; tail -n 3 $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s21-4.tgz -C $root --remove-files suite tests logs
