#!/usr/bin/env bash
# session 8, call 6 (issue 16): the strided schedule back on its own `for` loop (this checkout,
# uncommitted; SASS as step 14's up to register names) against step 14 (fd3e1bd): the W256
# points step 15 measured 1-2% slower, and the short row's two points it measured faster
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
AB="python3 -m tools.ab_kernels --old fd3e1bd --variants default --rounds 3 --pool contiguous --head-dim 128"
{ timeout 100 $AB --n-ctx 8192,4096,2048 --windows=256,512
  timeout 40 $AB --n-ctx 2048,1024 --windows=-1; } 2>&1 | tee $OUT/ab-loop-fix.log
echo "ab done at ${SECONDS}s" | tee -a $OUT/ab-loop-fix.log
