#!/usr/bin/env bash
# session 14, call 2, warm x2 (carry .jobs .providers and the hd64 JIT cache; .whl .bundle stay)
#   GPU 0: head dim 64's long row sweep (.jobs/s14-2.sh)
#   GPU 1: the PR-matrix backfill, every missing commit
set -u
export PYTHONUNBUFFERED=1
root=$OUT
export GPU_JOB_CACHES_RESTORED=1
ls -d .whl .bundle .providers > $root/kept-folders.txt 2>&1
{ mkdir -p $root/sweep; OUT=$root/sweep CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 bash .jobs/s14-2.sh; echo "gpu0 sweep after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/gpu1; OUT=$root/gpu1 GPU_JOB_GPU=1 BACKFILL_SHARD=0/1 ASV_DEADLINE_S=$((540 - SECONDS)) bash ci/gpu_job.sh backfill; echo "gpu1 backfill: rc $? after ${SECONDS}s"; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/kept-folders.txt $root/logs/
tail -n 3 $root/logs/*.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s14-2.tgz -C $root --remove-files sweep logs gpu1
