#!/usr/bin/env bash
# session 14, call 2, one GPU (carry .jobs .providers and the hd64 FlashInfer JIT cache):
# head dim 64's long row, the last points behind FlashInfer in PeersHeadDims (0.94x at 4096,
# 0.93x at 8192 without a window, 0d93b84). Three consumer warpgroups with 128-key tiles
# compile for sm_90 at 128 registers a consumer with a 64-byte stack frame (m192n128w12s3:
# 149 KB shared; s2: 116 KB); step 18 measured the 64-key three-consumer row within 1-3% of
# the long row at 8192. Every config checked first, timed in turns with the baseline.
set -u
export PYTHONUNBUFFERED=1
tar -xzf .device-cache/flashinfer-jit-hd64.tgz -C ~
S="python3 -m tools.sweep_blocks --pool contiguous --compile-workers 14 --head-dim 64 --baseline default"
C=default,m192n128w12s3:heads+ws+pe+pg+pq+tm,m192n128w12s2:heads+ws+pe+pg+pq+tm,m192n64w12s4:heads+ws+pe+pg+pq+tm,m128n128w8s3:heads+ws+pe+pg+pq+tm
timeout 520 $S --n-ctx 8192,4096 --windows=-1 --configs $C > $OUT/sweep-long-d64.log 2>&1
echo "sweep rc $? after ${SECONDS}s" | tee -a $OUT/sweep-long-d64.log
tail -n 30 $OUT/sweep-long-d64.log
