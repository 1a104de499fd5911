#!/usr/bin/env python
"""The gate's error rates, measured: A/A and A/B pairs of commits judged as the gate judges.

    python -m tools.gate_protocol --pair aa1=BASE:CAND --pair ab1=BASE:CAND ... --bench REGEX
        [--config asv.conf.json] [--repo .] [--machine NAME] [--rounds 2]
        [--out DIR] [--thresholds 0.05,0.03,0.02] [--variants default]

One asv session, run as ``ci/gate.py`` runs its own (rounds interleaved across the commits,
raw samples kept, the setup caches checking without timing), measures every commit named
in a pair; then each pair is judged exactly as ``ci/gate.py --results-only`` would judge it.
One session for all pairs instead of one per pair: each pass over a commit costs an
install and a setup cache, and device time is scarce. The pairs that share a commit
(A/B plants against one baseline) share its measurement.

Written to ``--out``: ``gate-NAME.md``, the gate's report for each pair at the default
threshold, and ``protocol.md``, a table of every pair at every threshold: the gate's exit
code, the points that regressed, the points significant either way, and the largest
|ratio - 1|. Exit 0 when every pair was judged (a regression is a finding here, not a
failure), 2 on usage or data errors.

``--variants``: the setup caches check only these variants (``benchmarks/extend_grid.py``,
``VARIANTS_ENV``); name the ones ``--bench`` times. Each commit and round pays a setup cache,
and checking the PR matrix's five variants where one is timed costs most of a pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import SimpleNamespace
from typing import List, Optional, Sequence, Tuple

from benchmarks.extend_grid import VARIANTS_ENV
from benchmarks.workloads import VARIANT_NAMES
from ci import gate

DEFAULT_THRESHOLDS = (0.05, 0.03, 0.02)


def parse_pair(text: str) -> Tuple[str, str, str]:
    name, sep, revs = text.partition("=")
    base, colon, cand = revs.partition(":")
    if not (sep and colon and name and base and cand):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=BASELINE:CANDIDATE")
    return name, base, cand


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--pair", type=parse_pair, action="append", required=True,
                   metavar="NAME=BASELINE:CANDIDATE")
    p.add_argument("--bench", type=gate.regex, action="append", default=[], metavar="REGEX")
    p.add_argument("--config")
    p.add_argument("--repo", default=".")
    p.add_argument("--machine", help="asv machine name (default: this machine's own, ci/asv_machine.py)")
    p.add_argument("--rounds", type=gate.rounds, default=gate.DEFAULT_ROUNDS)
    p.add_argument("--out", default=".")
    p.add_argument("--thresholds", default=",".join(map(str, DEFAULT_THRESHOLDS)))
    p.add_argument("--variants", metavar="NAME,...",
                   help=f"check only these variants in the setup caches (of {', '.join(VARIANT_NAMES)})")
    args = p.parse_args(argv)
    if args.variants is not None:
        unknown = [name for name in args.variants.split(",") if name not in VARIANT_NAMES]
        if unknown or not args.variants:
            p.error(f"--variants {args.variants!r}: unknown {unknown}; expected some of {VARIANT_NAMES}")
    try:
        args.thresholds = [gate.fraction(x) for x in args.thresholds.split(",")]
    except argparse.ArgumentTypeError as err:
        p.error(f"--thresholds: {err}")
    args.machine = args.machine or gate.this_machine()
    names = [name for name, _, _ in args.pair]
    if len(set(names)) != len(names):
        p.error(f"--pair: names must differ, got {names}")
    return args


def measure(args, commits: List[str]) -> str:
    """One interleaved asv session over ``commits``; returns the results directory."""
    asv_args = SimpleNamespace(config=args.config, machine=args.machine, rounds=args.rounds,
                               bench=args.bench, environment=[], python=None, attribute=[],
                               launch_method=None, show_stderr=True)
    gate._run(gate.register_command(asv_args), None, (0,))  # the machine guard first, as in the gate
    gate._run(gate.run_command(asv_args), "".join(f"{c}\n" for c in commits), gate.ASV_RUN_OK)
    return gate.config_results_dir(args.config)


def summary_row(name: str, threshold: float, comparison: gate.Comparison) -> str:
    judged = [row for row in comparison.rows if row.verdict is not None]
    significant = sum(row.verdict.significant for row in judged)
    largest = max((abs(row.verdict.ratio - 1) for row in judged), default=float("nan"))
    return (f"| {name} | {comparison.baseline[:8]} → {comparison.candidate[:8]} | {threshold:g} | "
            f"{comparison.exit_code} | {len(comparison.failing)} of {len(comparison.rows)} | "
            f"{significant} | {largest:.2%} |")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        resolved = [(name, gate.git_commit(base, args.repo), gate.git_commit(cand, args.repo))
                    for name, base, cand in args.pair]
        for (name, base, cand), (_, full_base, full_cand) in zip(args.pair, resolved):
            if full_base is None or full_cand is None:
                raise gate.GateError(f"--pair {name}: git cannot resolve {base!r} or {cand!r} in {args.repo}")
        commits = list(dict.fromkeys(c for _, base, cand in resolved for c in (base, cand)))
        if args.variants:
            os.environ[VARIANTS_ENV] = args.variants  # asv's benchmark processes inherit it
        results_dir = measure(args, commits)
        os.makedirs(args.out, exist_ok=True)
        lines = ["| pair | commits | threshold | gate exit | regressed | significant | largest abs(ratio - 1) |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, base, cand in resolved:
            for threshold in args.thresholds:
                comparison = gate.compare_stored(results_dir, args.machine, base, cand, repo=args.repo,
                                                 threshold=threshold, bench=args.bench)
                lines.append(summary_row(name, threshold, comparison))
                if threshold == args.thresholds[0]:
                    with open(os.path.join(args.out, f"gate-{name}.md"), "w") as f:
                        f.write(gate.report(comparison))
    except gate.GateError as err:
        print(f"gate_protocol: error: {err}", file=sys.stderr)
        return gate.EXIT_ERROR
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "protocol.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
