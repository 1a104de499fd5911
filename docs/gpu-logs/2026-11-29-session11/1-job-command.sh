#!/usr/bin/env bash
# next session, call 1, on nvidia-h200-x2 (carry .jobs .whl .bundle .providers and the hd64 and
# hd128 FlashInfer JIT caches; hd256 does not fit beside them: it goes in call 2, or JIT-builds)
#   GPU 0: Peers (both pools; default and FlashInfer timed by asv) at HEAD, stored (issue 16)
#   GPU 1: the full GPU suite at HEAD (step 18, owed), then the backfill on its own (shard 0/1)
# Everything under $OUT is packed into one file: the device tool brings back 8 at most.
set -u
export PYTHONUNBUFFERED=1
root=$OUT
for cache in .device-cache/*.tgz; do tar -xzf "$cache" -C ~; done
export GPU_JOB_CACHES_RESTORED=1
{
    OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 \
        ASV_DEADLINE_S=420 bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu0 peers all: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 300 bash ci/gpu_job.sh tests > $root/gpu-tests.log 2>&1
    echo "gpu1 tests: rc $? after ${SECONDS}s" | tee -a $root/gpu-tests.log
    mkdir -p $root/backfill
    OUT=$root/backfill GPU_JOB_GPU=1 BACKFILL_SHARD=0/1 ASV_DEADLINE_S=$((565 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s11-1.tgz -C $root --remove-files peers backfill
ls -la $root
