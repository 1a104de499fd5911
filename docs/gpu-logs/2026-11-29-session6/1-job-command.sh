#!/usr/bin/env bash
# session 6, call 1 (issue 16): stall reasons of ours and FlashInfer without a window, then
# the consumers taking turns (pingpong, +pp) with and without overlap_pv on each D=128 row,
# the long row persistent, and D=64's persistent 128-key row at every n_ctx
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for c in flashinfer-jit-hd128 flashinfer-jit-hd64 triton-cache; do tar -xzf .device-cache/$c.tgz -C ~; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
FI=flashinfer-0.7.2-fa3
LONG=m128n128w8s3:heads+ws+pg
SHORT=m128n64w8s4:heads+pf+ws+pe+pg+pq
NCU="ncu --profile-from-start off --clock-control none --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,gpu__time_duration.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__warps_eligible.avg.per_cycle_active"
{
echo "===== ncu 8192 none ($((SECONDS - T0)) s)"
timeout 120 $NCU python3 -m tools.ncu_point --impls default,$FI,$LONG+op,$LONG+pp,$LONG+op+pp --n-ctx 8192 --windows=-1
echo "===== ncu 2048 none ($((SECONDS - T0)) s)"
timeout 90 $NCU python3 -m tools.ncu_point --impls default,$FI,$SHORT+pp,$SHORT+op+pp --n-ctx 2048 --windows=-1
echo "ncu done at $((SECONDS - T0)) s"
} > $OUT/ncu.txt 2>&1
tail -1 $OUT/ncu.txt
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
{
echo "===== D=128 no window ($((SECONDS - T0)) s)"
timeout 170 $S --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1 \
    --configs default,$LONG+pp,$LONG+op+pp,m128n128w8s3:heads+ws+pe+pg,m128n128w8s3:heads+ws+pe+pg+pp,m128n128w8s3:heads+ws+pe+pg+op+pp,$SHORT+pp,$SHORT+op+pp
echo "===== D=128 windows ($((SECONDS - T0)) s)"
timeout 80 $S --head-dim 128 --n-ctx 1024,8192 --windows=127,512 \
    --configs default,$SHORT+op+pp
echo "===== D=64 no window ($((SECONDS - T0)) s)"
timeout 110 $S --head-dim 64 --n-ctx 1024,2048,4096,8192 --windows=-1 \
    --configs default,m128n128w8s4:heads+ws+pe+pg+pq,m128n128w8s4:heads+ws+pe+pg+pq+pp,m128n128w8s4:heads+ws+pe+pg+pq+op+pp,$SHORT+pp
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
