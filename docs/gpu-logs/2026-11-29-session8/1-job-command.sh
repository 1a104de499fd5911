#!/usr/bin/env bash
# session 8, call 1: the PR-matrix backfill (issue 17), resumed where session 7 stopped (8c97c4e)
OUT=$OUT/backfill ASV_DEADLINE_S=545 bash ci/gpu_job.sh backfill
echo "backfill: rc $? after ${SECONDS}s"
rm -f "$OUT"/*/flashinfer-jit-*.tgz "$OUT"/*/triton-cache.tgz "$OUT"/backfill/machine.txt
ls -la "$OUT"/*
