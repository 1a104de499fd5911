#!/usr/bin/env bash
# session 23, call 8, on the machine call 7 left warm (its .whl .bundle and Triton cache stay;
# carry .jobs .providers .device-cache), at step 31 (HEAD). FlashInfer's JIT
# modules for head dims 64, 128 and 256 come from .device-cache (session 19, call 2), so no
# JIT build should happen here. LIMIT: the seconds this call may run.
#   A second Peers and PeersHeadDims run at step 31, not stored (asv keeps one result of a
#   benchmark per commit; call 6's is stored): the spread of issue 16's thin margins, 8192/none
#   (566.8 / 562.1 TFLOP/s in call 6, 560 wanted) and head dim 64's 8192/none (1.009x).
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer
#   GPU 1: PeersHeadDims at HEAD, default and FlashInfer
#   Predicted: within 2% of call 6 at every point (8192/none 550-575 TFLOP/s)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
# unpacked once, before both jobs: two jobs unpacking the same files at once read each other's halves
python3 ci/compile_caches.py unpack .device-cache || exit 1
export GPU_JOB_CACHES_RESTORED=1
{ mkdir -p $root/peers
  OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=$((LIMIT - 40)) \
      bash ci/gpu_job.sh peers all HEAD^!
  echo "gpu0 peers all: rc $? after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/hd
  OUT=$root/hd GPU_JOB_GPU=1 ASV_DEADLINE_S=$((LIMIT - 40)) bash ci/gpu_job.sh peers-head-dims HEAD^!
  echo "gpu1 peers-head-dims: rc $? after ${SECONDS}s"; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
rm -f "$root"/*/*.txz
tar -czf $root/s23-8.tgz -C $root --remove-files peers hd logs
