#!/usr/bin/env bash
# session 18, call 8 on nvidia-h200-x2 (cold), at step 25's kernel (c2f63ab; carry .jobs
# .providers .device-cache). The two marginal points of issue 16 under three loads of the board,
# three rounds each (tools.clock_probe: spaced as asv samples, each alone back to back, in
# turns call by call), ours against FlashInfer 0.7.2 fa3, contiguous pool:
#   GPU 0: head dim 128, 8192/none (`Peers` at step 25: 1.034x / 1.013x; 0.93-0.97x over four
#          runs of step 19's kernel). Predicted: ahead under every load, by 1-4%
#   GPU 1: head dim 64, 8192/none (`PeersHeadDims` at step 25: 0.953x). Predicted: behind under
#          every load, by 3-6%
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
probe() {  # GPU HEAD_DIM
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$1 timeout 400 python3 -m tools.clock_probe \
        --impls default,flashinfer-0.7.2-fa3 --head-dim $2 --n-ctx 8192 --windows=-1 --rounds 3 \
        > $root/probe/d$2-8192.log 2>&1
    echo "gpu$1 clock_probe d$2: rc $? after ${SECONDS}s"
}
mkdir -p $root/probe
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
probe 0 128 > $root/gpu0.log 2>&1 &
probe 1 64 > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 2 $root/logs/*.log
for f in $root/probe/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 4; done
tar -czf $root/s18-8.tgz -C $root --remove-files probe logs
