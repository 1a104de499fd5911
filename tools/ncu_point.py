"""One checked call of each implementation at one point, inside the CUDA profiler's range.

    ncu --profile-from-start off --clock-control none --section SpeedOfLight ... \\
        python3 -m tools.ncu_point --impls default,flashinfer-0.7.2-fa3 --n-ctx 8192 --window -1

An implementation is a variant, a configuration as ``tools.sweep_blocks`` spells it, or a
provider (``benchmarks/providers``). Each is checked against the reference on the point's
inputs, called once more to warm up, and then called once between ``cudaProfilerStart`` and
``cudaProfilerStop``, so that ``ncu --profile-from-start off`` profiles that call's kernels
and nothing else (no compile, no check, no flush). The implementations run one after the
other, in the order given, each with its name printed before its profiled call.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import torch

from benchmarks import harness, workloads
from benchmarks.providers.base import PeerPoint
from tools import _cli
from tools.sweep_blocks import parse_impls, prepare_point


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impls", required=True,
                        help="comma-separated variants, configurations (mMnNwWsS...) or providers")
    _cli.add_shape_flags(parser, n_ctx="8192", windows="-1", pool="contiguous")
    args = _cli.parse(parser, argv)
    if len(args.n_ctx) != 1 or len(args.windows) != 1:
        parser.error(f"--n-ctx {args.n_ctx} --windows {args.windows}: one point at a time")
    try:
        args.order, args.configs, args.peers = parse_impls(args.impls)
    except ValueError as bad:
        parser.error(str(bad))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    n_ctx, window = args.n_ctx[0], args.windows[0]
    inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads=args.heads,
                                   head_dim=args.head_dim, dtype=args.dtype, pool=args.pool,
                                   device="cuda")
    prepared = prepare_point(inputs, PeerPoint(args.head_dim, args.dtype, window), args.configs,
                             args.peers)
    reference = harness.reference_for(inputs, window)
    for name in args.order:
        error = harness.check_call(inputs, name, window, prepared[name].checked, reference=reference)
        prepared[name].timed()  # warm: the profiled call finds its kernels compiled and loaded
        torch.cuda.synchronize()
        print(f"ncu_point: {name} at {args.heads} D={args.head_dim} {args.dtype} n_ctx={n_ctx} "
              f"window={window} {args.pool}: relative error {error:.2e}; profiled call next",
              flush=True)
        torch.cuda.profiler.start()
        prepared[name].timed()
        torch.cuda.synchronize()
        torch.cuda.profiler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
