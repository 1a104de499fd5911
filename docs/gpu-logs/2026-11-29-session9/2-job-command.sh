#!/usr/bin/env bash
# session 9, call 2: (1) TMA for the extend tiles on the rows step 16 left out: head dim 128's
# short and windowed rows, head dim 256's Gluon row (each without prefetch_indices, which TMA
# excludes; the short row also without TMA, to split the two effects); (2) the GPU tests at
# step 16 (aa3d3ad, this checkout)
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 12 --baseline default"
{
echo "===== D=128 short ($((SECONDS - T0)) s)"
timeout 80 $S --head-dim 128 --n-ctx 1024,2048 --windows=-1 --configs default,m128n64w8s4:heads+ws+pe+pg+pq+di,m128n64w8s4:heads+ws+pe+pg+pq+di+tm
echo "===== D=128 windowed ($((SECONDS - T0)) s)"
timeout 80 $S --head-dim 128 --n-ctx 2048,8192 --windows=127,512 --configs default,m128n64w8s4:heads+ws+pe+pg+pq+op+tm
echo "===== D=256 ($((SECONDS - T0)) s)"
timeout 80 $S --head-dim 256 --n-ctx 1024,4096 --windows=-1,512 --configs default,m128n32w8s4:heads+ws+pe+pg+op+tm
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps-tma-rows.log
timeout $((570 - SECONDS)) bash ci/gpu_job.sh tests > $OUT/gpu-tests.log 2>&1
echo "tests rc=$? at $((SECONDS - T0)) s" | tee -a $OUT/gpu-tests.log
tail -4 $OUT/gpu-tests.log
rm -f $OUT/*.tgz
