#!/usr/bin/env bash
# session 15, call 2, warm nvidia-h200-x2 right after call 1 (carry .jobs; .whl .bundle
# .providers stay there): the PR-matrix backfill on both GPUs, each on its shard for the whole call
set -u
export PYTHONUNBUFFERED=1
root=$OUT
export GPU_JOB_CACHES_RESTORED=1
for i in 0 1; do
    { mkdir -p $root/gpu$i
      OUT=$root/gpu$i GPU_JOB_GPU=$i BACKFILL_SHARD=$i/2 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
      echo "gpu$i backfill: rc $? after ${SECONDS}s"; } > $root/gpu$i.log 2>&1 &
done
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
tar -czf $root/s15-2.tgz -C $root --remove-files logs gpu0 gpu1
