#!/usr/bin/env bash
# session 7, call 5 (issue 16, the last 4 device-minutes): persistent programs taking their
# items from a counter (exp/dynamic-items, da347fc) against step 14 (21aeefd's kernel), checked
# against the reference at each point, then timed in one process
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
tar -xzf .device-cache/triton-cache.tgz -C ~
timeout 120 python3 -m tools.ab_kernels --old 21aeefd --new da347fc --variants default --rounds 2 \
    --pool contiguous --head-dim 128 --n-ctx 1024,2048,4096 --windows=-1,127 2>&1 | tee $OUT/ab.log
echo "ab rc=${PIPESTATUS[0]} at ${SECONDS}s" | tee -a $OUT/ab.log
