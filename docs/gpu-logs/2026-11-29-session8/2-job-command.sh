#!/usr/bin/env bash
# session 8, call 2 (issue 16): (b) diagnostic: the warp-specialized kernel with parts of its
# work left out (exp/ablate, 196764d), timed; (a) dynamic item scheduling with its ring fixed
# (7fa217a): one checked point under a timeout, then A/B against step 14 (fd3e1bd)
set -u -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
tar -xzf .device-cache/triton-cache.tgz -C ~
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv | tee $OUT/machine.txt
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu,clocks_event_reasons.active --format=csv,nounits -lms 500 > $OUT/telemetry.csv 2>&1 &
TELEMETRY=$!
# (b) compile every ablation at once, then time them one after the other
pids=()
for a in 0 1 2 3 4; do EXTEND_ABLATE=$a timeout 150 python3 .jobs/ablate.py --warm > $OUT/warm-$a.log 2>&1 & pids+=($!); done
wait "${pids[@]}"
echo "warm done at ${SECONDS}s"; tail -n 3 $OUT/warm-*.log
{
echo "| ablate | n_ctx | window | ms |"; echo "|---|---|---|---|"
for a in 0 1 4 2 3 0; do EXTEND_ABLATE=$a timeout 60 python3 .jobs/ablate.py 2>&1 | grep -v Warning; done
} | tee $OUT/ablate.log
echo "ablate done at ${SECONDS}s"
# (a) one point first: the last try of this branch hung
AB="python3 -m tools.ab_kernels --old fd3e1bd --new 7fa217a --variants default --pool contiguous --head-dim 128"
if timeout 60 $AB --rounds 1 --n-ctx 1024 --windows=-1 2>&1 | tee $OUT/ab-dynamic-smoke.log; then
    timeout 200 $AB --rounds 2 --n-ctx 1024,2048,4096,8192 --windows=-1,127 2>&1 | tee $OUT/ab-dynamic.log
    echo "ab rc=${PIPESTATUS[0]} at ${SECONDS}s" | tee -a $OUT/ab-dynamic.log
else
    echo "smoke failed at ${SECONDS}s" | tee -a $OUT/ab-dynamic-smoke.log
fi
kill $TELEMETRY
