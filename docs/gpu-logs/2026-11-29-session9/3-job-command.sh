#!/usr/bin/env bash
# session 9, call 3 (issue 16's measurement at the newest kernel commit): Peers, both pools in
# one asv run, ours and FlashInfer timed by asv
OUT=$OUT/peers PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=440 bash ci/gpu_job.sh peers all HEAD^!
echo "peers all: rc $? after ${SECONDS}s"
rm -f "$OUT"/*/flashinfer-jit-*.tgz "$OUT"/*/triton-cache.tgz
ls -la "$OUT"/*
