#!/usr/bin/env bash
# session 6, call 4: PeersHeadDims at step 13 (issue 16), then the PR-matrix backfill (issue 17)
# with the time left. Each is its own asv run (asv saves a run only when it ends).
root=$OUT
OUT=$root/hd ASV_DEADLINE_S=300 bash ci/gpu_job.sh peers-head-dims HEAD^!
echo "head dims: rc $? after ${SECONDS}s"
if [ $((560 - SECONDS)) -ge 240 ]; then
    OUT=$root/backfill ASV_DEADLINE_S=$((560 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "backfill: rc $? after ${SECONDS}s"
else
    echo "backfill: not started, $((560 - SECONDS))s left"
fi
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz "$root"/backfill/machine.txt
ls -la "$root"/*
