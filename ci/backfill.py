"""The commits a machine's history still lacks: every commit that changed kernels/, oldest
first, whose stored run on the machine has no measured or failed point of the benchmarks
named. ``ci/gpu_job.sh backfill`` hands the list to ``asv run HASHFILE:...``.

    python ci/backfill.py --machine nvidia-h200 [--bench RE] [--repo .] [--results results]
        [--shard I/N]

A commit counts as stored only for the benchmarks asked about: a commit whose file holds
``bench_peers.Peers`` alone (measured at that commit's HEAD) still lacks the PR matrix.
``asv run --skip-existing-commits`` skips any commit that has a file, so it cannot tell the
two apart; asv itself merges new benchmarks into an existing file.

``--shard I/N`` keeps every Nth missing commit from the Ith (0-based), for N jobs side by
side, one per GPU: both walk the history oldest first, so a deadline leaves one gap, not two.
A results file that cannot be read is named, with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from typing import Iterable, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ci import store  # noqa: E402
from ci.store import SKIPPED, Run, StoreError  # noqa: E402

DEFAULT_BENCH = r"bench_extend\.PRMatrix\."  # the PR matrix: issue 17's history


def kernel_commits(repo: str) -> List[str]:
    """Every commit of HEAD's history that changed kernels/, oldest first."""
    out = subprocess.run(["git", "-C", repo, "rev-list", "--reverse", "HEAD", "--", "kernels/"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def has_benchmarks(run: Run, bench: str) -> bool:
    """Whether ``run`` holds a point that was run, measured or failed, of a benchmark whose name
    ``bench`` matches (as asv's ``--bench`` matches: a search); all skipped is not stored."""
    pattern = re.compile(bench)
    return any(point.status != SKIPPED for name in run.benchmarks() if pattern.search(name)
               for point in run.points(name).values())


def missing(commits: Sequence[str], runs: Iterable[Run], bench: str) -> List[str]:
    """``commits`` (in their order) that no run in ``runs`` holds ``bench`` for."""
    stored = {run.commit for run in runs if has_benchmarks(run, bench)}
    return [commit for commit in commits if commit not in stored]


def parse_shard(text: str) -> Tuple[int, int]:
    """``I/N`` -> (I, N), with 0 <= I < N."""
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise argparse.ArgumentTypeError(f"--shard wants I/N with 0 <= I < N, got {text!r}")
    return int(match[1]), int(match[2])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", required=True, help="the machine's name in the results store")
    parser.add_argument("--bench", default=DEFAULT_BENCH, help=f"benchmarks the history needs (default {DEFAULT_BENCH})")
    parser.add_argument("--repo", default=".", help="the git repository whose history is read")
    parser.add_argument("--results", default="results", help="the results store")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="I/N",
                        help="every Nth missing commit, from the Ith (0-based)")
    args = parser.parse_args(argv)
    try:
        re.compile(args.bench)
    except re.error as err:
        parser.error(f"--bench {args.bench!r} is not a regular expression: {err}")
    try:
        runs = store.load(args.results).runs(args.machine) if os.path.isdir(
            os.path.join(args.results, args.machine)) else ()
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        commits = kernel_commits(args.repo)
    except subprocess.CalledProcessError as err:
        print(f"error: --repo {args.repo}: git rev-list failed: {err.stderr.strip()}", file=sys.stderr)
        return 1
    todo = missing(commits, runs, args.bench)
    index, count = args.shard
    print(f"backfill: {len(commits)} kernel commits, {len(commits) - len(todo)} stored for {args.machine}, "
          f"{len(todo)} to run; shard {index}/{count}: {len(todo[index::count])}", file=sys.stderr)
    print("\n".join(todo[index::count]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
