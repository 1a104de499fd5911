#!/usr/bin/env bash
# session 19, call 1 on nvidia-h200-x2, cold, at step 26 (64a37a4, HEAD 45f07ee; carry .jobs .whl
# .bundle: this checkout is new and has no compile caches, so Triton compiles from cold)
#   GPU 0: the full suite but the peers at HEAD (346 s at step 25, warm cache)
#   GPU 1: the GPU tests at HEAD (394 s from cold)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
{
    mkdir -p $root/suite
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=500 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/tests
    OUT=$root/tests GPU_JOB_GPU=1 timeout 530 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s19-1.tgz -C $root --remove-files suite tests logs
