#!/usr/bin/env python
"""One point timed three ways, alternating: asv's DeviceClock, back-to-back events, do_bench.

    python -m tools.clock_probe [--n-ctx 8192] [--window -1] [--variant default] [--rounds 4]

Why: on 2026-11-25 the suite's times for the most power-hungry variant ran up to 12% below
``triton.testing.do_bench``'s, taken a minute later in another process, while the other
variants agreed within 1%. ``DeviceClock`` (benchmarks/device_clock.py) leaves the GPU a
millisecond's spin on one SM and a host sync between samples; ``harness.device_times`` and
do_bench queue their repetitions back to back. Timed here in one process, in alternating
rounds, with the SM clock read before and after each method (nvidia-smi), the three differ
only in how they load the GPU. Run it with a clock log beside it:
``nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 200``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
import triton

from benchmarks import harness, workloads
from benchmarks.bench_extend import PRMatrix
from benchmarks.device_clock import DeviceClock


def sm_clock_mhz() -> str:
    done = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu",
                           "--format=csv,noheader"], capture_output=True, text=True)
    return done.stdout.strip()


def device_clock_samples(call, max_samples: int, max_time_s: float):
    """asv's loop for these classes: samples of one call until max_samples or max_time_s."""
    clock, times, begin = DeviceClock(), [], time.perf_counter()
    while len(times) < max_samples and (len(times) < 10 or time.perf_counter() - begin < max_time_s):
        start = clock()
        call()
        times.append(clock() - start)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--window", type=int, default=-1)
    parser.add_argument("--variant", default="default")
    parser.add_argument("--pool", default="contiguous", choices=workloads.POOLS)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    inputs = workloads.make_inputs(*workloads.pr_lengths(args.n_ctx), pool=args.pool, device="cuda")
    harness.check_variant(inputs, args.variant, args.window)
    call = harness.kernel_call(inputs, args.variant, args.window)
    _, max_samples, max_time = PRMatrix.repeat
    methods = {
        "DeviceClock (asv)": lambda: device_clock_samples(call, max_samples, max_time),
        "back-to-back events": lambda: harness.device_times(call),
        "do_bench": lambda: [triton.testing.do_bench(call, return_mode="median") / 1e3],
    }
    print(f"{torch.cuda.get_device_name()}: {args.variant} n_ctx={args.n_ctx} window={args.window} "
          f"{args.pool}; medians in ms; SM clock, power, temperature before and after")
    print("| round | method | ms | before | after |\n|---|---|---|---|---|")
    for r in range(args.rounds):
        for name, timed in methods.items():
            before = sm_clock_mhz()
            ms = statistics.median(timed()) * 1e3
            print(f"| {r} | {name} | {ms:.3f} | {before} | {sm_clock_mhz()} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
