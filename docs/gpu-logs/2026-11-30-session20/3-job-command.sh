#!/usr/bin/env bash
# session 20, call 3 on nvidia-h200-x2, cold, at HEAD 6051f87 (step 27's kernels, eb9e847), with
# a bundle made at HEAD (carry .jobs .whl .bundle). Calls 1 and 2 measured d2b7144 instead, the
# bundle's HEAD (session 19's exp/row-reciprocal: the same kernels as eb9e847 but a helper
# moved), so their suite and peers results are logs, not stored results.
#   GPU 0: the full suite but the peers at HEAD (365 s cold in call 1)
#   GPU 1: Triton's compile cache warmed for call 4's PeersHeadDims (head dims 64 and 256,
#          without a window and with one; 60-85 s each in series in call 2's setup cache): a
#          tools.quick_bench process per head dim and window, side by side
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/suite $root/warm
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=500 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    for d in 64 256; do
        for w in -1 512; do
            CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout 300 python3 -m tools.quick_bench \
                --variants default --pool contiguous --head-dim $d --n-ctx 1024 --windows=$w \
                > $root/warm/d$d-w$w.log 2>&1 &
        done
    done
    wait
    echo "gpu1 warm: done after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/*.log $root/warm/*.log
rm -f "$root"/*/*.txz
tar -czf $root/s20-3.tgz -C $root --remove-files suite warm logs
