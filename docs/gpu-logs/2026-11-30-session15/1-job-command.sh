#!/usr/bin/env bash
# session 15, call 1 on nvidia-h200-x2 (carry .jobs .whl .bundle: the bundle grew to 19.6 MiB,
# so .providers and FlashInfer's JIT cache no longer fit beside it; the sweep times ours only)
#   GPU 0: head dim 128's windowed row on three consumer warpgroups (m192: 24 tokens x 8 packed
#          heads an item, 22.6k items at 8192/W127 instead of 33.9k, the same 3 tiles each),
#          and on 32-key tiles (5 tiles of 32 instead of 3 of 64: 16% less MMA work at W127);
#          every config checked first, timed in turns with default. All compile
#          for sm_90 here: m192n64 128 registers, 24-byte stack (193/225 KiB shared at s3/s4);
#          m192n32w12s4 and m128n32w8s4 no stack. Then the backfill, shard 0/2
#   GPU 1: the PR-matrix backfill, shard 1/2, the whole call
# Predicted: W127's 1.85 ms is 7.2 us an item per SM, 2.3x the long row's time per 64 keys, so
# the items' fixed latency dominates: m192 1.05-1.30x at W127 (its tile loop issues 895
# instructions a consumer warp against 758), less at W512 (step 18 at head dim 64, W512:
# 0.98-1.07x); 32-key tiles no gain (more tiles, each with its own barriers).
set -u
export PYTHONUNBUFFERED=1
root=$OUT
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/sweep $root/gpu0
    K=heads+ws+pe+pg+pq+op+tm
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 300 python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --head-dim 128 --baseline default \
        --n-ctx 8192,4096,2048,1024 --windows 127,256,512 \
        --configs default,m192n64w12s3:$K,m192n64w12s4:$K,m192n32w12s4:$K,m128n32w8s4:$K \
        > $root/sweep/sweep-windowed-d128.log 2>&1
    echo "gpu0 sweep: rc $? after ${SECONDS}s"
    OUT=$root/gpu0 GPU_JOB_GPU=0 BACKFILL_SHARD=0/2 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu0 backfill: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/gpu1
    OUT=$root/gpu1 GPU_JOB_GPU=1 BACKFILL_SHARD=1/2 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
tail -n 40 $root/sweep/sweep-windowed-d128.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s15-1.tgz -C $root --remove-files sweep logs gpu0 gpu1
