#!/usr/bin/env bash
# session 12, call 3, on one nvidia-h200 (the x2 is not lent now): carry .jobs .bundle
# and triton-cache.tgz (the 64-MiB carry: no FlashInfer, the sweep is over `default`)
#   1. exp/lazy-rescale (f69f3b6) against main's kernel (ab8063a), one process, head dim 128
#      without a window at n_ctx 8192 and 2048, then head dim 64 at 8192
#   2. head dim 128's short extends (n_ctx 2048, 1024, no window) against FlashInfer: the rows
#      that could replace the short row, one process (issue 16: 2048/none is 0.95x)
set -u
export PYTHONUNBUFFERED=1
for cache in .device-cache/*.tgz; do tar -xzf "$cache" -C ~; done
git fetch -q .bundle/repo.bundle '+refs/heads/*:refs/bundle/*' 2>/dev/null
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv > $OUT/machine.txt
{
    AB="python3 -m tools.ab_kernels --old ab8063a --new f69f3b6 --variants default --rounds 2 --pool contiguous"
    timeout 200 $AB --head-dim 128 --n-ctx 8192,2048 --windows=-1
    echo "ab d128 rc $? after ${SECONDS}s"
    timeout $((300 - SECONDS)) $AB --head-dim 64 --n-ctx 8192 --windows=-1
    echo "ab d64 rc $? after ${SECONDS}s"
} > $OUT/ab-lazy-rescale.log 2>&1
{
    S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 14 --head-dim 128 --baseline default"
    C=default,m128n128w8s3:heads+ws+pe+pg+di+tm,m128n128w8s2:heads+ws+pe+pg+pq+di+tm,m192n64w12s3:heads+ws+pe+pg+pq+di+tm,m128n64w8s4:heads+ws+pe+pg+pq+op+di+tm
    timeout $((550 - SECONDS)) $S --n-ctx 2048,1024 --windows=-1 --configs $C
    echo "sweep rc $? after ${SECONDS}s"
} > $OUT/sweep-short-d128.log 2>&1
tail -n 5 $OUT/*.log
