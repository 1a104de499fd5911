#!/usr/bin/env bash
# Two peers classes in one device call, each its own asv run (asv saves a run only when it ends):
# PeersHeadDims first; then the fragmented pool of Peers, only if it can still finish.
root=$OUT
OUT=$root/hd bash ci/gpu_job.sh peers-head-dims HEAD^!
echo "head dims: rc $? after ${SECONDS}s"
if [ $((555 - SECONDS)) -ge 330 ]; then
    OUT=$root/frag ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh peers fragmented HEAD^!
    echo "fragmented: rc $? after ${SECONDS}s"
else
    echo "fragmented: not started, $((555 - SECONDS))s left"
fi
# the device tool brings back 8 files: the compile caches stay behind
rm -f "$root"/*/flashinfer-jit-*.tgz "$root"/*/triton-cache.tgz "$root"/frag/machine.txt
ls -la "$root"/*
