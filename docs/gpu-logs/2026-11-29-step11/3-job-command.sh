#!/usr/bin/env bash
# step 11 (issue 16): do turns remove the order bias? default beside its identical explicit config
# and FlashInfer; then the suite at HEAD (all but the peers)
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
tar -xzf .device-cache/flashinfer-jit-hd128.tgz -C ~
FI=flashinfer-0.7.2-fa3
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
timeout 75 $S --head-dim 128 --n-ctx 2048,4096 --windows -1,127 \
  --configs default,m128n64w8s4:heads+pf+ws+pe+pg+pq 2>&1 | tee $OUT/sweep-turns.log
echo "sweep done at $((SECONDS - T0)) s"
ASV_DEADLINE_S=$((575 - (SECONDS - T0))) bash ci/gpu_job.sh asv HEAD^! --bench '^(?!bench_peers\.)'
