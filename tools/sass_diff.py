"""Whether two versions of the kernel compile to the same machine code, compile by compile.

    python -m tools.sass_diff --old REV [--new REV] [--variants default] [--head-dims 64,128,256]
        [--shapes windowed,short,long] [--arch 90]

For a commit that claims to change no code where it changes the kernel's files: a knob added
but off in every tuned row, an option pinned to the value it already had, a comment. Each
variant at each head dim and shape class is compiled for ``sm_ARCH`` at ``REV`` and at ``--new``
(default: this checkout), here, without a GPU (``kernels.codegen``), and the two are compared by
their SASS instructions alone. Cubin bytes cannot tell: they carry the source's line table, so
a commit that moves a kernel's lines changes them and nothing else. Each version compiles in a
process of its own, with its own ``kernels`` package, outside the interpreter.

Exit 0: every compile the same; 1: some differ (listed, with their instruction counts); 2: bad
arguments (an unknown revision, variant, head dim or shape class, named).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from typing import Dict, Optional, Sequence, Tuple

from kernels.extend_attention import SHAPE_CLASSES, SUPPORTED_HEAD_DIMS, VARIANTS
from tools import _cli
from tools.revisions import REPO_ROOT, kernels_tree_at

# an instruction line of `cuobjdump -sass`: /*address*/ instruction ; /* encoding */
_INSTRUCTION = re.compile(r"^\s+/\*[0-9a-f]{4,}\*/\s+(.*?)\s*;")


def instructions(sass: str) -> Tuple[str, ...]:
    """The instructions of a disassembly, without addresses, encodings or line information."""
    return tuple(match.group(1) for match in map(_INSTRUCTION.match, sass.splitlines()) if match)


def emit(variants: Sequence[str], head_dims: Sequence[int], shapes: Sequence[str], arch: int) -> Dict[str, dict]:
    """{"variant/head_dim/shape": {"instructions": N, "sha1": ...}, or {"skipped": why}} for the
    ``kernels`` package this process imports."""
    from kernels import VARIANTS
    from kernels.codegen import compile_for_target
    found = {}
    for variant in variants:
        for head_dim in head_dims:
            for shape in shapes:
                key = f"{variant}/{head_dim}/{shape}"
                if variant not in VARIANTS:
                    found[key] = {"skipped": "no such variant in this version"}
                    continue
                try:
                    code = instructions(compile_for_target(variant, head_dim=head_dim, shape=shape,
                                                           arch=arch).sass())
                except ValueError as err:  # a combination this version does not compile
                    found[key] = {"skipped": str(err)}
                    continue
                found[key] = {"instructions": len(code),
                              "sha1": hashlib.sha1("\n".join(code).encode()).hexdigest()}
    return found


def _compiled_at(tree: str, args: argparse.Namespace) -> Dict[str, dict]:
    """``emit`` run with the ``kernels`` package in ``tree``, in a process of its own."""
    env = {name: value for name, value in os.environ.items() if name != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, REPO_ROOT, env.get("PYTHONPATH")]))
    request = json.dumps([args.variants, args.head_dims, args.shapes, args.arch])
    done = subprocess.run([sys.executable, "-c", "import json, sys; from tools.sass_diff import emit; "
                           "print(json.dumps(emit(*json.loads(sys.argv[1]))))", request],
                          cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"compiling the kernels in {tree} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit compiled first")
    parser.add_argument("--new", help="the commit compared with it (default: this checkout)")
    parser.add_argument("--variants", type=_cli.name_list(list(VARIANTS)), default="default",
                        help="comma-separated variants (this checkout's names)")
    parser.add_argument("--head-dims", type=_cli.int_list,
                        default=",".join(map(str, SUPPORTED_HEAD_DIMS)))
    parser.add_argument("--shapes", type=_cli.name_list(SHAPE_CLASSES), default=",".join(SHAPE_CLASSES))
    parser.add_argument("--arch", type=int, default=90, help="the target, sm_ARCH")
    args = _cli.parse(parser, argv)
    if not set(args.head_dims) <= set(SUPPORTED_HEAD_DIMS):
        parser.error(f"--head-dims {','.join(map(str, args.head_dims))}: expected some of "
                     f"{list(SUPPORTED_HEAD_DIMS)}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        trees = {"old": kernels_tree_at(args.old, "--old"),
                 "new": REPO_ROOT if args.new is None else kernels_tree_at(args.new, "--new")}
    except ValueError as err:
        print(f"sass_diff: {err}", file=sys.stderr)
        return 2
    old, new = (_compiled_at(tree, args) for tree in trees.values())
    compiled = [key for key in old if "sha1" in old[key] or "sha1" in new[key]]
    differ = [key for key in compiled if old[key] != new[key]]
    print(f"sm_{args.arch}: {args.old} against {args.new or 'this checkout'}: "
          f"{len(compiled) - len(differ)} of {len(compiled)} compiles the same")
    if not compiled:
        print("sass_diff: no combination named compiles in either version", file=sys.stderr)
        return 2
    if differ:
        print("| compile | old | new |\n|---|---|---|")
        for key in differ:
            print(f"| {key} | {_describe(old[key])} | {_describe(new[key])} |")
    return 1 if differ else 0


def _describe(found: dict) -> str:
    if "skipped" in found:
        return f"not compiled: {found['skipped']}"
    return f"{found['instructions']} instructions, sha1 {found['sha1'][:12]}"


if __name__ == "__main__":
    sys.exit(main())
