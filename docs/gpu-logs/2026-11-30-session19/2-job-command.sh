#!/usr/bin/env bash
# session 19, call 2, on the machine call 1 left warm (its .whl .bundle and Triton cache stay;
# carry .jobs .providers), at step 26 (64a37a4). No FlashInfer JIT cache in this new checkout:
# each head dim's JIT build (about 110 s) happens here, and the packed caches come back for
# .device-cache/. LIMIT: the seconds this call may run.
#   GPU 0: Peers at HEAD, both pools, default and FlashInfer (issue 16's table)
#   GPU 1: PeersHeadDims at HEAD (issue 16's head dims 64 and 256), default and FlashInfer
set -u
export PYTHONUNBUFFERED=1
root=$OUT
{ mkdir -p $root/peers
  OUT=$root/peers GPU_JOB_GPU=0 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=$((LIMIT - 40)) \
      bash ci/gpu_job.sh peers all HEAD^!
  echo "gpu0 peers all: rc $? after ${SECONDS}s"; } > $root/gpu0.log 2>&1 &
{ mkdir -p $root/hd
  OUT=$root/hd GPU_JOB_GPU=1 ASV_DEADLINE_S=$((LIMIT - 40)) bash ci/gpu_job.sh peers-head-dims HEAD^!
  echo "gpu1 peers-head-dims: rc $? after ${SECONDS}s"; } > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs $root/cache && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
# the compile caches: FlashInfer's per head dim from both jobs, Triton's from the peers job
mv $root/peers/*.txz $root/cache/ 2>/dev/null
for f in $root/hd/flashinfer-jit-*.txz; do [ -e "$f" ] && mv -n "$f" $root/cache/; done
rm -f "$root"/hd/*.txz
ls -la $root/cache
tar -czf $root/s19-2.tgz -C $root --remove-files peers hd logs cache
