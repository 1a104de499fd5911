#!/usr/bin/env bash
# session 18, call 4, on the machine call 3 left warm (its .whl .bundle and compile caches
# stay; carry .jobs .providers .device-cache), at step 25 (c87d28a). LIMIT: the seconds this
# call may run.
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer (issue 16's table; 370 s at step 24)
#   GPU 1: PeersHeadDims at HEAD (issue 16's head dims 64 and 256), default and FlashInfer;
#          then ncu's source counters on head dim 128's long row at 8192/none (`default`), where
#          issue 16 still asks 6%: where its consumers wait now that O leaves through the Q
#          buffer (session 14 profiled it before steps 15-25)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{ mkdir -p $root/peers
  OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=$((LIMIT - 35)) \
      bash ci/gpu_job.sh peers all HEAD^!
  echo "gpu0 peers all: rc $? after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/hd $root/ncu
  OUT=$root/hd GPU_JOB_GPU=1 ASV_DEADLINE_S=$((LIMIT - 120)) bash ci/gpu_job.sh peers-head-dims HEAD^!
  echo "gpu1 peers-head-dims: rc $? after ${SECONDS}s"
  CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout $((LIMIT - 30 - SECONDS)) ncu \
      --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
      --section SourceCounters --section WarpStateStats -o $root/ncu/prof \
      python3 -m tools.ncu_point --impls default --head-dim 128 --n-ctx 8192 --windows=-1 \
      > $root/ncu/ncu-run.txt 2>&1
  echo "gpu1 ncu: rc $? after ${SECONDS}s"
  ncu -i $root/ncu/prof.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/source-sass.csv.gz
  ncu -i $root/ncu/prof.ncu-rep --page details > $root/ncu/ncu-details.txt 2>&1
  rm -f $root/ncu/prof.ncu-rep; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
rm -f "$root"/*/*.txz
tar -czf $root/s18-4.tgz -C $root --remove-files peers hd ncu logs
