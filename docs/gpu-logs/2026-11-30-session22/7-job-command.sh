#!/usr/bin/env bash
# session 22, call 7 on nvidia-h200-x2, from a checkout of exp/ws-registers (carry .jobs .bundle)
#   Call 1's sweeps measured head dim 64's long row at 224 registers a consumer (56 for the
#   producer) 1.006x and 1.004x its 216/72 split, one round each; head dim 128's long row
#   1.000x / 0.997x. Issue 16's last head-dim point, D=64 8192/none, is 0.995x FlashInfer.
#   The branch's `default` gives that row the 224/56 split (the only compile that changes:
#   tools.sass_diff --old main, 8 of 9 the same; no stack either way). The same A/B on both
#   GPUs, three rounds each, for two estimates; W512 (the windowed row, unchanged) as a control.
#   Predicted: 8192/none 1.000-1.008x, W512 0.995-1.005x
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/ab
ab() {  # GPU
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$1 timeout 200 python3 -m tools.ab_kernels \
        --old 0fa8bd7 --variants default --pool contiguous --rounds 3 --head-dim 64 \
        --n-ctx 8192 --windows=-1,512 > $root/ab/d64-gpu$1.log 2>&1
    echo "gpu$1 ab: rc $? after ${SECONDS}s"
}
ab 0 > $root/gpu0.log 2>&1 &
ab 1 > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/ab/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 6; done
tar -czf $root/s22-7.tgz -C $root --remove-files ab gpu0.log gpu1.log
