#!/usr/bin/env bash
# session 8, call 5 (issue 16): does step 15 cost the windowed row at W256? step 15 (669b9ad)
# against step 14 (fd3e1bd) in one process, the points the Peers run put 2-3% lower
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
timeout 170 python3 -m tools.ab_kernels --old fd3e1bd --new 669b9ad --variants default --rounds 3 \
    --pool contiguous --head-dim 128 --n-ctx 8192,4096,2048 --windows=256,512 2>&1 | tee $OUT/ab-w256.log
echo "ab rc=${PIPESTATUS[0]} at ${SECONDS}s" | tee -a $OUT/ab-w256.log
