#!/usr/bin/env bash
# session 19, call 4 on nvidia-h200-x2 (cold), at main (6c5677b, step 26's kernel; carry .jobs
# .providers .device-cache: no asv here, so no .whl or .bundle)
#   GPU 0: ncu's source counters on head dim 128's windowed row at 8192/W127 (`default`), where
#          issue 16 still asks 1.4 ms (1.49 ms): where its consumers wait now. Session 16
#          profiled it at step 21, before the output went through the Q buffer (steps 23-24)
#          and the lane sums (step 26); this session's header-ahead lead (0.98x there) says the
#          item header no longer binds
#   GPU 1: head dim 64's 8192/none, ours against FlashInfer 0.7.2 fa3 under three loads of the
#          board (tools.clock_probe, three rounds): issue 16's one point still behind (0.971x
#          in turns in PeersHeadDims at step 26; session 18's probe at step 25: 1.007x spaced,
#          1.041x back to back, 0.953x in turns)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
mkdir -p $root/ncu $root/probe
{
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 330 ncu \
        --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats -o $root/ncu/prof \
        python3 -m tools.ncu_point --impls default --head-dim 128 --n-ctx 8192 --windows 127 \
        > $root/ncu/ncu-run.txt 2>&1
    echo "gpu0 ncu: rc $? after ${SECONDS}s"
    ncu -i $root/ncu/prof.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/source-sass.csv.gz
    ncu -i $root/ncu/prof.ncu-rep --page details > $root/ncu/ncu-details.txt 2>&1
    rm -f $root/ncu/prof.ncu-rep
} > $root/gpu0.log 2>&1 &
{
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout 330 python3 -m tools.clock_probe \
        --impls default,flashinfer-0.7.2-fa3 --head-dim 64 --n-ctx 8192 --windows=-1 --rounds 3 \
        > $root/probe/d64-8192.log 2>&1
    echo "gpu1 probe: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log; tail -n 4 $root/probe/d64-8192.log
tar -czf $root/s19-4.tgz -C $root --remove-files ncu probe logs
