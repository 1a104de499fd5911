"""Do the suite's times agree with triton.testing.do_bench? One table over the PR matrix.

    python tools/timing_agreement.py --machine h100-sxm-80gb --commit HASH [--results results]
        [--tolerance 0.03] [--rep-ms 300] [--out agreement.md] [--deadline-s SECONDS]

Reads the medians that asv stored for ``bench_extend.PRMatrix.time_extend`` at the commit
(``ci/store.py``), times the same points in this process with ``do_bench``
(``return_mode="median"``; it clears the L2 before each repetition, as the suite flushes
it), and prints one markdown row per point with the ratio asv / do_bench. Run it with the
measured commit's ``kernels`` importable: ``ci/gpu_job.sh agreement`` arranges that.

Exit 0: every point within the tolerance. 1: some point outside it, or points left
unmeasured at the deadline. 2: nothing to compare, stored results that cannot be read, or
no CUDA device.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

# appended, and run by path rather than with -m (which would put the checkout first): a measured
# commit's kernels on PYTHONPATH come first
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch  # noqa: E402
import triton.testing  # noqa: E402

import kernels  # noqa: E402
from benchmarks import harness, workloads  # noqa: E402
from benchmarks.extend_grid import EXTEND_PARAMS  # noqa: E402
from ci import store  # noqa: E402
from ci.store import StoreError  # noqa: E402
from tools import _cli  # noqa: E402

BENCHMARK = "bench_extend.PRMatrix.time_extend"
EXIT_AGREE, EXIT_DISAGREE, EXIT_NO_DATA = 0, 1, 2


def stored_times(results_dir: str, machine: str, commit: str) -> Dict[Tuple, float]:
    """{point: asv's median seconds} for every measured point of the commit (a hash or prefix)."""
    stored = store.load(results_dir)
    runs = stored.at(machine, stored.resolve(commit, machine, repo=None))
    if len(runs) != 1:
        raise StoreError(f"commit {commit} has results from several asv environments on {machine}: "
                         f"{', '.join(sorted(runs))}")
    (run,) = runs.values()
    return {key.values: point.value for key, point in run.measured(BENCHMARK).items()}


def do_bench_seconds(point: Tuple, inputs: workloads.ExtendInputs, rep_ms: float) -> float:
    window, variant = point[EXTEND_PARAMS.index("window")], point[EXTEND_PARAMS.index("variant")]
    call = harness.kernel_call(inputs, variant, window)
    return triton.testing.do_bench(call, warmup=25, rep=rep_ms, return_mode="median") / 1e3


def _shape(point: Tuple) -> Tuple:
    """The point without its window and variant: the points that share one set of inputs."""
    n_ctx, _, heads, head_dim, dtype, pool, _ = point
    return n_ctx, heads, head_dim, dtype, pool


def compare(times: Dict[Tuple, float], rep_ms: float, deadline: float) -> List[Tuple[Tuple, float, Optional[float]]]:
    """(point, asv seconds, do_bench seconds or None if the deadline came first), per point."""
    rows = []
    for shape, points in itertools.groupby(sorted(times, key=_shape), key=_shape):
        points = list(points)
        if time.monotonic() > deadline:
            rows += [(point, times[point], None) for point in points]
            continue
        n_ctx, heads, head_dim, dtype, pool = shape
        inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads=heads, head_dim=head_dim,
                                       dtype=dtype, pool=pool, device="cuda")
        for point in points:
            measured = do_bench_seconds(point, inputs, rep_ms) if time.monotonic() < deadline else None
            rows.append((point, times[point], measured))
        del inputs
        torch.cuda.empty_cache()
    return rows


def report(rows, tolerance: float) -> Tuple[str, int]:
    lines = [f"### asv `{BENCHMARK}` against `triton.testing.do_bench` (medians)", "",
             "| " + " | ".join(EXTEND_PARAMS) + " | asv ms | do_bench ms | asv / do_bench |",
             "|" + " --- |" * (len(EXTEND_PARAMS) + 3)]
    worst, outside, unmeasured = 0.0, 0, 0
    for point, asv_s, bench_s in rows:
        if bench_s is None:
            unmeasured += 1
            ratio_text = "not measured (deadline)"
        else:
            ratio = asv_s / bench_s
            worst = max(worst, abs(ratio - 1))
            outside += abs(ratio - 1) > tolerance
            ratio_text = f"{ratio:.3f}" + (" **outside**" if abs(ratio - 1) > tolerance else "")
        bench_text = "" if bench_s is None else f"{bench_s * 1e3:.3f}"
        lines.append("| " + " | ".join(map(str, point)) + f" | {asv_s * 1e3:.3f} | {bench_text} | {ratio_text} |")
    measured = len(rows) - unmeasured
    lines += ["", f"{measured} points compared: largest deviation {worst:.2%}, {outside} outside "
                  f"±{tolerance:.0%}" + (f"; {unmeasured} not measured before the deadline" if unmeasured else "")
              + f". kernels from {os.path.dirname(kernels.__file__)}."]
    return "\n".join(lines) + "\n", EXIT_AGREE if outside == unmeasured == 0 else EXIT_DISAGREE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", required=True)
    parser.add_argument("--commit", required=True, help="the commit's hash or a prefix of it")
    parser.add_argument("--results", default="results", help="asv results folder")
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--rep-ms", type=float, default=300.0, help="do_bench's timed budget per point")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--deadline-s", type=float, default=float("inf"),
                        help="stop timing after this many seconds; the rest is reported unmeasured")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.deadline_s
    try:
        times = stored_times(args.results, args.machine, args.commit)
    except StoreError as err:
        print(f"timing_agreement: {err}", file=sys.stderr)
        return EXIT_NO_DATA
    if not times:
        print(f"no {BENCHMARK} results of {args.commit} on {args.machine} in {args.results}", file=sys.stderr)
        return EXIT_NO_DATA
    _cli.require_cuda("timing_agreement")
    text, status = report(compare(times, args.rep_ms, deadline), args.tolerance)
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
