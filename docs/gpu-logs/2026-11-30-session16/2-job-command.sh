#!/usr/bin/env bash
# session 16, call 2 on nvidia-h200-x2, cold, at step 22 (9dea780; carry .jobs .whl .bundle
# .providers .device-cache/flashinfer-jit-hd128.txz .device-cache/triton-cache.txz)
#   GPU 0: the full suite but the peers at HEAD (357 s at 0d93b84), then the backfill
#   GPU 1: Peers at HEAD, both pools, default and FlashInfer, stored (issue 16's table)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/suite $root/backfill0
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=420 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
    OUT=$root/backfill0 GPU_JOB_GPU=0 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu0 backfill: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/peers
    OUT=$root/peers GPU_JOB_GPU=1 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=530 \
        bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu1 peers all: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
grep -A40 "track_default_time_ratio" $root/peers/asv.log | head -60
rm -f "$root"/*/*.txz
tar -czf $root/s16-2.tgz -C $root --remove-files suite backfill0 peers logs
