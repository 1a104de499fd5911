#!/usr/bin/env bash
# session 7, call 3 (issue 16): the row reductions as trees (this checkout, uncommitted) against
# step 13 (cf5e19b) in one process; the long row at n_ctx 4096 on the other sub-grids (the class
# boundary); then the GPU tests on this checkout
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
AB="python3 -m tools.ab_kernels --old cf5e19b --variants default --rounds 2"
{
echo "===== D=128 contiguous ($((SECONDS - T0)) s)"
timeout 110 $AB --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,127,512 --pool contiguous
echo "===== D=128 fragmented ($((SECONDS - T0)) s)"
timeout 40 $AB --head-dim 128 --n-ctx 2048,8192 --windows=-1 --pool fragmented
echo "===== D=64 ($((SECONDS - T0)) s)"
timeout 60 $AB --head-dim 64 --n-ctx 1024,4096,8192 --windows=-1,512 --pool contiguous
echo "===== D=256 ($((SECONDS - T0)) s)"
timeout 60 $AB --head-dim 256 --n-ctx 1024,4096 --windows=-1,512 --pool contiguous
echo "ab done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/ab.log
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --baseline default --n-ctx 4096 --windows=-1"
LONG=m128n128w8s3:heads+ws+pe+pg
{
echo "===== the long row at 4096 ($((SECONDS - T0)) s)"
timeout 40 $S --heads 32/8 --configs default,$LONG
timeout 40 $S --heads 32/32 --configs default,$LONG
timeout 40 $S --dtype fp16 --configs default,$LONG
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
timeout $((585 - SECONDS)) bash ci/gpu_job.sh tests > $OUT/gpu-tests.log 2>&1
echo "tests rc=$? at $((SECONDS - T0)) s" | tee -a $OUT/gpu-tests.log
tail -5 $OUT/gpu-tests.log
rm -f $OUT/*.tgz
ls -la $OUT
