#!/usr/bin/env bash
# session 9, call 5 (issue 16's head dim 64, behind FlashInfer at all six PeersHeadDims points
# at step 16b): the Gluon kernel with TMA at head dim 64's windows, where the `tl` row runs, and
# other Gluon rows without a window; one sweep each, `default` as the baseline
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 12 --baseline default --head-dim 64"
{
echo "===== D=64 W512 ($((SECONDS - T0)) s)"
timeout 90 $S --n-ctx 1024,4096,8192 --windows=512 --configs default,m128n64w8s4:heads+ws+pe+pg+pq+tm,m128n64w8s4:heads+ws+pe+pg+pq+op+tm,m128n128w8s4:heads+ws+pe+pg+pq+tm
echo "===== D=64 none ($((SECONDS - T0)) s)"
timeout 80 $S --n-ctx 1024,4096,8192 --windows=-1 --configs default,m128n128w8s4:heads+ws+pe+pg+pq+op+tm,m128n64w8s4:heads+ws+pe+pg+pq+tm,m128n128w8s3:heads+ws+pe+pg+tm
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps-d64.log
