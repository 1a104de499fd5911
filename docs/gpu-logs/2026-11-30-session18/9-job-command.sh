#!/usr/bin/env bash
# session 18, call 9, on the machine call 8 left warm (carry .jobs): GPU 0's probe again, alone
# (in call 8 it died unpacking FlashInfer beside GPU 1's probe: fixed in d16e7db)
mkdir -p $OUT/probe && CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 timeout 300 python3 -m tools.clock_probe --impls default,flashinfer-0.7.2-fa3 --head-dim 128 --n-ctx 8192 --windows=-1 --rounds 3 > $OUT/probe/d128-8192.log 2>&1; echo rc $?; tail -4 $OUT/probe/d128-8192.log
