#!/usr/bin/env bash
# session 13, call 1, on nvidia-h200-x2 (carry .jobs .whl .bundle and triton-cache.tgz)
#   GPU 0: exp/pool-offsets-32 (74e8c07): its GPU tests, then A/B against main's kernel (54361b8)
#   GPU 1: exp/counter-resets-itself (d364dd5): its GPU tests and A/B; then the PR-matrix backfill
# One file comes back (the tool brings back 8 at most).
set -u
export PYTHONUNBUFFERED=1 CUDA_DEVICE_ORDER=PCI_BUS_ID
root=$OUT
tar -xzf .device-cache/triton-cache.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
git fetch -q .bundle/repo.bundle '+refs/heads/*:refs/bundle/*' 2>/dev/null
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv > $root/machine.txt
checkout() { git worktree add -q --detach "$1" "$2" 2>/dev/null || { rm -rf "$1"; git clone -q .bundle/repo.bundle "$1" && git -C "$1" checkout -q "$2"; }; }
checkout /tmp/po 74e8c07
checkout /tmp/cnt d364dd5
mkdir -p $root/s13-A
{
    (cd /tmp/po && CUDA_VISIBLE_DEVICES=0 REQUIRE_GPU=1 timeout 200 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_kernel.py \
        -k "one_offset_per_row or default_long_extends or walk_many_items") > $root/s13-A/gpu-tests-pool-offsets.log 2>&1
    echo "tests rc $? after ${SECONDS}s" | tee -a $root/s13-A/gpu-tests-pool-offsets.log
    AB="python3 -m tools.ab_kernels --old 54361b8 --new 74e8c07 --variants default --rounds 2 --pool fragmented"
    { CUDA_VISIBLE_DEVICES=0 timeout 200 $AB --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows=-1,512
      echo "ab d128 rc $? after ${SECONDS}s"
      CUDA_VISIBLE_DEVICES=0 timeout 100 $AB --head-dim 64 --n-ctx 8192,4096 --windows=-1
      echo "ab d64 rc $? after ${SECONDS}s"; } > $root/s13-A/ab-pool-offsets.log 2>&1
} > $root/gpu0.log 2>&1 &
{
    (cd /tmp/cnt && CUDA_VISIBLE_DEVICES=1 REQUIRE_GPU=1 timeout 150 python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_kernel.py \
        -k "item_counter or walk_many_items") > $root/s13-A/gpu-tests-counter.log 2>&1
    echo "tests rc $? after ${SECONDS}s" | tee -a $root/s13-A/gpu-tests-counter.log
    CUDA_VISIBLE_DEVICES=1 timeout 120 python3 -m tools.ab_kernels --old 54361b8 --new d364dd5 --variants default --rounds 3 \
        --pool fragmented --head-dim 128 --n-ctx 1024,2048 --windows=-1 > $root/s13-A/ab-counter.log 2>&1
    echo "ab rc $? after ${SECONDS}s" | tee -a $root/s13-A/ab-counter.log
    mkdir -p $root/s13-A/backfill
    OUT=$root/s13-A/backfill GPU_JOB_GPU=1 BACKFILL_SHARD=0/1 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mv $root/gpu0.log $root/gpu1.log $root/machine.txt $root/s13-A/
rm -f $root/s13-A/backfill/triton-cache.tgz $root/s13-A/backfill/flashinfer-jit-*.tgz
tail -n 4 $root/s13-A/*.log
tar -czf $root/s13-A.tgz -C $root --remove-files s13-A
ls -la $root
