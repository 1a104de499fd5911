#!/usr/bin/env bash
# session 5, call 1 (issue 16): Nsight Compute of ours and FlashInfer at four points, then
# sweeps of the rows that are behind (D=64 long/windowed, D=128 no window and W512 short)
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for c in flashinfer-jit-hd128 flashinfer-jit-hd64 triton-cache; do tar -xzf .device-cache/$c.tgz -C ~; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
FI=flashinfer-0.7.2-fa3
NCU="ncu --profile-from-start off --clock-control none --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats --section InstructionStats --metrics sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum,sm__cycles_active.avg"
{
for point in "8192 -1" "2048 -1" "8192 127" "1024 512"; do
    set -- $point
    echo "===== ncu n_ctx=$1 window=$2 ($((SECONDS - T0)) s)"
    timeout 100 $NCU python3 -m tools.ncu_point --impls default,$FI --n-ctx $1 --windows=$2
done
} > $OUT/ncu.txt 2>&1
echo "ncu done at $((SECONDS - T0)) s" | tee -a $OUT/ncu.txt
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
{
echo "===== D=64 ($((SECONDS - T0)) s)"
timeout 150 $S --head-dim 64 --n-ctx 4096,8192 --windows=-1,512 \
    --configs default,m128n128w8s3:heads+ws+pg,m128n128w8s4:heads+ws+pg,m128n64w8s4:heads+pf+ws+pe+pg+pq,m128n128w8s4:heads+ws+pe+pg+pq
echo "===== D=128 ($((SECONDS - T0)) s)"
timeout 150 $S --head-dim 128 --n-ctx 1024,2048,4096 --windows=-1,512 \
    --configs default,m128n128w8s3:heads+ws+pe+pg+pq,m128n64w8s5:heads+pf+ws+pe+pg+pq,m128n128w8s3:heads+ws+pg
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
