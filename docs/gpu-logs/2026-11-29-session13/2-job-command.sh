#!/usr/bin/env bash
# session 13, call 2, on nvidia-h200-x2 (carry .jobs .whl .bundle .providers and the hd128
# FlashInfer JIT cache): HEAD 0d93b84 merges exp/pool-offsets-32 and exp/counter-resets-itself
#   GPU 0: Peers, both pools, default and FlashInfer, stored (issue 16's table at HEAD); then the
#          full GPU suite at HEAD in the time left (a marker in ~ tells call 3 whether it finished)
#   GPU 1: the suite but the peers at HEAD, stored (issue 16's sub-grids); then the backfill
set -u
export PYTHONUNBUFFERED=1
root=$OUT
tar -xzf .device-cache/flashinfer-jit-hd128.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/peers $root/tests
    OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=330 bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu0 peers all: rc $? after ${SECONDS}s"
    OUT=$root/tests GPU_JOB_GPU=0 GPU_TEST_WORKERS=14 timeout $((560 - SECONDS)) bash ci/gpu_job.sh tests
    rc=$?; echo "gpu0 tests: rc $rc after ${SECONDS}s"
    [ $rc -eq 0 ] && touch ~/gpu-tests-passed-$(git rev-parse --short HEAD)
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/suite $root/backfill
    OUT=$root/suite GPU_JOB_GPU=1 ASV_DEADLINE_S=470 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu1 suite: rc $? after ${SECONDS}s"
    OUT=$root/backfill GPU_JOB_GPU=1 BACKFILL_SHARD=0/1 ASV_DEADLINE_S=$((560 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mv $root/gpu0.log $root/gpu1.log $root/peers/
tail -n 3 $root/peers/gpu0.log $root/peers/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s13-B.tgz -C $root --remove-files peers tests suite backfill
ls -la $root
