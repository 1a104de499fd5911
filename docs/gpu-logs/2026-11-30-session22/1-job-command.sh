#!/usr/bin/env bash
# session 22, call 1 on nvidia-h200-x2 (cold), from a checkout of exp/ws-registers (carry .jobs)
#   The register split (max_registers on a warp-specialized config = each consumer's
#   registers, the producer the rest of the launch's 504 a thread of three warpgroups):
#   D=128 long row at 216/72 (default) spills 56 bytes (consumer 0's masked arm); 232/40
#   compiles with none; 224/56 32 bytes; 240/24 48 (the producer).
#   Predicted: r232 1.00-1.01x at 8192/none and 4096/none; r232 with the softmax over P.V
#   (+op, stack 0 now, 40 bytes at 216) 0.97-1.02x; D=64's long row (stack 0 at 216):
#   r224 0.99-1.01x, +op 0.99-1.01x, +di 0.99-1.00x, s5 1.00-1.01x; the three-consumer short
#   rows at r160/32 0.98-1.01x
#   GPU 0: head dim 128 sweeps; GPU 1: head dim 64 sweeps. Each sweep twice, its configs in
#   the other order the second time, for the spread of one round.
set -u
export PYTHONUNBUFFERED=1
root=$OUT
mkdir -p $root/sweep
sweep() {  # GPU NAME TIMEOUT ARGS...
    local gpu=$1 name=$2 limit=$3
    shift 3
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$gpu timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --baseline default --compile-workers 14 --windows=-1 "$@" > $root/sweep/$name.log 2>&1
    echo "gpu$gpu $name: rc $? after ${SECONDS}s"
}
L128=m128n128w8s3:heads
K128=ws+pe+pg+tm+os
S128=m192n64w12s3:heads
KS128=ws+pe+pg+pq+di+tm+os
L64=m128n128w8s4:heads
K64=ws+pe+pg+pq+tm+os+ks
d128="default,$L128+r224+$K128,$L128+r232+$K128,$L128+r240+$K128,$L128+${K128/tm/op+tm},$L128+r232+${K128/tm/op+tm}"
d128s="default,$S128+r160+$KS128"
d64="default,$L64+r224+$K64,$L64+r232+$K64,$L64+${K64/tm/op+tm},$L64+${K64/tm/di+tm},m128n128w8s5:heads+$K64"
d64s="default,$S128+r160+ws+pe+pg+pq+tm+os+ks"
rev() { echo "$1" | tr , '\n' | tac | paste -sd, ; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
{
    sweep 0 d128-long-a 200 --head-dim 128 --n-ctx 8192,4096 --configs "$d128"
    sweep 0 d128-long-b 150 --head-dim 128 --n-ctx 8192,4096 --configs "$(rev $d128)"
    sweep 0 d128-short 120 --head-dim 128 --n-ctx 2048,1024 --configs "$d128s"
} > $root/gpu0.log 2>&1 &
{
    sweep 1 d64-long-a 200 --head-dim 64 --n-ctx 8192 --configs "$d64"
    sweep 1 d64-long-b 150 --head-dim 64 --n-ctx 8192 --configs "$(rev $d64)"
    sweep 1 d64-short 120 --head-dim 64 --n-ctx 4096,1024 --configs "$d64s"
} > $root/gpu1.log 2>&1 &
wait
cat $root/gpu0.log $root/gpu1.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | grep -v Warning | tail -n 22; done
tar -czf $root/s22-1.tgz -C $root --remove-files sweep gpu0.log gpu1.log
