#!/usr/bin/env bash
# session 10, call 3, on the two H200s left warm: the PR-matrix backfill (issue 17), one job per
# GPU, each on every other missing commit (ci/backfill.py), with the session's device time left
# (DEADLINE seconds); the GPUs' folders come back as one backfill.tgz
ASV_DEADLINE_S=${DEADLINE:-560} bash ci/gpu_job.sh backfill
echo "backfill: rc $? after ${SECONDS}s"
ls -la "$OUT"
