"""Command-line pieces the tools share: list flags, windows that start with '-', the shape flags,
the check for a GPU.

The list parsers are argparse types: a bad list is the parser's error, naming the flag (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from benchmarks import workloads


def attach_window_values(argv: Sequence[str]) -> List[str]:
    """'--windows -1,127' -> '--windows=-1,127': argparse takes '-1,127' for an unknown flag."""
    out: List[str] = []
    for arg in argv:
        if out and out[-1] == "--windows":
            out[-1] = f"--windows={arg}"
        else:
            out.append(arg)
    return out


def parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """``parser.parse_args`` of ``argv`` (default: the command line), window lists attached."""
    return parser.parse_args(attach_window_values(sys.argv[1:] if argv is None else argv))


def int_list(text: str) -> Tuple[int, ...]:
    """'1024,8192' -> (1024, 8192)."""
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers") from None


def name_list(known: Sequence[str]) -> Callable[[str], Tuple[str, ...]]:
    """The type of a list of names from ``known``: 'cg,default' -> ('cg', 'default'), at least one."""
    def names(text: str) -> Tuple[str, ...]:
        chosen = tuple(name.strip() for name in text.split(",") if name.strip())
        if not chosen or any(name not in known for name in chosen):
            raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated names from {list(known)}")
        return chosen
    return names


def add_shape_flags(parser: argparse.ArgumentParser, *, n_ctx: str, windows: str, pool: str) -> None:
    """--heads, --head-dim, --dtype (the PR matrix's by default), --n-ctx, --windows, --pool."""
    parser.add_argument("--heads", default=workloads.PR_HEADS, help="HQ/HKV")
    parser.add_argument("--head-dim", type=int, default=workloads.PR_HEAD_DIM)
    parser.add_argument("--dtype", default=workloads.PR_DTYPE, choices=sorted(workloads.DTYPES))
    parser.add_argument("--n-ctx", type=int_list, default=n_ctx)
    parser.add_argument("--windows", type=int_list, default=windows, help="sliding windows; -1 for none")
    parser.add_argument("--pool", default=pool, choices=workloads.POOLS)


def require_cuda(tool: str) -> None:
    """Stop with exit 2 and '<tool>: needs a CUDA device' where torch sees none. Called once the
    arguments have been parsed, so that a GPU job's command run first on a machine without a GPU
    checks its arguments: a bad one is argparse's error naming the flag, good ones this line."""
    if not torch.cuda.is_available():
        print(f"{tool}: needs a CUDA device (the arguments are valid)", file=sys.stderr)
        raise SystemExit(2)
