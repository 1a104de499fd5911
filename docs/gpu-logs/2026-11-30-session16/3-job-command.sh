#!/usr/bin/env bash
# session 16, call 3, warm nvidia-h200-x2 right after call 2 (carry .jobs; .whl .bundle stay)
#   GPU 0: the GPU tests at HEAD (step 22)
#   GPU 1: the PR-matrix backfill, what call 2 left (its results are on this machine)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
export GPU_JOB_CACHES_RESTORED=1
{ mkdir -p $root/tests
  OUT=$root/tests GPU_JOB_GPU=0 timeout $((LIMIT - 15)) bash ci/gpu_job.sh tests
  echo "gpu0 tests: rc $? after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/gpu1
  OUT=$root/gpu1 GPU_JOB_GPU=1 ASV_DEADLINE_S=$((LIMIT - 30)) bash ci/gpu_job.sh backfill
  echo "gpu1 backfill: rc $? after ${SECONDS}s"; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
tail -n 5 $root/tests/gpu_tests.log
tar -czf $root/s16-3.tgz -C $root --remove-files logs tests gpu1
