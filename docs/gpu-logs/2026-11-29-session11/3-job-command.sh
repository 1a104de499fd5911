GPU_JOB_CACHES_RESTORED=1 ASV_DEADLINE_S=530 OUT=$OUT bash ci/gpu_job.sh backfill > $OUT/backfill-driver.log 2>&1; echo rc $?; tail -12 $OUT/backfill-driver.log; ls -la $OUT
