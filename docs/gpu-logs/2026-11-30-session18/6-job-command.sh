#!/usr/bin/env bash
# session 18, call 6 on nvidia-h200 (cold; carry .whl .bundle .device-cache/triton-cache.txz): the
# backfill of the one kernel commit without its PR matrix stored (6931e12, SASS the same as its parent)
python3 ci/compile_caches.py unpack .device-cache && GPU_JOB_CACHES_RESTORED=1 ASV_DEADLINE_S=420 bash ci/gpu_job.sh backfill > $OUT/backfill-job.log 2>&1; echo rc $?; tail -5 $OUT/backfill-job.log; rm -f $OUT/*.txz; ls $OUT
