#!/usr/bin/env bash
# session 16, call 1 on nvidia-h200-x2, cold (carry .jobs .whl .bundle .device-cache; the bundle
# prepared after refs/bundle/exp/two-bound-masks was set: `git bundle list-heads .bundle/repo.bundle`)
#   GPU 0: exp/two-bound-masks (46ac9c1) against its parent (ae0418d) in one process, both checked
#          against the reference at every point first (tools.ab_kernels): head dim 128 at every
#          PR-matrix n_ctx and window, then head dims 64 and 256. Predicted (MEASUREMENTS,
#          session 15): W127 1.03-1.08x, W256 1.02-1.05x, W512 1.01-1.03x, no window within 1%.
#   GPU 1: where head dim 128's windowed row waits, per SASS instruction: ncu's source counters
#          on one call of `default` at 8192/W127 (read with `python3 -m tools.ncu_source` over the
#          ranges `python3 -m tools.sass_loops --configs default --head-dim 128 --shape windowed`
#          prints); then the PR-matrix backfill (6 kernel commits left), as far as it gets
set -u
export PYTHONUNBUFFERED=1
root=$OUT
# the compile caches once, before the jobs side by side (ci/compile_caches.py)
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
{
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
    AB="python3 -m tools.ab_kernels --old ae0418d --new 46ac9c1 --variants default --rounds 2 --pool contiguous"
    export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0
    timeout 300 $AB --head-dim 128 --n-ctx 1024,2048,4096,8192 --windows=-1,127,256,512
    echo "gpu0 ab d128: rc $? after ${SECONDS}s"
    timeout 120 $AB --head-dim 64 --n-ctx 2048,8192 --windows=-1,127,512
    echo "gpu0 ab d64: rc $? after ${SECONDS}s"
    timeout $((555 - SECONDS)) $AB --head-dim 256 --n-ctx 2048,8192 --windows=-1,127,512
    echo "gpu0 ab d256: rc $? after ${SECONDS}s"
} > $root/ab-two-bound-masks.log 2>&1 &
{
    mkdir -p $root/ncu $root/gpu1
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout 180 ncu --profile-from-start off \
        --clock-control none -k regex:_extend_attention_ws --section SourceCounters \
        --section WarpStateStats -o $root/ncu/prof \
        python3 -m tools.ncu_point --impls default --head-dim 128 --n-ctx 8192 --windows 127 \
        > $root/ncu/ncu-run.txt 2>&1
    echo "gpu1 ncu: rc $? after ${SECONDS}s"
    ncu -i $root/ncu/prof.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/source-sass.csv.gz
    ncu -i $root/ncu/prof.ncu-rep --page details > $root/ncu/ncu-details.txt 2>&1
    rm -f $root/ncu/prof.ncu-rep
    OUT=$root/gpu1 GPU_JOB_GPU=1 ASV_DEADLINE_S=$((555 - SECONDS)) bash ci/gpu_job.sh backfill
    echo "gpu1 backfill: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/ab-two-bound-masks.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/gpu1.log
grep -v '^$' $root/logs/ab-two-bound-masks.log | tail -n 60
rm -f "$root"/*/*.txz
tar -czf $root/s16-1.tgz -C $root --remove-files ncu logs gpu1
