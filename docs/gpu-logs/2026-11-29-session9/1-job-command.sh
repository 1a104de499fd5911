#!/usr/bin/env bash
# next session, call 1: (1) the GPU tests at main (f1c7831's kernel: owed); (2) exp/tma-extend
# (285f680): its TMA tests, then A/B against f1c7831 (D=128 long row, D=64 rows)
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
timeout 300 bash ci/gpu_job.sh tests > $OUT/gpu-tests-main.log 2>&1
echo "main tests rc=$? at $((SECONDS - T0)) s" | tee -a $OUT/gpu-tests-main.log; tail -3 $OUT/gpu-tests-main.log
git fetch -q .bundle/repo.bundle '+refs/heads/*:refs/bundle/*' && git worktree add -q --detach /tmp/tma 285f680
(cd /tmp/tma && REQUIRE_GPU=1 timeout 120 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_kernel.py -k tma) > $OUT/gpu-tests-tma.log 2>&1
echo "tma tests rc=$? at $((SECONDS - T0)) s" | tee -a $OUT/gpu-tests-tma.log; tail -3 $OUT/gpu-tests-tma.log
AB="python3 -m tools.ab_kernels --old f1c7831 --new 285f680 --variants default --rounds 2"
{ timeout 90 $AB --pool contiguous --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows=-1
  timeout 40 $AB --pool fragmented --head-dim 128 --n-ctx 8192 --windows=-1
  timeout 60 $AB --pool contiguous --head-dim 64 --n-ctx 8192,4096,1024 --windows=-1,512; } 2>&1 | tee $OUT/ab-tma.log
echo "done at $((SECONDS - T0)) s"
