#!/usr/bin/env bash
# session 10, call 1, on two H200s of one host (carry .jobs .whl .bundle .providers and the hd64
# and hd128 FlashInfer JIT caches; the 64 MiB carry leaves no room for hd256 or Triton's cache).
#   GPU 0: Peers (both pools; default and FlashInfer timed by asv) at HEAD, whose kernel is
#          step 17's (42c1b5c): issue 16's stored measurement; then the backfill, shard 0/2
#   GPU 1: the GPU tests at HEAD (owed since step 17), then exp/exp2-mixed-on-17 (9c7ea38)
#          against 42c1b5c at head dims 64 and 128, in one process
set -u
export PYTHONUNBUFFERED=1
root=$OUT
nvidia-smi -L | tee $root/gpus.txt
for cache in .device-cache/*.tgz; do tar -xzf "$cache" -C ~; done
export GPU_JOB_CACHES_RESTORED=1  # unpacked once, before both GPUs' jobs start
git fetch -q .bundle/repo.bundle '+refs/heads/*:refs/bundle/*'
{
    OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 \
        ASV_DEADLINE_S=420 bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu0 peers all: rc $? after ${SECONDS}s"
    if [ $((565 - SECONDS)) -ge 200 ]; then
        mkdir -p $root/backfill-gpu0
        OUT=$root/backfill-gpu0 GPU_JOB_GPU=0 BACKFILL_SHARD=0/2 ASV_DEADLINE_S=$((565 - SECONDS)) \
            bash ci/gpu_job.sh backfill
        echo "gpu0 backfill: rc $? after ${SECONDS}s"
    fi
} > $root/gpu0.log 2>&1 &
{
    GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 420 bash ci/gpu_job.sh tests > $root/gpu-tests.log 2>&1
    echo "gpu1 tests: rc $? after ${SECONDS}s" | tee -a $root/gpu-tests.log
    tail -3 $root/gpu-tests.log
    AB="python3 -m tools.ab_kernels --old 42c1b5c --new 9c7ea38 --variants default --rounds 2 --pool contiguous"
    export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1
    { [ $((565 - SECONDS)) -ge 80 ] && timeout $((565 - SECONDS)) $AB --head-dim 64 --n-ctx 1024,4096,8192 --windows=-1,512
      [ $((565 - SECONDS)) -ge 100 ] && timeout $((565 - SECONDS)) $AB --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,127,512
    } > $root/ab-exp2-mixed.log 2>&1
    echo "gpu1 exp2 A/B: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
ls -la "$root"/*
