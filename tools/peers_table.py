"""Our kernel beside its peers, in one process: the table the README quotes.

    python -m tools.peers_table [--n-ctx 1024,8192] [--windows -1,127] [--pools contiguous]
        [--providers default,flashinfer-0.7.2-fa3] [--rounds 3] [--rep-ms 100] [--json FILE]

The same measurement as asv's ``bench_peers.Peers`` setup cache (``benchmarks/peers_grid.py``):
every provider checked against the float64 reference on the point's inputs first, then the
correct ones timed interleaved (CUDA events, L2 flushed, medians), so every ratio is in-run.
Prints, per point, each provider's median and ``default``'s speedup over it.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Optional, Sequence

from benchmarks import workloads
from benchmarks.peers_grid import PeersGrid, measure_peers
from benchmarks.providers import PROVIDERS
from benchmarks.providers.project import DEFAULT
from tools import _cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ctx", type=_cli.int_list, default=",".join(map(str, workloads.PR_N_CTX)))
    parser.add_argument("--windows", type=_cli.int_list, default=",".join(map(str, workloads.PR_WINDOWS)))
    parser.add_argument("--pools", type=_cli.name_list(workloads.POOLS), default="contiguous")
    parser.add_argument("--providers", type=_cli.name_list(list(PROVIDERS)), default=",".join(PROVIDERS))
    parser.add_argument("--head-dim", type=int, default=workloads.PR_HEAD_DIM)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rep-ms", type=float, default=100.0)
    parser.add_argument("--json", help="write every number here too")
    return _cli.parse(parser, argv)


def format_table(measured: dict, providers: Sequence[str]) -> str:
    """One row per point: each provider's median (ms) and default's speedup over it."""
    lines = ["| n_ctx | window | pool | " + " | ".join(providers) + " |",
             "|" + "---|" * (3 + len(providers))]
    for (n_ctx, window, _, _, _, pool), numbers in measured["points"].items():
        cells = []
        for name in providers:
            entry = numbers[name]
            if "skipped" in entry:
                cells.append("skipped")
            elif not entry["correct"]:
                cells.append("WRONG")
            elif math.isnan(entry["seconds"]):
                cells.append("checked")
            else:
                cells.append(f"{entry['seconds'] * 1e3:.3f} ms ({1 / entry['default_time_ratio']:.2f}x)")
        lines.append(f"| {n_ctx} | {window} | {pool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    args.providers = list(dict.fromkeys([DEFAULT, *args.providers]))  # every ratio is against it
    grid = PeersGrid(n_ctx=args.n_ctx, window=args.windows, heads=[workloads.PR_HEADS],
                     head_dim=[args.head_dim], dtype=[workloads.PR_DTYPE], pool=args.pools,
                     providers=args.providers)
    measured = measure_peers(grid, workloads.pr_lengths, rounds=args.rounds, rep_ms=args.rep_ms)
    if "unavailable" in measured:
        raise SystemExit(f"peers_table: {measured['unavailable']}")
    print("cells: median of one call, and default's speedup over it (x), all in this one run")
    for name in args.providers:
        print(f"  {name}: {PROVIDERS[name].version} ({PROVIDERS[name].kind})")
    print(format_table(measured, args.providers))
    failures = [f"{shape} {name}: {entry.get('failure')}" for shape, numbers in measured["points"].items()
                for name, entry in numbers.items() if "skipped" not in entry and not entry["correct"]]
    for failure in failures:
        print("WRONG:", failure)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": {name: PROVIDERS[name].version for name in args.providers},
                       "points": [{"shape": list(shape), "numbers": numbers}
                                  for shape, numbers in measured["points"].items()]}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
