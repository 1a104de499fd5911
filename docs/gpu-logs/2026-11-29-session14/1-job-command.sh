#!/usr/bin/env bash
# session 14, call 1 (carry .jobs .whl .bundle .providers and the hd128 FlashInfer JIT cache)
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer, alone on its GPU, stored (issue 16's
#          table at step 21; session 13 lost it to a 330-s deadline; 283 s on an idle host);
#          then the PR-matrix backfill, shard 0/2
#   GPU 1 (on nvidia-h200-x2 only): the PR-matrix backfill, shard 1/2 (about 3 min a commit)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
tar -xzf .device-cache/flashinfer-jit-hd128.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
gpus=$(nvidia-smi -L | wc -l)
{
    mkdir -p $root/peers $root/gpu0
    OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=500 bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu0 peers all: rc $? after ${SECONDS}s"
    if [ "$gpus" -gt 1 ] && [ $SECONDS -lt 380 ]; then
        OUT=$root/gpu0 GPU_JOB_GPU=0 BACKFILL_SHARD=0/2 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
        echo "gpu0 backfill: rc $? after ${SECONDS}s"
    fi
} > $root/gpu0.log 2>&1 &
if [ "$gpus" -gt 1 ]; then
    {
        mkdir -p $root/gpu1
        OUT=$root/gpu1 GPU_JOB_GPU=1 BACKFILL_SHARD=1/2 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
        echo "gpu1 backfill: rc $? after ${SECONDS}s"
    } > $root/gpu1.log 2>&1 &
fi
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/ 2>/dev/null
tail -n 3 $root/logs/*.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s14-1.tgz -C $root --remove-files peers logs $(cd $root && ls -d gpu0 gpu1 2>/dev/null)
ls -la $root
