#!/usr/bin/env bash
# session 22, call 5 on nvidia-h200-x2, from main (0fa8bd7's kernel; carry .jobs)
#   Session 21 measured head dim 128's long row with one key stream (+ks) 0.96x at 8192/none
#   and 0.90x at 2048/none against its two streams, though the consumers' tile loops compile
#   alike (447-636 instructions a pass against 452-630) and one stream needs fewer tiles. Its
#   guess: the boundary tile's extend rows through the producer's row copies. Here ncu's
#   source counters on one call of each at 2048/none (the long row's knobs, spelled out: at
#   2048 `default` runs the short row), so that tools.ncu_source can put the loss in a place.
#   Predicted: the +ks consumers wait longer for `ready` (a stage) than the two-stream ones
#   (3.5% of their samples at step 14), if the producer's row copies are the cause
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/ncu
prof() {  # GPU NAME SPEC
    local gpu=$1 name=$2 spec=$3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout 280 ncu \
        --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats --section SpeedOfLight -o $root/ncu/$name \
        python3 -m tools.ncu_point --impls $spec --head-dim 128 --n-ctx 2048 --windows=-1 \
        > $root/ncu/$name-run.txt 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
    ncu -i $root/ncu/$name.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/$name-source-sass.csv.gz
    ncu -i $root/ncu/$name.ncu-rep --page details > $root/ncu/$name-details.txt 2>&1
    rm -f $root/ncu/$name.ncu-rep
}
prof 0 two-streams m128n128w8s3:heads+ws+pe+pg+tm+os > $root/gpu0.log 2>&1 &
prof 1 one-stream m128n128w8s3:heads+ws+pe+pg+tm+os+ks > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/ncu/*-details.txt; do echo "== $f"; grep -E 'Duration|SM Frequency|Compute \(SM\) Throughput|Memory Throughput|Warp Cycles Per Issued|Issued Warp' $f | head -8; done
tar -czf $root/s22-5.tgz -C $root --remove-files ncu gpu0.log gpu1.log
