#!/usr/bin/env bash
# session 10, call 2, on the two H200s call 1 left warm (its .whl, .bundle, .providers and the
# unpacked hd64/hd128 caches stay; carry .jobs and the hd256 FlashInfer JIT cache). Call 1's
# Peers results were lost: the device tool brings back 8 files at most, and its subfolders made
# 16. Here every job's folder is packed into one archive.
#   GPU 0: Peers (both pools; default and FlashInfer timed by asv) at HEAD, then PeersHeadDims,
#          each its own asv run, stored (kernel: step 17's, 42c1b5c)
#   GPU 1: exp/three-consumers (d4c9d25): its m192 GPU tests, then head dim 64 sweeps
set -u
export PYTHONUNBUFFERED=1
root=$OUT
tar -xzf .device-cache/flashinfer-jit-hd256.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
{
    OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 \
        ASV_DEADLINE_S=400 bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu0 peers all: rc $? after ${SECONDS}s"
    # GPU_JOB_GPU's work folder is emptied by the next job: Peers' archive is in $root/peers already
    OUT=$root/hd GPU_JOB_GPU=0 ASV_DEADLINE_S=$((575 - SECONDS)) bash ci/gpu_job.sh peers-head-dims HEAD^!
    echo "gpu0 head dims: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    git worktree add -q --detach /tmp/three d4c9d25 2>&1
    cd /tmp/three
    export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1
    REQUIRE_GPU=1 timeout 200 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_kernel.py -k m192 2>&1 | tail -15
    echo "gpu1 m192 tests: rc ${PIPESTATUS[0]} after ${SECONDS}s"
    S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 14 --baseline default --head-dim 64"
    C=default,m192n64w12s3:heads+ws+pe+pg+pq+tm,m192n64w12s4:heads+ws+pe+pg+pq+tm,m192n128w12s2:heads+ws+pe+pg+pq+tm,m192n128w12s3:heads+ws+pe+pg+pq+tm
    timeout 130 $S --n-ctx 1024,4096,8192 --windows=-1 --configs $C
    timeout 100 $S --n-ctx 1024,4096,8192 --windows=512 --configs $C
    echo "gpu1 sweeps done after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
tail -5 $root/gpu0.log; tail -40 $root/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s10-2.tgz -C $root --remove-files peers hd
ls -la $root
