#!/usr/bin/env bash
# session 12, call 1, on nvidia-h200-x2 (carry .jobs .whl .bundle .providers and the hd128 FlashInfer
# JIT cache; results/ as committed, so the backfill skips what is stored)
#   GPU 0: the full suite but the peers at HEAD (issue 17), stored; then tools.clock_probe (ours
#          against FlashInfer under three loads: session 11's open question at 8192/none)
#   GPU 1: the backfill, shard 0/1 (issue 17)
# Everything under $OUT is packed into one file: the device tool brings back 8 at most.
set -u
source .jobs/keep.sh
export PYTHONUNBUFFERED=1
root=$OUT
for cache in .device-cache/*.tgz; do tar -xzf "$cache" -C ~; done
export GPU_JOB_CACHES_RESTORED=1
{
    mkdir -p $root/suite
    # the suite first: asv saves a commit's results only when its run ends (328 s from cold, 2026-11-29)
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=470 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
    for n_ctx in 8192 2048; do
        left=$((570 - SECONDS)); [ "$left" -gt 20 ] || break
        CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout $left python3 -m tools.clock_probe \
            --impls default,flashinfer-0.7.2-fa3 --n-ctx $n_ctx --windows -1 --rounds 3
        echo "clock_probe n_ctx $n_ctx: rc $? after ${SECONDS}s"
    done > $root/suite/clock-probe.log 2>&1
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/backfill
    OUT=$root/backfill GPU_JOB_GPU=1 BACKFILL_SHARD=0/1 ASV_DEADLINE_S=560 bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
tail -n 3 $root/gpu0.log $root/gpu1.log
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz
tar -czf $root/s12-1.tgz -C $root --remove-files suite backfill
keep_save $root/s12-1.tgz
ls -la $root
