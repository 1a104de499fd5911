#!/usr/bin/env bash
# session 22, call 4 on nvidia-h200-x2, from a checkout of exp/q-ahead-registers (carry .jobs .bundle)
#   Call 3 (.jobs/item_cost.py, uniform batches): head dim 128's long row pays 2.0 us a tile
#   and 2.8 us an item beyond its tiles (1.4 tiles' worth; with 16-token extends 3.6 us); head
#   dim 64's long row, whose consumers copy their next Q ahead, 2.0 us (1.6 of its tiles).
#   Head dim 128's long row has no room for a second Q buffer (3 stages of 64 KB), so each
#   item starts by loading its query rows and waiting for them. q_ahead_in_registers loads the
#   next item's rows into registers before the last P.V and stores them into the one buffer
#   once the output has left it.
#   Predicted: the long row's item cost 2.8 -> 2.0-2.4 us; the PR matrix's 8192/none
#   1.005-1.015x, 4096/none 1.01-1.03x (items are 5% and 11% of their time by call 3's fit)
#   GPU 0: A/B against 0fa8bd7 at head dim 128 (the long row's points), then the item-cost
#   probe. GPU 1: the GPU tests, 36 new random-shapes cases of three q_ahead configs
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/ab $root/probe $root/tests1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 150 python3 -m tools.ab_kernels \
        --old 0fa8bd7 --variants default --pool contiguous --rounds 3 --head-dim 128 \
        --n-ctx 8192,4096 --windows=-1 > $root/ab/d128.log 2>&1
    echo "gpu0 ab: rc $? after ${SECONDS}s"
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 PYTHONPATH=$PWD timeout 100 python3 .jobs/item_cost.py \
        128 128 128,512,1024,2048,4096 > $root/probe/d128-e128.log 2>&1
    echo "gpu0 probe: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    OUT=$root/tests1 GPU_JOB_GPU=1 GPU_TEST_WORKERS=14 timeout 420 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log; tail -n 2 $root/gpu1.log; tail -n 3 $root/tests1/gpu_tests.log
for f in $root/ab/*.log $root/probe/*.log; do echo "== $f"; grep -v '^$' $f | grep -v Warn | tail -n 10; done
tar -czf $root/s22-4.tgz -C $root --remove-files ab probe tests1 gpu0.log gpu1.log
