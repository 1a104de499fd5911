#!/usr/bin/env bash
# session 18, call 3 on nvidia-h200-x2, cold, at step 25 (c87d28a; carry .jobs .whl .bundle
# .device-cache/triton-cache.txz: with .providers and a FlashInfer JIT cache the copy is over
# 64 MiB, so the peers go in call 4 on the machine this one leaves warm)
#   GPU 0: the full suite but the peers at HEAD (345 s at step 24)
#   GPU 1: the GPU tests at HEAD (about 300 s)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/suite
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=480 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/tests
    OUT=$root/tests GPU_JOB_GPU=1 timeout 500 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s18-3.tgz -C $root --remove-files suite tests logs
