#!/usr/bin/env bash
# session 7, call 2 (issue 16): per-thread release of a stage (exp/free-per-thread, 9b89d76)
# against step 13 (cf5e19b) in one process; D=128's rows without a window at every n_ctx
# (the short/long class boundary); where the long row's warps stall, per
# SASS instruction (ncu source counters)
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for c in flashinfer-jit-hd128 triton-cache; do tar -xzf .device-cache/$c.tgz -C ~; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
FI=flashinfer-0.7.2-fa3
AB="python3 -m tools.ab_kernels --old cf5e19b --new 9b89d76 --variants default --rounds 2 --pool contiguous"
{
echo "===== A/B D=128 ($((SECONDS - T0)) s)"
timeout 170 $AB --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,512
echo "===== A/B D=64, D=256 ($((SECONDS - T0)) s)"
timeout 60 $AB --head-dim 64 --n-ctx 2048,8192 --windows=-1
timeout 60 $AB --head-dim 256 --n-ctx 4096 --windows=-1
echo "ab done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/ab.log
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
{
echo "===== D=128 no window ($((SECONDS - T0)) s)"
timeout 130 $S --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1 \
    --configs default,m128n128w8s3:heads+ws+pe+pg,m128n128w8s2:heads+ws+pe+pg+pq,m128n64w8s5:heads+pf+ws+pe+pg+pq
echo "sweeps done at $((SECONDS - T0)) s"
} 2>&1 | tee $OUT/sweeps.log
left=$((440 - SECONDS))
if [ $left -ge 60 ]; then
    timeout $((left - 20)) ncu --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats -o $OUT/prof \
        python3 -m tools.ncu_point --impls default --n-ctx 8192 --windows=-1 > $OUT/ncu-run.txt 2>&1
    ncu -i $OUT/prof.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $OUT/source-sass.csv.gz
    ncu -i $OUT/prof.ncu-rep --page details 2>&1 > $OUT/ncu-details.txt
    # the report itself only where it fits what comes back
    [ "$(stat -c%s $OUT/prof.ncu-rep 2>/dev/null || echo 0)" -lt 30000000 ] || rm -f $OUT/prof.ncu-rep
fi
echo "all done at $((SECONDS - T0)) s"
ls -la $OUT
