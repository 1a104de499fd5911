#!/usr/bin/env bash
# session 6, call 2 (issue 16): step 13 (cf5e19b) against its parent in one process, then the
# GPU tests at step 13
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for c in triton-cache; do tar -xzf .device-cache/$c.tgz -C ~; done
AB="python3 -m tools.ab_kernels --old 5043f65 --new cf5e19b --variants default --rounds 2"
{
echo "===== D=128 8192 none, contiguous and fragmented ($((SECONDS - T0)) s)"
timeout 90 $AB --head-dim 128 --n-ctx 8192 --windows=-1 --pool contiguous
timeout 90 $AB --head-dim 128 --n-ctx 8192 --windows=-1 --pool fragmented
echo "===== D=64 no window ($((SECONDS - T0)) s)"
timeout 120 $AB --head-dim 64 --n-ctx 1024,2048,4096,8192 --windows=-1 --pool contiguous
echo "ab done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/ab.log
timeout $((580 - SECONDS)) bash ci/gpu_job.sh tests
echo "tests rc=$? at $((SECONDS - T0)) s"
