"""The commits a machine's history still lacks: every commit that changed kernels/, oldest
first, whose stored runs on the machine lack a benchmark named. ``ci/gpu_job.sh backfill``
hands the list to ``asv run HASHFILE:...``.

    python ci/backfill.py --machine nvidia-h200 [--bench RE] [--since REV] [--repo .]
        [--results results] [--benchmarks benchmarks] [--shard I/N] [--plan FILE]

The benchmarks named are those of the suite asv will run (found in ``--benchmarks``, the
checkout's folder, as asv finds them; the store's ``benchmarks.json`` also lists benchmarks
retired since, which no commit could ever gain) that ``--bench`` selects, as asv's ``--bench``
does: a search. A commit
lacks a benchmark until one of its runs holds a measured or failed point of it. So a commit
whose file holds ``bench_peers.Peers`` alone (measured at that commit's HEAD) still lacks the
PR matrix, and one that holds the PR matrix alone still lacks the rest of the suite.
``asv run --skip-existing-commits`` skips any commit that has a file, so it cannot tell these
apart; asv itself merges new benchmarks into an existing file.

``--since REV`` keeps the kernel commits after REV: issue 17 asks for the PR matrix at every
kernel commit, and for the whole suite but the peers at every kernel commit since it was
filed (``--bench '^(?!bench_peers\\.)' --since ecbba5d``).

``--shard I/N`` keeps every Nth missing commit from the Ith (0-based), for N jobs side by
side, one per GPU: both walk the history oldest first, so a deadline leaves one gap, not two.
``--plan FILE`` writes the shard's asv runs: one per set of benchmarks lacked, each commit run
for what it lacks alone (a commit that holds the PR matrix runs only the rest of the suite).
A results file that cannot be read is named, with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ci import store  # noqa: E402
from ci.store import SKIPPED, Run, StoreError  # noqa: E402

DEFAULT_BENCH = r"bench_extend\.PRMatrix\."  # the PR matrix: issue 17's history


def kernel_commits(repo: str, since: Optional[str] = None) -> List[str]:
    """Every commit of HEAD's history that changed kernels/ (after ``since``), oldest first."""
    revisions = f"{since}..HEAD" if since else "HEAD"
    out = subprocess.run(["git", "-C", repo, "rev-list", "--reverse", revisions, "--", "kernels/"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def holds(run: Run, benchmark: str) -> bool:
    """Whether ``run`` holds a point of ``benchmark`` that was run, measured or failed; all
    skipped (no GPU, say) is not stored."""
    return any(point.status != SKIPPED for point in run.points(benchmark).values())


def selected(names: Iterable[str], bench: str) -> List[str]:
    """The benchmark names ``bench`` selects, as asv's ``--bench`` does: a search."""
    pattern = re.compile(bench)
    return sorted(name for name in set(names) if pattern.search(name))


def suite(benchmark_dir: str) -> List[str]:
    """The names of the benchmarks asv finds in ``benchmark_dir``: the suite it will run."""
    from asv_runner.discovery import disc_benchmarks  # imports the suite: only where it is asked for
    return sorted(benchmark.name for benchmark in disc_benchmarks(benchmark_dir))


def needed(suite: Iterable[str], runs: Sequence[Run], bench: str) -> List[str]:
    """The benchmarks a commit needs: those of ``suite`` that ``bench`` selects, or where the suite
    is not given, those stored in ``runs`` that it selects."""
    return selected(suite, bench) or selected((name for run in runs for name in run.benchmarks()), bench)


def lacking(commits: Sequence[str], runs: Sequence[Run], names: Sequence[str]) -> Dict[str, Tuple[str, ...]]:
    """{commit: the benchmarks of ``names`` its runs lack}, for the ``commits`` (in their order)
    that lack any; every commit where ``names`` is empty (nothing known to look for)."""
    held: Dict[str, Set[str]] = {}
    for run in runs:
        held.setdefault(run.commit, set()).update(name for name in names if holds(run, name))
    lacked = {commit: tuple(name for name in names if name not in held.get(commit, set())) for commit in commits}
    return {commit: absent for commit, absent in lacked.items() if absent or not names}


def plan(lacked: Mapping[str, Tuple[str, ...]], names: Sequence[str], bench: str) -> List[Tuple[str, List[str]]]:
    """The asv runs for the commits of ``lacking``: [(--bench, commits)], one per set of benchmarks
    lacked, in the order the sets first appear. Commits that lack every benchmark of ``names``
    run ``bench`` itself; the others run only what they lack (the exact names, with or without
    parameters), so that nothing stored is measured again."""
    groups: Dict[Tuple[str, ...], List[str]] = {}
    for commit, absent in lacked.items():
        groups.setdefault(absent, []).append(commit)
    return [(bench if set(absent) >= set(names) else "^(?:" + "|".join(map(re.escape, absent)) + r")(?:\(|$)",
             commits) for absent, commits in groups.items()]


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
    parser.add_argument("--since", help="only the kernel commits after this revision")
    parser.add_argument("--repo", default=".", help="the git repository whose history is read")
    parser.add_argument("--results", default="results", help="the results store")
    parser.add_argument("--benchmarks", default="benchmarks", help="the suite's folder, as asv's benchmark_dir")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="I/N",
                        help="every Nth missing commit, from the Ith (0-based)")
    parser.add_argument("--plan", metavar="FILE",
                        help="also write the shard's asv runs here: a line per run, its --bench and its "
                             "commits (tab between, spaces among the commits)")
    args = parser.parse_args(argv)
    try:
        re.compile(args.bench)
    except re.error as err:
        parser.error(f"--bench {args.bench!r} is not a regular expression: {err}")
    if not os.path.isdir(args.benchmarks):
        parser.error(f"--benchmarks {args.benchmarks!r} is not a folder")
    try:
        runs = store.load(args.results).runs(args.machine) if os.path.isdir(
            os.path.join(args.results, args.machine)) else ()
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        commits = kernel_commits(args.repo, args.since)
    except subprocess.CalledProcessError as err:
        flag = f"--since {args.since}" if args.since else f"--repo {args.repo}"
        print(f"error: {flag}: git rev-list failed: {err.stderr.strip()}", file=sys.stderr)
        return 1
    names = needed(suite(args.benchmarks), runs, args.bench)
    todo = lacking(commits, runs, names)
    index, count = args.shard
    share = {commit: todo[commit] for commit in list(todo)[index::count]}
    print(f"backfill: {len(commits)} kernel commits, {len(commits) - len(todo)} stored for {args.machine}, "
          f"{len(todo)} to run; shard {index}/{count}: {len(share)}", file=sys.stderr)
    print("\n".join(share))
    if args.plan:
        with open(args.plan, "w") as out:
            out.writelines(f"{selection}\t{' '.join(hashes)}\n" for selection, hashes in plan(share, names, args.bench))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
