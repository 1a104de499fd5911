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

from tools import _cli
from tools.sweep_blocks import checked_point, parse_point_args


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impls", required=True,
                        help="comma-separated variants, configurations (mMnNwWsS...) or providers")
    _cli.add_shape_flags(parser, n_ctx="8192", windows="-1", pool="contiguous")
    return parse_point_args(parser, argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    _cli.require_cuda("ncu_point")
    _, prepared, errors = checked_point(args)
    for name in args.order:
        prepared[name].timed()  # warm: the profiled call finds its kernels compiled and loaded
        torch.cuda.synchronize()
        print(f"ncu_point: {name} at {args.heads} D={args.head_dim} {args.dtype} n_ctx={args.n_ctx} "
              f"window={args.window} {args.pool}: relative error {errors[name]:.2e}; profiled call next",
              flush=True)
        torch.cuda.profiler.start()
        prepared[name].timed()
        torch.cuda.synchronize()
        torch.cuda.profiler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
