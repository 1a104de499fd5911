#!/usr/bin/env bash
# session 22, call 3 on nvidia-h200-x2, from main (0fa8bd7's kernel; carry .jobs)
#   Calls 1-2: neither the register split nor the early index loads helped. A two-point fit
#   of the PR matrix's long-row times (8192 and 4096, call 2's A column) against tiles and
#   items puts an item's fixed cost near 3.7 us, two tiles' worth, 6% of 8192/none and 11% of
#   4096/none. Here uniform batches measure it directly (.jobs/item_cost.py): time per item
#   against tiles per item, fitted with a line.
#   Predicted: head dim 128's long row 1.5-2.5 tiles' worth an item; head dim 64's long row
#   (Q copied ahead there) less, 1-2
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/probe
probe() {  # GPU NAME ARGS...
    local gpu=$1 name=$2
    shift 2
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu PYTHONPATH=$PWD timeout 200 python3 .jobs/item_cost.py "$@" \
        > $root/probe/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
{
    probe 0 d128-e16 128 16 128,512,1024,2048,4096
    probe 0 d128-e128 128 128 128,512,1024,2048,4096
} > $root/gpu0.log 2>&1 &
{
    probe 1 d64-e16 64 16 128,512,1024,2048,4096
    probe 1 d64-e128 64 128 128,512,1024,2048,4096
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/probe/*.log; do echo "== $f"; grep -v '^$' $f | grep -v Warn | tail -n 12; done
tar -czf $root/s22-3.tgz -C $root --remove-files probe gpu0.log gpu1.log
