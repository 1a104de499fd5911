#!/usr/bin/env bash
# session 11, call 2, on the warm nvidia-h200-x2 (carry .jobs and the hd256 FlashInfer JIT cache;
# results/ carries call 1's imported commits, so both shards skip them)
#   GPU 0: PeersHeadDims at HEAD (step 18's prediction, issue 16), then backfill shard 0/2
#   GPU 1: backfill shard 1/2
set -u
export PYTHONUNBUFFERED=1
root=$OUT
tar -xzf .device-cache/flashinfer-jit-hd256.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/head-dims $root/gpu0
    OUT=$root/head-dims GPU_JOB_GPU=0 ASV_DEADLINE_S=400 bash ci/gpu_job.sh peers-head-dims HEAD^!
    echo "gpu0 peers-head-dims: rc $? after ${SECONDS}s"
    OUT=$root/gpu0 GPU_JOB_GPU=0 BACKFILL_SHARD=0/2 ASV_DEADLINE_S=$((565 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu0 backfill: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/gpu1
    OUT=$root/gpu1 GPU_JOB_GPU=1 BACKFILL_SHARD=1/2 ASV_DEADLINE_S=565 bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
tail -3 $root/gpu0.log $root/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s11-2.tgz -C $root --remove-files head-dims gpu0 gpu1
ls -la $root
