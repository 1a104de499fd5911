"""Sweep launch configurations of the kernel at chosen shapes, for tuning ``TUNED_BLOCKS``.

    python -m tools.sweep_blocks --configs m128n32w4s3,m64n64w4s2 [--head-dim 128] [--heads 64/8]
        [--dtype bf16] [--n-ctx 8192] [--windows -1,127] [--pool fragmented]

A configuration ``mMnNwWsS`` is ``LaunchConfig(block_m=M, block_n=N, num_warps=W,
num_stages=S)``; ``mMnNwWsS:ORDER`` also sets ``grid_order`` (``heads`` or ``sequences``),
a ``+pf`` suffix ``prefetch_indices=True``, ``+rR`` ``max_registers=R``, ``+ov``
``overlap_softmax=True`` and ``+ws`` ``warp_specialize=True`` (the Gluon kernels for Hopper).
Every configuration is checked against the reference before it is timed, and timed interleaved with ``baseline`` in one process (``benchmarks/harness.py``); a
configuration that does not fit the chip (out of shared memory) is reported, not fatal.
Prints one table per shape: ms, TFLOP/s and the speedup over ``baseline``.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Dict, Optional, Sequence

import torch
import triton

import kernels
from benchmarks import harness, workloads
from tools import _cli

_CONFIG = re.compile(r"m(\d+)n(\d+)w(\d+)s(\d+)(?::(\w+))?(\+pf)?(?:\+r(\d+))?(\+ov)?(\+ws)?")


def parse_configs(text: str) -> Dict[str, kernels.LaunchConfig]:
    """'m128n32w4s3,m64n64w4s2:sequences+pf' -> {name: LaunchConfig}; ValueError naming a bad entry."""
    configs = {}
    for name in filter(None, text.split(",")):
        match = _CONFIG.fullmatch(name)
        if match is None:
            raise ValueError(f"--configs: {name!r} is not of the form mMnNwWsS[:ORDER][+pf][+rR][+ov][+ws], "
                             f"e.g. m128n32w4s3 or m128n32w8s3:heads+pf+r128")
        block_m, block_n, num_warps, num_stages = map(int, match.groups()[:4])
        try:
            configs[name] = kernels.LaunchConfig(block_m=block_m, block_n=block_n,
                                                 num_warps=num_warps, num_stages=num_stages,
                                                 grid_order=match.group(5),
                                                 prefetch_indices=True if match.group(6) else None,
                                                 max_registers=int(match.group(7)) if match.group(7) else None,
                                                 overlap_softmax=True if match.group(8) else None,
                                                 warp_specialize=True if match.group(9) else None)
        except ValueError as bad:
            raise ValueError(f"--configs: {name!r}: {bad}") from None
    if not configs:
        raise ValueError("--configs: no configuration given")
    return configs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", required=True)
    _cli.add_shape_flags(parser, n_ctx="8192", windows="-1", pool="fragmented")
    args = _cli.parse(parser, argv)
    try:
        args.configs = parse_configs(args.configs)
    except ValueError as bad:
        parser.error(str(bad))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    print(f"{torch.cuda.get_device_name()} · torch {torch.__version__} · triton {triton.__version__}")
    failed = False
    for n_ctx in args.n_ctx:
        inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads=args.heads,
                                       head_dim=args.head_dim, dtype=args.dtype, pool=args.pool,
                                       device="cuda")
        for window in args.windows:
            results = harness.measure_point(inputs, window, list(args.configs), overrides=args.configs)
            print(f"\n{args.heads} D={args.head_dim} {args.dtype} n_ctx={n_ctx} window={window} {args.pool}")
            print("| config | ms | TFLOP/s | × baseline |\n|---|---|---|---|")
            for name, result in results.items():
                if not result.correct:
                    failed = True
                    print(f"| {name} | FAIL: {result.failure} | | |")
                    continue
                print(f"| {name} | {result.seconds * 1e3:.3f} | {result.tflops:.0f} | "
                      f"{result.speedup_vs_baseline:.2f}× |")
        del inputs
        torch.cuda.empty_cache()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
