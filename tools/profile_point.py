#!/usr/bin/env python
"""Where one asv ``time_extend`` process spends its wall time, phase by phase.

    python -m tools.profile_point [--points 8192:-1:baseline,1024:127:default] [--pool contiguous]

asv's forkserver forks a process per benchmark point from a server that has imported the
suite, so a point pays for everything after the imports: CUDA's context, the inputs, the
check, Triton's first launch, the samples. Each point here runs in a fresh child process
after its imports, as asv's would, and prints the seconds of each phase: the suite's
per-commit budget (docs/ASV.md) is made of these.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from benchmarks import extend_grid, harness, workloads
from benchmarks.bench_extend import PRMatrix
from benchmarks.device_clock import DeviceClock
n_ctx, window, variant, pool = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
phases, t = {}, time.perf_counter()
def lap(name):
    global t
    torch.cuda.synchronize()
    now = time.perf_counter(); phases[name] = now - t; t = now
torch.empty(1, device="cuda"); lap("cuda_context")
prefix, extend = workloads.pr_lengths(n_ctx)
inputs = workloads.make_inputs(prefix, extend, pool=pool, device="cuda"); lap("make_inputs")
longest = max(range(len(extend)), key=lambda i: prefix[i] + extend[i])
reference = harness.reference_for(inputs, window, sequences=(longest,)); lap("reference")
first_launch = harness.kernel_call(inputs, variant, window, validate=True)
if int(sys.argv[6]):  # where Triton's first launch in a process goes, to stderr
    import cProfile, io, pstats
    profile = cProfile.Profile()
    profile.runcall(first_launch)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(int(sys.argv[6]))
    print(text.getvalue(), file=sys.stderr)
else:
    first_launch()
lap("first_launch")
harness.check_variant(inputs, variant, window, reference=reference); lap("check_again")
call = harness.kernel_call(inputs, variant, window)
clock, samples, start = DeviceClock(), 0, time.perf_counter()
# asv's loop for PRMatrix: warmup_time, then repeat=(min, max, max_time) samples of one call
warm_until = start + PRMatrix.warmup_time
while time.perf_counter() < warm_until:
    call(); torch.cuda.synchronize()
lap("warmup")
lo, hi, max_time = PRMatrix.repeat
begin = time.perf_counter()
while samples < hi and (samples < lo or time.perf_counter() - begin < max_time):
    clock(); call(); clock(); samples += 1
lap("samples")
phases["n_samples"] = samples
print(json.dumps(phases))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="8192:-1:baseline,8192:256:default,1024:127:default",
                        help="comma-separated n_ctx:window:variant")
    parser.add_argument("--pool", default="contiguous")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="print the N costliest calls of the first launch (cProfile)")
    args = parser.parse_args(argv)
    phase_names = None
    for spec in args.points.split(","):
        n_ctx, window, variant = spec.split(":")
        begin = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, REPO_ROOT, n_ctx, window, variant, args.pool,
                               str(args.cprofile)], capture_output=True, text=True)
        total = time.perf_counter() - begin
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        if args.cprofile:
            print(done.stderr, file=sys.stderr)
        phases = json.loads(done.stdout.strip().splitlines()[-1])
        if phase_names is None:
            phase_names = list(phases)
            print("| point | " + " | ".join(phase_names) + " | process incl. imports |")
            print("|---" * (len(phase_names) + 2) + "|")
        cells = [f"{phases[name]:.3f}" if name != "n_samples" else str(phases[name]) for name in phase_names]
        print(f"| {spec} | " + " | ".join(cells) + f" | {total:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
