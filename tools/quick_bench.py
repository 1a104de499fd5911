"""Quick A/B of the kernel variants over the PR matrix on one GPU, for kernel work.

    python -m tools.quick_bench [--variants baseline,cg,stages2,cg_stages2,default]
        [--n-ctx 1024,2048,4096,8192] [--windows -1,127,256,512]
        [--pool contiguous|fragmented|both] [--heads 64/8] [--head-dim 128] [--dtype bf16]
        [--json OUT.json] [--config-override 'default:block_m=64,num_warps=4' ...]

Every point is checked against the reference before it is timed and every variant is timed
against the baseline in the same process (``benchmarks/harness.py``: cold L2, CUDA events,
medians). Prints one markdown table, a row per point as it is measured, then the geometric
mean speedup of each variant. Exits 1 if any variant was incorrect at any point.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import triton
import triton.testing

import kernels
from benchmarks import harness, workloads
from tools import _cli

POOL_CHOICES = {"contiguous": ("contiguous",), "fragmented": ("fragmented",), "both": workloads.POOLS}
def _parse_bool(text: str) -> bool:
    if text.lower() not in ("0", "1", "false", "true"):
        raise ValueError(text)
    return text.lower() in ("1", "true")


# LaunchConfig's cache-modifier knobs are its str fields, `tuned` its bool; blocks, warps
# and stages are ints
_CONFIG_FIELD_TYPES = {f.name: {str: str, bool: _parse_bool}.get(type(f.default), int)
                       for f in dataclasses.fields(kernels.LaunchConfig)}


@dataclasses.dataclass(frozen=True)
class Options:
    variants: Tuple[str, ...]
    n_ctx: Tuple[int, ...]
    windows: Tuple[int, ...]
    pools: Tuple[str, ...]
    heads: str
    head_dim: int
    dtype: str
    overrides: Mapping[str, kernels.LaunchConfig]
    json_path: Optional[str]
    rep_ms: float
    cross_check: bool


@dataclasses.dataclass(frozen=True)
class Point:
    n_ctx: int
    window: int
    pool: str
    results: Mapping[str, harness.PointResult]
    do_bench_baseline_s: Optional[float] = None  # triton.testing.do_bench median, with --cross-check


def parse_config_override(text: str) -> Tuple[str, kernels.LaunchConfig]:
    """'default:block_m=64,num_warps=4' -> ('default', VARIANTS['default'] with those knobs)."""
    name, sep, assignments = text.partition(":")
    if not sep or name not in kernels.VARIANTS:
        raise ValueError(f"--config-override {text!r}: expected 'VARIANT:knob=value,...' with VARIANT "
                         f"one of {list(kernels.VARIANTS)}")
    if name == harness.BASELINE:
        raise ValueError(f"--config-override {text!r}: the baseline is what every speedup is relative "
                         "to; override another variant")
    changes = {}
    for assignment in filter(None, assignments.split(",")):
        knob, eq, value = assignment.partition("=")
        if not eq or knob not in _CONFIG_FIELD_TYPES:
            raise ValueError(f"--config-override {text!r}: {assignment!r} is not knob=value with knob "
                             f"one of {list(_CONFIG_FIELD_TYPES)}")
        try:
            changes[knob] = _CONFIG_FIELD_TYPES[knob](value)
        except ValueError:
            raise ValueError(f"--config-override {text!r}: {knob} needs "
                             f"{'true/false' if knob == 'tuned' else 'an integer'}, got {value!r}") from None
    if not changes:
        raise ValueError(f"--config-override {text!r}: no knob=value given")
    try:
        return name, dataclasses.replace(kernels.VARIANTS[name], **changes)
    except ValueError as bad:  # LaunchConfig's own range checks
        raise ValueError(f"--config-override {text!r}: {bad}") from None


def parse_args(argv: Optional[Sequence[str]] = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=_cli.name_list(list(kernels.VARIANTS)),
                        default=",".join(kernels.VARIANTS),
                        help="comma-separated variant names; the baseline is always measured")
    parser.add_argument("--n-ctx", type=_cli.int_list, default=",".join(map(str, workloads.PR_N_CTX)))
    parser.add_argument("--windows", type=_cli.int_list, default=",".join(map(str, workloads.PR_WINDOWS)),
                        help="sliding windows; -1 for none")
    parser.add_argument("--pool", default="contiguous", choices=sorted(POOL_CHOICES))
    parser.add_argument("--heads", default=workloads.PR_HEADS, help="HQ/HKV")
    parser.add_argument("--head-dim", type=int, default=workloads.PR_HEAD_DIM,
                        choices=kernels.SUPPORTED_HEAD_DIMS)
    parser.add_argument("--dtype", default=workloads.PR_DTYPE, choices=sorted(workloads.DTYPES))
    parser.add_argument("--json", dest="json_path", help="write every number, samples included, here")
    parser.add_argument("--config-override", action="append", default=[], metavar="VARIANT:knob=value,...",
                        help="run VARIANT with these LaunchConfig knobs changed; repeatable")
    parser.add_argument("--rep-ms", type=float, default=harness.DEFAULT_REP_MS,
                        help="timed device milliseconds per variant and point")
    parser.add_argument("--cross-check", action="store_true",
                        help="also time the baseline with triton.testing.do_bench (median)")
    args = _cli.parse(parser, argv)
    try:
        return _options(args)
    except ValueError as bad:
        parser.error(str(bad))


def _options(args: argparse.Namespace) -> Options:
    variants, n_ctx, windows = args.variants, args.n_ctx, args.windows
    if min(n_ctx) < 4:  # lengths are drawn from [1, n_ctx / 2)
        raise ValueError(f"--n-ctx {list(n_ctx)}: every n_ctx must be >= 4")
    if any(w != -1 and w <= 0 for w in windows):
        raise ValueError(f"--windows {list(windows)}: expected -1 (none) or positive ints")
    workloads.parse_heads(args.heads)
    overrides = dict(parse_config_override(text) for text in args.config_override)
    missing = set(overrides) - set(variants)
    if missing:
        raise ValueError(f"--config-override: {sorted(missing)} not among --variants {list(variants)}")
    if not args.rep_ms > 0:
        raise ValueError(f"--rep-ms={args.rep_ms}: expected > 0")
    return Options(variants=variants, n_ctx=n_ctx, windows=windows, pools=POOL_CHOICES[args.pool],
                   heads=args.heads, head_dim=args.head_dim, dtype=args.dtype, overrides=overrides,
                   json_path=args.json_path, rep_ms=args.rep_ms, cross_check=args.cross_check)


def format_cell(result: harness.PointResult) -> str:
    if not result.correct:
        return f"FAIL (err {result.error:.2g})"
    return f"{result.seconds * 1e3:.3f} · {result.tflops:.0f} · {result.speedup_vs_baseline:.2f}×"


def table_header(variants: Sequence[str], cross_check: bool) -> List[str]:
    columns = ["n_ctx", "window", "pool", *variants] + (["do_bench baseline ms"] if cross_check else [])
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def table_row(point: Point) -> str:
    cells = [str(point.n_ctx), str(point.window), point.pool]
    cells += [format_cell(result) for result in point.results.values()]
    if point.do_bench_baseline_s is not None:
        cells.append(f"{point.do_bench_baseline_s * 1e3:.3f}")
    return "| " + " | ".join(cells) + " |"


def geomean_speedups(points: Sequence[Point]) -> Dict[str, Tuple[float, int]]:
    """Per variant: the geometric-mean speedup over the points where it and the baseline ran."""
    speedups: Dict[str, List[float]] = {}
    for point in points:
        for name, result in point.results.items():
            if result.correct and math.isfinite(result.speedup_vs_baseline):
                speedups.setdefault(name, []).append(result.speedup_vs_baseline)
    return {name: (math.exp(sum(map(math.log, values)) / len(values)), len(values))
            for name, values in speedups.items()}


def environment() -> Dict[str, str]:
    return {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
            "triton": triton.__version__, "cuda": str(torch.version.cuda)}


def measure(options: Options) -> List[Point]:
    """Every point, printing the table as it goes; inputs freed after each (n_ctx, pool)."""
    names = list(dict.fromkeys([harness.BASELINE, *options.variants]))
    print(*table_header(names, options.cross_check), sep="\n", flush=True)
    points = []
    for n_ctx in options.n_ctx:
        prefix_lens, extend_lens = workloads.pr_lengths(n_ctx)
        for pool in options.pools:
            inputs = workloads.make_inputs(prefix_lens, extend_lens, heads=options.heads,
                                           head_dim=options.head_dim, dtype=options.dtype,
                                           pool=pool, device="cuda")
            for window in options.windows:
                results = harness.measure_point(inputs, window, options.variants,
                                                overrides=options.overrides, rep_ms=options.rep_ms)
                cross = _do_bench_baseline(inputs, window, options.rep_ms) if options.cross_check else None
                points.append(Point(n_ctx, window, pool, results, cross))
                print(table_row(points[-1]), flush=True)
            del inputs
            torch.cuda.empty_cache()
    return points


def _do_bench_baseline(inputs: workloads.ExtendInputs, window: int, rep_ms: float) -> float:
    """Triton's own median for the baseline: a cross-check of harness.device_times's loop."""
    call = harness.kernel_call(inputs, harness.BASELINE, window)
    return triton.testing.do_bench(call, warmup=harness.DEFAULT_WARMUP_MS, rep=rep_ms,
                                   return_mode="median") / 1e3


def write_json(path: str, options: Options, env: Mapping[str, str], points: Sequence[Point]) -> None:
    document = {
        "environment": dict(env),
        "options": dataclasses.asdict(options),
        "points": [{"n_ctx": p.n_ctx, "window": p.window, "pool": p.pool, "heads": options.heads,
                    "head_dim": options.head_dim, "dtype": options.dtype,
                    "do_bench_baseline_s": p.do_bench_baseline_s,
                    "results": {name: dataclasses.asdict(r) for name, r in p.results.items()}}
                   for p in points],
        "geomean_speedup": {name: g for name, (g, _) in geomean_speedups(points).items()},
    }
    with open(path, "w") as f:
        json.dump(_finite_or_none(document), f, indent=1)


def _finite_or_none(value):
    """NaN/inf -> null: JSON has no NaN, and a strict reader refuses Python's."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    options = parse_args(argv)
    _cli.require_cuda("quick_bench")
    env = environment()
    print(" · ".join(f"{k} {v}" for k, v in env.items()))
    print(f"B={workloads.PR_BATCH} heads {options.heads} head_dim {options.head_dim} {options.dtype}; "
          f"overrides {dict(options.overrides) or 'none'}")
    print("cells: median ms · TFLOP/s · × baseline (same process); L2 flushed before every repetition\n")
    points = measure(options)
    geomeans = geomean_speedups(points)
    print("\ngeomean × baseline: " + ", ".join(f"{name} {g:.3f}× ({n} points)"
                                              for name, (g, n) in geomeans.items() if name != harness.BASELINE))
    failures = [f"n_ctx={p.n_ctx} pool={p.pool}: {r.failure}"
                for p in points for r in p.results.values() if not r.correct]
    for failure in failures:
        print(f"FAILED {failure}")
    if options.json_path:
        write_json(options.json_path, options, env, points)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
