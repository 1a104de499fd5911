#!/usr/bin/env bash
# session 13, call 3, on the warm nvidia-h200-x2 right after call 2 (carry .jobs and the hd64
# FlashInfer JIT cache; .whl .bundle .providers and ~ stay from call 2 on the warm machine)
#   GPU 0: PeersHeadDims at HEAD, stored (hd128 from call 2, hd256 JIT-built here); then backfill
#   GPU 1: the full GPU suite if call 2 did not finish it; then the backfill
set -u
export PYTHONUNBUFFERED=1
root=$OUT
tar -xzf .device-cache/flashinfer-jit-hd64.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
ls -d .whl .bundle .providers > $root/kept-folders.txt 2>&1
{
    mkdir -p $root/head-dims $root/gpu0
    OUT=$root/head-dims GPU_JOB_GPU=0 ASV_DEADLINE_S=420 bash ci/gpu_job.sh peers-head-dims HEAD^!
    echo "gpu0 peers-head-dims: rc $? after ${SECONDS}s"
    OUT=$root/gpu0 GPU_JOB_GPU=0 BACKFILL_SHARD=0/2 ASV_DEADLINE_S=$((545 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu0 backfill: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/tests $root/gpu1
    if [ ! -e ~/gpu-tests-passed-$(git rev-parse --short HEAD) ]; then
        OUT=$root/tests GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 400 bash ci/gpu_job.sh tests
        echo "gpu1 tests: rc $? after ${SECONDS}s"
    fi
    OUT=$root/gpu1 GPU_JOB_GPU=1 BACKFILL_SHARD=1/2 ASV_DEADLINE_S=$((545 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mv $root/gpu0.log $root/gpu1.log $root/kept-folders.txt $root/head-dims/
tail -n 3 $root/head-dims/gpu0.log $root/head-dims/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s13-C.tgz -C $root --remove-files head-dims tests gpu0 gpu1
ls -la $root
