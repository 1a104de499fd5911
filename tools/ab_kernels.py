"""A/B two versions of the kernel in one process: another commit's against this checkout's or a third's.

    python -m tools.ab_kernels --old REV [--new REV] [--variants default,baseline] [--heads 64/8]
        [--head-dim 128] [--dtype bf16] [--n-ctx 1024,2048,4096,8192] [--windows -1,127,512]
        [--pool fragmented] [--rounds 2] [--rep-ms 100]

For a kernel change, before it is committed: the ratio of the two versions measured in one
process, taking turns call by call, so that clocks and temperature drift hit both alike. ``REV``'s
``kernels`` package is imported beside this checkout's, under a name of its own; ``--new REV``
takes B from that commit instead of this checkout, so that consecutive steps of one
history can each be measured against their parent in one device session.
Both versions are checked against the reference on every point before they are timed
(``benchmarks/harness.py``: CUDA events, L2 flushed before every call, medians).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import statistics
import sys
from types import ModuleType
from typing import Optional, Sequence

import torch

import kernels.extend_attention as current
from benchmarks import harness, workloads
from tools import _cli
from tools.revisions import kernels_tree_at


def load_kernel_at(rev: str, flag: str = "--old") -> ModuleType:
    """``kernels/extend_attention.py`` as it was at ``rev``. The whole ``kernels`` package of
    ``rev`` is imported, under a name of its own (``kernels_at_<rev>``), so that its modules
    import each other's versions of ``rev`` (the Gluon kernels live in sibling modules).
    ValueError, naming ``flag``, for a rev git cannot find."""
    tree = kernels_tree_at(rev, flag)
    package = "kernels_at_" + re.sub(r"\W", "_", rev)
    folder = os.path.join(tree, package)
    os.rename(os.path.join(tree, "kernels"), folder)
    spec = importlib.util.spec_from_file_location(package, os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module  # its modules' relative imports look the package up
    spec.loader.exec_module(module)
    return importlib.import_module(f"{package}.extend_attention")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit whose kernel is A")
    parser.add_argument("--new", help="the commit whose kernel is B (default: this checkout's)")
    parser.add_argument("--variants", type=_cli.name_list(list(current.VARIANTS)), default="default,baseline")
    _cli.add_shape_flags(parser, n_ctx=",".join(map(str, workloads.PR_N_CTX)), windows="-1,127,512",
                         pool="fragmented")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rep-ms", type=float, default=harness.DEFAULT_REP_MS)
    return _cli.parse(parser, argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    new = current if args.new is None else load_kernel_at(args.new, "--new")
    versions = {"old": load_kernel_at(args.old).extend_attention_fwd,
                "new": new.extend_attention_fwd}
    _cli.require_cuda("ab_kernels")
    print(f"{torch.cuda.get_device_name()}: A = {args.old}'s kernel, "
          f"B = {'this checkout' if args.new is None else args.new}'s; "
          f"{args.heads} D={args.head_dim} {args.dtype} {args.pool}; medians, L2 flushed")
    print("| n_ctx | window | variant | A ms | B ms | A / B |\n|---|---|---|---|---|---|")
    for n_ctx in args.n_ctx:
        inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads=args.heads,
                                       head_dim=args.head_dim, dtype=args.dtype, pool=args.pool,
                                       device="cuda")
        for window in args.windows:
            reference = harness.reference_for(inputs, window)
            for variant in args.variants:
                for fwd in versions.values():  # raises VariantIncorrect before any timing
                    harness.check_variant(inputs, variant, window, reference=reference, fwd=fwd)
                samples = harness.timed_in_turns(
                    {name: harness.kernel_call(inputs, variant, window, fwd=fwd)
                     for name, fwd in versions.items()}, rounds=args.rounds, rep_ms=args.rep_ms)
                old, new = (statistics.median(samples[name]) for name in versions)
                print(f"| {n_ctx} | {window} | {variant} | {old * 1e3:.3f} | {new * 1e3:.3f} | "
                      f"{old / new:.3f}× |", flush=True)
        del inputs
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
