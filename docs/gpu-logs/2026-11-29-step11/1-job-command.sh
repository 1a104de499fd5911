#!/usr/bin/env bash
# step 11 (issue 16): GPU tests with prefetch_q, then its sweep beside default and FlashInfer
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
T0=$SECONDS
for f in .device-cache/*.tgz; do tar -xzf "$f" -C ~; done
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,enforced.power.limit,temperature.gpu,clocks_event_reasons.active --format=csv,nounits -lms 500 > $OUT/telemetry.csv 2>&1 &
REQUIRE_GPU=1 timeout 270 python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_kernel.py tests/test_validation.py \
   2>&1 | tail -25 | tee $OUT/tests.log
echo "tests done at $((SECONDS - T0)) s"
FI=flashinfer-0.7.2-fa3
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 8 --peers $FI --baseline $FI"
PQ=m128n64w8s4:heads+pf+ws+pe+pg+pq
{
timeout 110 $S --head-dim 128 --n-ctx 1024,2048,4096 --windows -1,127,512 \
  --configs default,m128n64w8s4:heads+pf+ws+pe+pg,$PQ
timeout 60 $S --head-dim 128 --n-ctx 8192 --windows 127,512 --configs default,$PQ
timeout 50 $S --head-dim 128 --n-ctx 8192 --windows -1 --configs default,m128n128w8s2:heads+ws+pe+pg+pq
timeout 40 $S --head-dim 64 --n-ctx 1024,4096 --windows -1 --configs default,$PQ
timeout 45 $S --head-dim 256 --n-ctx 1024,4096 --windows -1,512 \
  --configs default,m128n32w8s3:heads+pf+ws+pe+pg+pq
} 2>&1 | tee $OUT/sweep.log
echo "end at $((SECONDS - T0)) s"
