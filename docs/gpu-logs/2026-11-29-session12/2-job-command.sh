#!/usr/bin/env bash
# session 12, calls 2 and 3, on the warm nvidia-h200-x2: the PR-matrix backfill on both GPUs
# (issue 17), after restoring what the earlier calls measured (~/keep) so the shards skip it.
# Usage: bash .jobs/s12-2-x2.sh NAME
set -u
source .jobs/keep.sh
export PYTHONUNBUFFERED=1
name=$1
keep_restore
if [ ! -d ~/.triton ] || [ ! -d ~/.cache/flashinfer ]; then
    for cache in .device-cache/*.tgz; do [ -f "$cache" ] && tar -xzf "$cache" -C ~; done
fi
GPU_JOB_CACHES_RESTORED=1 ASV_DEADLINE_S=560 bash ci/gpu_job.sh backfill
echo "backfill: rc $? after ${SECONDS}s"
mv $OUT/backfill.tgz $OUT/$name.tgz && keep_save $OUT/$name.tgz
ls -la $OUT
