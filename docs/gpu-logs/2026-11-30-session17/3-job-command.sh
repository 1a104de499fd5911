#!/usr/bin/env bash
# session 17, call 3 on nvidia-h200-x2, cold, at step 24 (70a963e; carry .jobs .whl .bundle
# .providers .device-cache/flashinfer-jit-hd128.txz)
#   GPU 0: the full suite but the peers at HEAD (350 s at step 23)
#   GPU 1: Peers at HEAD, both pools, default and FlashInfer (issue 16's table; 380 s at step 23)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/suite
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=450 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/peers
    OUT=$root/peers GPU_JOB_GPU=1 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=450 \
        bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu1 peers all: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
rm -f "$root"/*/*.txz
tar -czf $root/s17-c.tgz -C $root --remove-files suite peers logs
