#!/usr/bin/env python
"""The loops of a compiled configuration's machine code, and what each one issues.

    python -m tools.sass_loops [--configs default,m128n64w8s4:heads+pf+ws+pe+pg] [--head-dim 128]
        [--shape windowed] [--dtype bf16] [--arch 90] [--min-instructions 16]

Compiles each configuration for the target without a GPU (``kernels.codegen``) and prints
one row per loop of its SASS (``kernels.codegen.sass_loops``), innermost first: its
instructions, and how many of them are tensor-core MMAs (``HGMMA``), special-function
operations (``MUFU``: the softmax's exp2), loads (``LDG``), cp.async copies (``LDGSTS``),
stores (``STG``), barrier operations (``SYNCS``, ``BAR``). A key-tile loop is the one whose
MMAs are one tile's (8 + 4 ``HGMMA`` for a 64-key tile at head dim 128); an item loop holds
it and counts the work each item pays once. Where the body branches, one pass issues only
part of it: "a pass" gives the fewest and most instructions along a path through it (a
key-tile loop's unmasked and masked softmax), "-" where the body jumps to code laid out after
it. Static counts, for a lead a profile must then confirm: how many instructions one tile or
one item costs a warp, not how long they take.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from kernels.codegen import compile_for_target
from kernels.extend_attention import SHAPE_CLASSES, SUPPORTED_HEAD_DIMS
from tools.sweep_blocks import parse_configs

COLUMNS = ("HGMMA", "MUFU", "LDG", "LDGSTS", "STG", "SYNCS", "BAR")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="default",
                        help="variant names, row:SHAPE or mMnNwWsS[...] specs, as tools.sweep_blocks "
                             "takes them")
    parser.add_argument("--head-dim", type=int, default=128, choices=SUPPORTED_HEAD_DIMS)
    parser.add_argument("--shape", default="windowed", choices=SHAPE_CLASSES)
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"))
    parser.add_argument("--arch", type=int, default=90)
    parser.add_argument("--min-instructions", type=int, default=16,
                        help="leave out loops of fewer instructions (spin waits)")
    args = parser.parse_args(argv)
    try:
        args.configs = parse_configs(args.configs, args.head_dim)
    except ValueError as bad:
        parser.error(str(bad))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    for name, config in args.configs.items():
        report = compile_for_target(config, head_dim=args.head_dim, dtype=args.dtype,
                                    shape=args.shape, arch=args.arch)
        print(f"\n{name}: head_dim {args.head_dim}, {args.shape}, {args.dtype}, sm_{args.arch}, "
              f"{report.registers} registers, {report.num_warps} warps")
        print("| start | end | instructions | a pass | " + " | ".join(COLUMNS) + " |")
        print("|---" * (4 + len(COLUMNS)) + "|")
        for loop in report.loops():
            if loop.instructions >= args.min_instructions:
                counts = " | ".join(str(loop.opcodes.get(opcode, 0)) for opcode in COLUMNS)
                a_pass = "-" if loop.fewest is None else f"{loop.fewest}-{loop.most}"
                print(f"| {loop.start:#x} | {loop.end:#x} | {loop.instructions} | {a_pass} | {counts} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
