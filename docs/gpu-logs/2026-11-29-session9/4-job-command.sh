#!/usr/bin/env bash
# session 9, call 4, on the machine call 3 left warm (its .whl, .bundle, .providers and
# .device-cache files are still there): PeersHeadDims at the newest kernel commit (issue 16),
# the GPU tests there (step 16b), then the PR-matrix backfill (issue 17) with the time left. Each is its own asv run (asv
# saves a run only when it ends).
root=$OUT
ls -la .device-cache .whl .bundle .providers
OUT=$root/hd ASV_DEADLINE_S=300 bash ci/gpu_job.sh peers-head-dims HEAD^!
echo "head dims: rc $? after ${SECONDS}s"
timeout $((560 - SECONDS)) bash ci/gpu_job.sh tests > $root/gpu-tests.log 2>&1
echo "tests: rc $? after ${SECONDS}s" | tee -a $root/gpu-tests.log
tail -3 $root/gpu-tests.log
if [ $((560 - SECONDS)) -ge 200 ]; then
    OUT=$root/backfill ASV_DEADLINE_S=$((560 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "backfill: rc $? after ${SECONDS}s"
else
    echo "backfill: not started, $((560 - SECONDS))s left"
fi
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz "$root"/backfill/machine.txt
ls -la "$root"/*
