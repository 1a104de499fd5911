#!/usr/bin/env bash
# step 11 (issue 16): prefetch_q A/B in turns (default against its config without prefetch_q),
# then bench_peers.Peers on the contiguous pool at a07fe51
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/flashinfer-jit-hd128.tgz -C ~
tar -xzf .device-cache/triton-cache.tgz -C ~
NOPQ=m128n64w8s4:heads+pf+ws+pe+pg
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --baseline $NOPQ"
{
timeout 60 $S --head-dim 128 --n-ctx 1024,2048,4096 --windows -1,127,512 --configs default,$NOPQ
timeout 30 $S --head-dim 128 --n-ctx 8192 --windows 127,512 --configs default,$NOPQ
} 2>&1 | tee $OUT/sweep-ab-prefetch-q.log
echo "sweep done at $((SECONDS - T0)) s"
ASV_DEADLINE_S=$((578 - (SECONDS - T0))) bash ci/gpu_job.sh peers contiguous a07fe51^!
