#!/usr/bin/env bash
# session 23, call 6, on the machine call 5 left warm (its .whl .bundle and Triton cache stay;
# carry .jobs .providers .device-cache), at step 31 (HEAD). FlashInfer's JIT
# modules for head dims 64, 128 and 256 come from .device-cache (session 19, call 2), so no
# JIT build should happen here. LIMIT: the seconds this call may run.
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer (issue 16's table)
#   GPU 1: PeersHeadDims at HEAD (issue 16's head dims 64 and 256), default and FlashInfer
#   Predicted: Peers at 8192/none 1.034x -> 1.08-1.10x FlashInfer (535 -> 555-570 TFLOP/s),
#   4096/none 1.11x -> 1.19-1.21x, the windowed points and 2048, 1024 as at step 29;
#   PeersHeadDims head dim 256 8192/none 1.04x -> 1.25-1.35x, 4096/none and 1024/none 3-5% up,
#   head dim 128 8192/none and 4096/none 5-8% up, head dim 64 as at step 29
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
tar -czf $root/s23-6.tgz -C $root --remove-files peers hd logs
