#!/usr/bin/env bash
# session 17, call 2 on nvidia-h200-x2, cold, at step 23 (bc2c393; carry .jobs .whl .bundle
# .providers .device-cache/flashinfer-jit-hd128.txz .device-cache/triton-cache.txz)
#   GPU 0: the full suite but the peers at HEAD (297 s at 9dea780), then sweeps at step 23:
#          o_through_shared on head dim 128's short and long rows (they spill 16 and 48 bytes:
#          predicted no faster), and the windowed D=128 row's neighbours with it on (stages,
#          overlap_pv, TMA), to see whether the new store moved the optimum
#   GPU 1: Peers at HEAD, both pools, default and FlashInfer (issue 16's table)
set -u
export PYTHONUNBUFFERED=1
root=$OUT
python3 ci/compile_caches.py unpack .device-cache
export GPU_JOB_CACHES_RESTORED=1
sweep() {  # NAME TIMEOUT ARGS...: one sweep on GPU 0, against `default`
    local name=$1 limit=$2
    shift 2
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout "$limit" python3 -m tools.sweep_blocks \
        --pool contiguous --compile-workers 14 --baseline default "$@" > $root/sweep/$name.log 2>&1
    echo "gpu0 $name: rc $? after ${SECONDS}s"
}
{
    mkdir -p $root/suite $root/sweep
    OUT=$root/suite GPU_JOB_GPU=0 ASV_DEADLINE_S=420 bash ci/gpu_job.sh asv --bench '^(?!bench_peers\.)' HEAD^!
    echo "gpu0 suite: rc $? after ${SECONDS}s"
    sweep d128-long-os 60 --head-dim 128 --n-ctx 8192,4096 --windows=-1 \
        --configs default,m128n128w8s3:heads+ws+pe+pg+tm+os
    sweep d128-short-os 50 --head-dim 128 --n-ctx 2048,1024 --windows=-1 \
        --configs default,m192n64w12s3:heads+ws+pe+pg+pq+di+tm+os
    sweep d128-windowed-around 70 --head-dim 128 --n-ctx 8192,2048 --windows 127,512 \
        --configs default,m128n64w8s3:heads+ws+pe+pg+pq+op+tm+os,m128n64w8s4:heads+ws+pe+pg+pq+tm+os,m128n64w8s4:heads+ws+pe+pg+op+tm+os,m192n64w12s3:heads+ws+pe+pg+pq+tm+os,m128n64w8s4:heads+ws+pe+pg+pq+op+di+tm+os
} > $root/gpu0.log 2>&1 &
{
    mkdir -p $root/peers
    OUT=$root/peers GPU_JOB_GPU=1 PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3 ASV_DEADLINE_S=530 \
        bash ci/gpu_job.sh peers all HEAD^!
    echo "gpu1 peers all: rc $? after ${SECONDS}s"
} > $root/gpu1.log 2>&1 &
wait
mkdir -p $root/logs && mv $root/gpu0.log $root/gpu1.log $root/logs/
tail -n 3 $root/logs/*.log
grep -A40 "track_default_time_ratio" $root/peers/asv.log | head -60
for f in $root/sweep/*.log; do echo "== $f"; grep -v '^$' $f | tail -n 30; done
rm -f "$root"/*/*.txz
tar -czf $root/s17-b.tgz -C $root --remove-files suite sweep peers logs
