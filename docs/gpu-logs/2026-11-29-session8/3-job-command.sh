#!/usr/bin/env bash
# session 8, call 3 (issue 16): step 15, items taken from a counter (this checkout, uncommitted:
# `default`'s head dim 128 short row) against step 14 (fd3e1bd) in one process, every
# warp-specialized row; head dim 64 with and without the counter; the diagnostic
# ablations (exp/ablate, 196764d); then the GPU tests on this checkout
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
# the ablations, compiled at once, then timed one after the other
pids=()
for a in 0 1 2 3 4; do EXTEND_ABLATE=$a PYTHONPATH=$PWD timeout 150 python3 .jobs/ablate.py --warm > $OUT/warm-$a.log 2>&1 & pids+=($!); done
wait "${pids[@]}"
{
echo "| ablate | n_ctx | window | ms |"; echo "|---|---|---|---|"
for a in 0 1 4 2 3 0; do EXTEND_ABLATE=$a PYTHONPATH=$PWD timeout 40 python3 .jobs/ablate.py 2>&1 | grep -v Warning; done
echo "ablate done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/ablate.log
AB="python3 -m tools.ab_kernels --old fd3e1bd --variants default --rounds 2 --pool contiguous"
{
echo "===== D=128 ($((SECONDS - T0)) s)"
timeout 120 $AB --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,127,512
echo "===== D=64 ($((SECONDS - T0)) s)"
timeout 60 $AB --head-dim 64 --n-ctx 1024,2048,8192 --windows=-1,512
echo "ab done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/ab.log
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --baseline default --windows=-1"
{
echo "===== D=64 ($((SECONDS - T0)) s)"
timeout 50 $S --head-dim 64 --n-ctx 1024,2048 --configs default,m128n128w8s4:heads+ws+pe+pg+pq+di
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
timeout $((575 - SECONDS)) bash ci/gpu_job.sh tests > $OUT/gpu-tests.log 2>&1
echo "tests rc=$? at $((SECONDS - T0)) s" | tee -a $OUT/gpu-tests.log
tail -5 $OUT/gpu-tests.log
rm -f $OUT/*.tgz $OUT/warm-*.log
ls -la $OUT
