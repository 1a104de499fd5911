#!/usr/bin/env bash
# session 6, call 3 (issue 16's measurement at step 13): Peers, both pools in one asv run, ours
# and FlashInfer timed by asv (carry: FlashInfer's head-dim-128 JIT and Triton's cache only:
# the three FlashInfer caches together pass the 64 MiB a call carries)
OUT=$OUT/peers PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=540 bash ci/gpu_job.sh peers all HEAD^!
echo "peers all: rc $? after ${SECONDS}s"
# the device tool brings back 8 files: the compile caches stay behind
rm -f "$OUT"/*/flashinfer-jit-*.tgz "$OUT"/*/triton-cache.tgz
ls -la "$OUT"/*
