#!/usr/bin/env bash
# session 22, call 6 on nvidia-h200-x2, from main (0fa8bd7's kernel; carry .jobs)
#   Call 5 (the same profile at 2048/none): there one stream ran the long row 2% faster than
#   two (991 us against 1.01 ms, the profiled call), its consumers waiting for a stage 3.8% of
#   their loop's samples against 7.3%, its producer waiting for a free stage 49% of its loop's
#   against 63%. Session 21's 0.90x at 2048 compared it with `default`'s short row, not with
#   the long row. At 8192/none the comparison was with the long row: 0.96x. The same profile
#   at 8192/none, to place that loss.
#   Predicted: the one-stream producer's loop busier (less waiting for a free stage), the
#   consumers waiting for `ready` longer than the two-stream ones'
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/ncu
prof() {  # GPU NAME SPEC
    local gpu=$1 name=$2 spec=$3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout 280 ncu \
        --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats --section SpeedOfLight -o $root/ncu/$name \
        python3 -m tools.ncu_point --impls $spec --head-dim 128 --n-ctx 8192 --windows=-1 \
        > $root/ncu/$name-run.txt 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
    ncu -i $root/ncu/$name.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $root/ncu/$name-source-sass.csv.gz
    ncu -i $root/ncu/$name.ncu-rep --page details > $root/ncu/$name-details.txt 2>&1
    rm -f $root/ncu/$name.ncu-rep
}
#   Then, timed in turns: the two layouts of the long row at 8192, 4096 and 2048 (`default` is
#   the long row at 8192 and 4096, the short row at 2048), each GPU the configs in another order
L=m128n128w8s3:heads+ws+pe+pg+tm+os
sweep() {  # GPU NAME CONFIGS
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$1 timeout 150 python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --compile-workers 14 --head-dim 128 \
        --n-ctx 8192,4096,2048 --windows=-1 --configs $3 > $root/ncu/sweep-$2.log 2>&1
    echo "gpu$1 sweep: rc $? after ${SECONDS}s"
}
{ prof 0 two-streams $L; sweep 0 a default,$L,$L+ks; } > $root/gpu0.log 2>&1 &
{ prof 1 one-stream $L+ks; sweep 1 b default,$L+ks,$L; } > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/ncu/sweep-*.log; do echo "== $f"; grep -v '^$' $f | grep -v Warn | tail -n 18; done
for f in $root/ncu/*-details.txt; do echo "== $f"; grep -E 'Duration|SM Frequency|Compute \(SM\) Throughput|Memory Throughput|Warp Cycles Per Issued|Issued Warp' $f | head -8; done
tar -czf $root/s22-6.tgz -C $root --remove-files ncu gpu0.log gpu1.log
