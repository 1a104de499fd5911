#!/usr/bin/env bash
# session 12, call 4, on one nvidia-h200 (carry .jobs .whl .bundle .providers and the hd128
# FlashInfer JIT cache): step 19 (361a53f)
#   1. Peers, both pools, default and FlashInfer, stored (issue 16's table at step 19)
#   2. the GPU tests of the three-consumer configs (-k m192), in the time left
set -u
export PYTHONUNBUFFERED=1
tar -xzf .device-cache/flashinfer-jit-hd128.tgz -C ~
export GPU_JOB_CACHES_RESTORED=1
PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=430 bash ci/gpu_job.sh peers all HEAD^! > $OUT/job.log 2>&1
echo "peers all: rc $? after ${SECONDS}s" | tee -a $OUT/job.log
left=$((465 - SECONDS))
if [ "$left" -gt 30 ]; then
    REQUIRE_GPU=1 timeout $left python3 -m pytest -q -p no:cacheprovider -n 14 tests/test_kernel.py -k m192 > $OUT/gpu-tests-m192.log 2>&1
    echo "tests -k m192: rc $? after ${SECONDS}s" | tee -a $OUT/gpu-tests-m192.log
fi
rm -f $OUT/triton-cache.tgz $OUT/flashinfer-jit-*.tgz
tail -n 3 $OUT/job.log $OUT/gpu-tests-m192.log 2>/dev/null
ls -la $OUT
