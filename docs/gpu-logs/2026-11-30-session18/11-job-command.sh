#!/usr/bin/env bash
# session 18, call 11, on the machine call 10 left warm (carry .jobs .whl .bundle
# .device-cache/triton-cache.txz), from a checkout of exp/lane-sums (c18e512): its GPU tests in
# two shards, one per GPU (the Gluon random-shape tests; the rest), 14 compile workers each
python3 ci/compile_caches.py unpack .device-cache >/dev/null; export GPU_JOB_CACHES_RESTORED=1; mkdir -p $OUT/t0 $OUT/t1; (OUT=$OUT/t0 GPU_JOB_GPU=0 GPU_TEST_WORKERS=14 timeout 205 bash ci/gpu_job.sh tests -k gluon_kernels_random_shapes > $OUT/t0.log 2>&1; echo "rc $?" >> $OUT/t0.log) & (OUT=$OUT/t1 GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 205 bash ci/gpu_job.sh tests -k "not gluon_kernels_random_shapes" > $OUT/t1.log 2>&1; echo "rc $?" >> $OUT/t1.log) & wait; tail -n 3 $OUT/t0.log $OUT/t1.log; rm -f $OUT/t*/*.txz
