#!/usr/bin/env bash
# session 5, call 2 (issue 16): step 12a (overlap) against its parent, 12b (window masks)
# against 12a, the whole step at D=64/256, and the D=64 / D=128 rows swept on the new kernel
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for c in flashinfer-jit-hd128 flashinfer-jit-hd64 triton-cache; do tar -xzf .device-cache/$c.tgz -C ~; done
BASE=ac6f25c; A=fb58e99; B=c978ced
AB="python3 -m tools.ab_kernels --variants default --pool contiguous --rounds 2"
{
echo "===== 12a against its parent, D=128 ($((SECONDS - T0)) s)"
timeout 170 $AB --old $BASE --new $A --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,127,512
echo "===== 12b against 12a, D=128 windows ($((SECONDS - T0)) s)"
timeout 100 $AB --old $A --new $B --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=127,256,512
echo "===== step 12 (12b against the parent), D=64 and D=256 ($((SECONDS - T0)) s)"
timeout 80 $AB --old $BASE --new $B --head-dim 64 --n-ctx 1024,4096,8192 --windows=-1,512
timeout 80 $AB --old $BASE --new $B --head-dim 256 --n-ctx 1024,4096,8192 --windows=-1,512
} 2>&1 | tee $OUT/ab.log
FI=flashinfer-0.7.2-fa3
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
{
echo "===== D=64 rows at 12b ($((SECONDS - T0)) s)"
timeout 100 $S --head-dim 64 --n-ctx 1024,2048,4096,8192 --windows=-1 \
    --configs default,m128n128w8s4:heads+ws+pe+pg+pq,m128n128w8s3:heads+ws+pe+pg+pq
echo "===== D=128 rows at 12b ($((SECONDS - T0)) s)"
timeout 100 $S --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1 \
    --configs default,m128n128w8s3:heads+ws+pe+pg,m128n128w8s3:heads+ws+pg
echo "done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
