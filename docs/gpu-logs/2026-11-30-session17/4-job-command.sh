#!/usr/bin/env bash
# session 17, call 4, on the machine call 3 left warm (its .whl .bundle .providers and compile
# caches stay; carry .jobs .device-cache/flashinfer-jit-hd64.txz .device-cache/flashinfer-jit-hd256.txz),
# at step 24 (70a963e). LIMIT: the seconds this call may run.
#   GPU 0: the GPU tests at HEAD
#   GPU 1: PeersHeadDims at HEAD (issue 16's head dims 64 and 256), default and FlashInfer
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{ mkdir -p $root/tests
  OUT=$root/tests GPU_JOB_GPU=0 timeout $((LIMIT - 20)) bash ci/gpu_job.sh tests
  echo "gpu0 tests: rc $? after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/hd
  OUT=$root/hd GPU_JOB_GPU=1 ASV_DEADLINE_S=$((LIMIT - 35)) bash ci/gpu_job.sh peers-head-dims HEAD^!
  echo "gpu1 peers-head-dims: rc $? after ${SECONDS}s"; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log $root/tests/gpu_tests.log
rm -f "$root"/*/*.txz
tar -czf $root/s17-d.tgz -C $root --remove-files tests hd logs
