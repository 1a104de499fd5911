#!/usr/bin/env bash
# session 17, call 1 on nvidia-h200-x2, cold, run from a checkout of exp/s17-all (e7eda1b:
# exp/o-through-shared merged with exp/pingpong, both knobs off in every tuned row; carry .jobs
# .whl .bundle .device-cache/triton-cache.txz)
#   GPU 0: LaunchConfig.o_through_shared (+os), LaunchConfig.pingpong (+pp) and both, against
#          `default` on `default`'s own rows, every config checked against the reference first,
#          then timed in turns (tools.sweep_blocks). Predicted (the branches' commits): +os D=128
#          W127 1.04-1.08x, W256 1.03-1.06x, W512 1.02-1.05x, D=64 windowed 1.04-1.10x, D=64
#          short and long 1.00-1.03x; +pp D=128 long 1.00-1.08x, windowed and short 0.97-1.03x.
#          Then exp/next-item-header (43f7dec) against its parent on main (1eff350), both
#          checked first (tools.ab_kernels). Predicted: D=128 W127 1.01-1.03x, up to 1.02x
#          elsewhere with a window and at D=64, none within 1%
#   GPU 1: the GPU tests of the merged branch (both knobs' configs among them; a turn protocol
#          that deadlocks shows as the timeout), then ncu's source counters on `default` and +os
#          at 8192/W127
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
K128W=m128n64w8s4:heads+ws+pe+pg+pq+op+tm
K64W=m128n64w8s4:heads+ws+pe+pg+pq+tm
sweep() {  # NAME TIMEOUT ARGS...: one sweep on GPU 0, against `default`
    local name=$1 limit=$2
    shift 2
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --baseline default "$@" > $root/sweep/$name.log 2>&1
    echo "gpu0 $name: rc $? after ${SECONDS}s"
}
{
    mkdir -p $root/sweep
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw,temperature.gpu --format=csv
    sweep d128-windowed 150 --head-dim 128 --n-ctx 8192,4096,2048,1024 --windows 127,256,512 \
        --configs default,$K128W+os,$K128W+pp,$K128W+os+pp
    sweep d128-long 100 --head-dim 128 --n-ctx 8192,4096 --windows=-1 \
        --configs default,m128n128w8s3:heads+ws+pe+pg+tm+pp
    sweep d128-short 80 --head-dim 128 --n-ctx 2048,1024 --windows=-1 \
        --configs default,m192n64w12s3:heads+ws+pe+pg+pq+di+tm+pp
    sweep d64-windowed 100 --head-dim 64 --n-ctx 8192,2048 --windows 127,512 \
        --configs default,$K64W+os,$K64W+pp,$K64W+os+pp
    sweep d64-short 80 --head-dim 64 --n-ctx 4096,2048,1024 --windows=-1 \
        --configs default,m192n64w12s3:heads+ws+pe+pg+pq+tm+os
    sweep d64-long 80 --head-dim 64 --n-ctx 8192 --windows=-1 \
        --configs default,m128n128w8s4:heads+ws+pe+pg+pq+tm+os,m128n128w8s4:heads+ws+pe+pg+pq+tm+pp
    AB="python3 -m tools.ab_kernels --old 1eff350 --new 43f7dec --variants default --rounds 2 --pool contiguous"
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 90 $AB --head-dim 128 \
        --n-ctx 1024,2048,4096,8192 --windows=-1,127,256,512 > $root/sweep/ab-next-item-header.log 2>&1
    echo "gpu0 ab d128: rc $? after ${SECONDS}s"
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 70 $AB --head-dim 64 \
        --n-ctx 2048,8192 --windows=-1,127,512 >> $root/sweep/ab-next-item-header.log 2>&1
    echo "gpu0 ab d64: rc $? after ${SECONDS}s"
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/tests $root/ncu
    OUT=$root/tests GPU_JOB_GPU=1 timeout 440 bash ci/gpu_job.sh tests
    echo "gpu1 tests: rc $? after ${SECONDS}s"
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1 timeout $((555 - SECONDS)) ncu \
        --profile-from-start off --clock-control none -k regex:_extend_attention_ws \
        --section SourceCounters --section WarpStateStats -o $root/ncu/prof \
        python3 -m tools.ncu_point --impls default,$K128W+os --head-dim 128 \
        --n-ctx 8192 --windows 127 > $root/ncu/ncu-run.txt 2>&1
    echo "gpu1 ncu: rc $? after ${SECONDS}s"
    [ -f $root/ncu/prof.ncu-rep ] && ncu -i $root/ncu/prof.ncu-rep --page details > $root/ncu/ncu-details.txt 2>&1
    rm -f $root/ncu/prof.ncu-rep
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 4 $root/logs/gpu1.log $root/tests/gpu_tests.log
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 30; done
tar -czf $root/s17-a.tgz -C $root --remove-files sweep tests ncu logs
