#!/usr/bin/env bash
# session 22, call 9, on the machine call 8 left warm (its .whl .bundle and Triton cache stay;
# carry .jobs .providers .device-cache), at step 29 (HEAD 6643ea4). FlashInfer's JIT
# modules for head dims 64, 128 and 256 come from .device-cache (session 19, call 2), so no
# JIT build should happen here. LIMIT: the seconds this call may run.
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer (issue 16's table)
#   GPU 1: PeersHeadDims at HEAD (issue 16's head dims 64 and 256), default and FlashInfer
#   Predicted: Peers as at step 28 (head dim 128 unchanged); PeersHeadDims head dim 64 8192/none
#   0.995x -> about 1.00x (0.99-1.01x), the rest as at step 28
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
tar -czf $root/s22-9.tgz -C $root --remove-files peers hd logs
