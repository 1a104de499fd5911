#!/usr/bin/env bash
# session 23, call 7 on nvidia-h200-x2, cold, at HEAD e3f8d7f (step 31; carry .jobs .whl .bundle)
#   The in-run A/B of steps 30 and 31 against step 29 (6643ea4), `default` through its
#   dispatch (the sweeps of calls 1-4 timed the configs spelled out), three rounds:
#   GPU 0: head dim 128 at 8192, 4096 and 2048 without a window (2048: the short row, as before)
#   GPU 1: head dim 256 at 8192, 4096 and 1024 without a window, and W512 at 4096 (unchanged)
#   Predicted: D=128 8192 1.04-1.07x, 4096 1.07-1.10x, 2048 0.99-1.01x; D=256 8192 1.15-1.30x,
#   4096 1.02-1.05x, 1024 1.03-1.06x, W512 0.99-1.01x
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/ab
ab() {  # GPU NAME ARGS...
    local gpu=$1 name=$2
    shift 2
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout 230 python3 -m tools.ab_kernels \
        --old 6643ea4 --variants default --pool contiguous --rounds 3 "$@" > $root/ab/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
ab 0 d128 --head-dim 128 --n-ctx 8192,4096,2048 --windows=-1 > $root/gpu0.log 2>&1 &
{ ab 1 d256 --head-dim 256 --n-ctx 8192,4096,1024 --windows=-1
  ab 1 d256-w512 --head-dim 256 --n-ctx 4096 --windows 512; } > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 8; done
tar -czf $root/s23-7.tgz -C $root --remove-files ab gpu0.log gpu1.log
