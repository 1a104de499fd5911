#!/usr/bin/env bash
# session 6, call 5 (issue 16's measurement at step 13; call 3 measured 5043f65 instead, fixed
# in cf29087): Peers, both pools in one asv run, ours and FlashInfer timed by asv
OUT=$OUT/peers PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=540 bash ci/gpu_job.sh peers all HEAD^!
echo "peers all: rc $? after ${SECONDS}s"
rm -f "$OUT"/*/flashinfer-jit-*.tgz "$OUT"/*/triton-cache.tgz
