"""The stored asv results as one history per machine, in commit order, and the points in them.

Read through ``ci/store.py``, the one reader of asv's results: a results file that cannot
be read stops the plots with its name (``StoreError``) instead of being skipped, since a
silently missing commit would hide its step from the trends and from the regression marks.
The plots draw measured points only; failed and skipped ones are gaps. Rates are derived
here from ``time_extend``'s medians (asv stores none: docs/GATE.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import re
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from benchmarks.bench_ceilings import copy_gbps, matmul_tflops
from benchmarks.cost import Cost
from benchmarks.extend_grid import EXTEND_PARAMS, point_cost
from benchmarks.harness import BASELINE
from benchmarks.workloads import PR_DTYPE, PR_HEAD_DIM, PR_HEADS, pr_lengths
from ci import store
from ci.rule import DEFAULT_THRESHOLD, Point, judge
from ci.store import Run, StoreError

# asv benchmark names (docs/DESIGN.md)
PR_MATRIX = "bench_extend.PRMatrix"
TIME = f"{PR_MATRIX}.time_extend"
CODEGEN = "bench_codegen.Codegen"
CEILINGS = "bench_ceilings.Ceilings"
COPY_SECONDS = f"{CEILINGS}.track_copy_seconds"
MATMUL_SECONDS = f"{CEILINGS}.track_matmul_seconds"
PEERS = "bench_peers.Peers"
PEERS_TIME = f"{PEERS}.time_extend"
PEERS_RATIO = f"{PEERS}.track_default_time_ratio"
PEERS_PARAMS = ("n_ctx", "window", "pool", "provider")
# the ceilings as stored before asv kept only values where a rise is a loss (docs/GATE.md)
COPY_GBPS = f"{CEILINGS}.track_copy_gbps"
MATMUL_TFLOPS = f"{CEILINGS}.track_matmul_tflops"


class PRKey(NamedTuple):
    """One point of the PR matrix (heads, head_dim and dtype are the PR's fixed values)."""

    n_ctx: int
    window: int
    pool: str
    variant: str


@dataclasses.dataclass(frozen=True)
class History:
    """One machine's runs, oldest commit first."""

    machine: str
    runs: Tuple[Run, ...]

    @property
    def newest(self) -> Run:
        return self.runs[-1]

    def newest_measuring(self, benchmark: str) -> Run:
        """The newest run that measured ``benchmark`` (a peers-only run may be newer); the
        newest run when none did."""
        return next((run for run in reversed(self.runs) if run.measured(benchmark)), self.newest)

    def commit_range(self) -> str:
        first, last = self.runs[0], self.runs[-1]
        if len(self.runs) == 1:
            return f"commit {first.short} ({_day(first.date)})"
        return f"{len(self.runs)} commits {first.short}..{last.short} ({_day(first.date)} to {_day(last.date)})"


def _day(js_timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(js_timestamp / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def load_histories(results_dir, env: Optional[str] = None) -> list[History]:
    """Every machine's history under an asv results folder; ``env`` picks one asv environment."""
    stored = store.load(results_dir)
    histories = [History(machine, stored.history(machine, env)) for machine in stored.machines()]
    histories = [history for history in histories if history.runs]
    if not histories:
        wanted = f" for environment {env!r}" if env else ""
        raise StoreError(f"no asv results{wanted} in {results_dir} (expected <machine>/machine.json "
                         "and <machine>/<commit>-<env>.json; run the benchmarks first)")
    return histories


def points(run: Run, benchmark: str) -> Dict[tuple, Point]:
    """The measured points of one benchmark at one commit, keyed by their parameter values."""
    return {key.values: stored.point() for key, stored in run.measured(benchmark).items()}


def pr_points(run: Run, benchmark: str) -> Dict[PRKey, Point]:
    """The PR-matrix points of one extend benchmark at one commit."""
    selected = {}
    for values, point in points(run, benchmark).items():
        if len(values) != len(EXTEND_PARAMS):
            raise StoreError(f"{run.path}: {benchmark} has {len(values)} parameters; "
                             f"expected {', '.join(EXTEND_PARAMS)}")
        p = dict(zip(EXTEND_PARAMS, values))
        if (p["heads"], p["head_dim"], p["dtype"]) == (PR_HEADS, PR_HEAD_DIM, PR_DTYPE):
            selected[PRKey(p["n_ctx"], p["window"], p["pool"], p["variant"])] = point
    return selected


@functools.lru_cache(maxsize=None)
def pr_cost(n_ctx: int, window: int) -> Cost:
    """FLOPs and bytes of a PR-matrix call: the counts the benchmarks themselves use."""
    return point_cost(pr_lengths, (n_ctx, window, PR_HEADS, PR_HEAD_DIM, PR_DTYPE, None, None))


def pr_tflops(run: Run) -> Dict[PRKey, float]:
    """Achieved TFLOP/s of every measured PR-matrix point: its FLOPs over ``time_extend``'s
    median, the one timing of the point (no second timing to disagree with it)."""
    return {key: pr_cost(key.n_ctx, key.window).flops / point.value / 1e12
            for key, point in pr_points(run, TIME).items()}


def pr_speedups(run: Run) -> Dict[PRKey, float]:
    """Baseline time / variant time at every PR-matrix point, both ``time_extend`` medians of the run."""
    times = pr_points(run, TIME)
    return {key: times[key._replace(variant=BASELINE)].value / point.value
            for key, point in times.items() if key._replace(variant=BASELINE) in times}


class PeerKey(NamedTuple):
    n_ctx: int
    window: int
    pool: str
    provider: str


def peers_runs(history: History) -> Dict[str, Dict[str, Run]]:
    """{pool: {provider: the newest run of this machine that measured that provider in that
    pool}}, pools and providers in the order they were first measured. A device call may
    measure one pool (``ci/gpu_job.sh peers POOL``) or some providers' points
    (``PEERS_PROVIDERS``), and calls can land on different commits. A provider's in-run ratio
    to ``default`` counts as measured; ``default`` itself, whose ratio is 1 by definition, is
    left out: it is in every run, and its line comes from the pool's newest (``newest_of``)."""
    newest: Dict[str, Dict[str, Run]] = {}
    for run in history.runs:
        for key in peers_points(run, PEERS_RATIO):
            if key.provider != "default":
                newest.setdefault(key.pool, {})[key.provider] = run
    return newest


def newest_of(runs: Dict[str, Run]) -> Run:
    """The newest of one pool's runs (``peers_runs``): the commit its table is headed with."""
    return max(runs.values(), key=lambda run: run.date)


def peers_points(run: Run, benchmark: str) -> Dict[PeerKey, Point]:
    return {PeerKey(*values): point for values, point in points(run, benchmark).items()}


# How a stored run's in-run ratios were timed, by bench_peers.PEERS_PROTOCOL (in its version)
PEERS_TIMING = {
    1: "each provider's calls in one run, the runs rotated per round: up to ~8% of order bias "
       "(docs/MEASUREMENTS.md, step 11)",
    2: "the providers' calls in turns, call by call",
}


def peers_timing(run: Run) -> str:
    """How ``run``'s ``track_default_time_ratio`` was timed, read from the version it carries."""
    match = re.search(r"peers[- ](\d+)", run.version(PEERS_RATIO) or "")
    return PEERS_TIMING.get(int(match.group(1)), "unknown") if match else "unknown"


def peers_speedups(run: Run) -> Dict[PeerKey, float]:
    """Default's speedup over each provider: the inverse of the stored in-run ratio
    (default's median over the provider's, both timed in one process: ``peers_timing``)."""
    return {key: 1.0 / point.value for key, point in peers_points(run, PEERS_RATIO).items()}


def peers_tflops(run: Run) -> Dict[PeerKey, float]:
    """Each provider's TFLOP/s at each point: the point's FLOPs over its ``time_extend`` median."""
    return {key: pr_cost(key.n_ctx, key.window).flops / point.value / 1e12
            for key, point in peers_points(run, PEERS_TIME).items()}


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _spread(ratios: Dict[Tuple[int, int], float]) -> str:
    values = list(ratios.values())
    return (f"{_geomean(values):.3f}× (min {min(values):.3f}×, max {max(values):.3f}×); "
            f"8192/none {ratios.get((8192, -1), math.nan):.3f}×, 1024/none {ratios.get((1024, -1), math.nan):.3f}×, "
            f"8192/W127 {ratios.get((8192, 127), math.nan):.3f}×")


# The upstream question, on SGLang's own kernel: each form of 0.5.2 against 0.5.2 as shipped.
UPSTREAM_FORMS = ("sglang-0.5.2+cg", "sglang-0.5.2+stages2", "sglang-0.5.2+cg+stages2")
SGLANG_SHIPPED = "sglang-0.5.2"


def peers_tables(runs: Dict[str, Dict[str, Run]]) -> str:
    """The stored peers runs as the README quotes them (``peers_runs``): every ratio from one
    process's medians (``track_default_time_ratio``), over the PR matrix's 16 points. A row
    comes from the newest run that measured both of its providers in the pool; a row from an
    older commit than the pool's newest names it."""
    lines = []
    for pool, by_provider in runs.items():
        newest = newest_of(by_provider)

        def over(numerator: str, denominator: str) -> str:
            """numerator's speedup over denominator (t_den / t_num = ratio_num / ratio_den, where
            ratio = default's time / the provider's, and default's own ratio is 1), from the
            newest run that measured both; '' where no run did."""
            candidates = {run.commit: run for run in by_provider.values()}.values()
            for run in sorted(candidates, key=lambda run: run.date, reverse=True):
                ratios = {key: point for key, point in peers_points(run, PEERS_RATIO).items()
                          if key.pool == pool}
                speedups = {(k.n_ctx, k.window): ratios[k._replace(provider=numerator)].value / ratios[k].value
                            for k in ratios
                            if k.provider == denominator and k._replace(provider=numerator) in ratios}
                if speedups:
                    timing = peers_timing(run)
                    older = ("" if run is newest else f" (commit {run.short}" +
                             ("" if timing == peers_timing(newest) else f", timed with {timing}") + ")")
                    return f"| {_spread(speedups)}{older} |"
            return ""
        lines += [f"pool {pool}: commit {newest.short} ({_day(newest.date)}); every ratio from one process's "
                  f"medians (bench_peers.Peers.track_default_time_ratio), timed with {peers_timing(newest)}.", "",
                  "| speedup | geomean over the 16 points (min, max); three points |", "|---|---|"]
        rows = [(f"{form} over {SGLANG_SHIPPED}", over(form, SGLANG_SHIPPED)) for form in UPSTREAM_FORMS]
        rows.append((f"our baseline over {SGLANG_SHIPPED}", over("baseline", SGLANG_SHIPPED)))
        rows += [(f"our default over {provider}", over("default", provider))
                 for provider in by_provider if provider != "default"]
        lines += [f"| {name} {cells}" for name, cells in rows if cells]
        lines.append("")
    return "\n".join(lines)


def ceilings(run: Run) -> Optional[Tuple[float, float]]:
    """(matmul TFLOP/s, copy GB/s) the run measured, in either stored form, or None."""
    stored = {name: points(run, name).get(()) for name in (MATMUL_SECONDS, COPY_SECONDS, MATMUL_TFLOPS, COPY_GBPS)}
    if stored[MATMUL_SECONDS] and stored[COPY_SECONDS]:
        return matmul_tflops(stored[MATMUL_SECONDS].value), copy_gbps(stored[COPY_SECONDS].value)
    if stored[MATMUL_TFLOPS] and stored[COPY_GBPS]:
        return stored[MATMUL_TFLOPS].value, stored[COPY_GBPS].value
    return None


def newest_ceilings(history: History) -> Optional[Tuple[Run, float, float]]:
    """(run, matmul TFLOP/s, copy GB/s) from the newest commit that stored both, or None: the
    ceilings the roofline is drawn under."""
    for run in reversed(history.runs):
        measured = ceilings(run)
        if measured is not None:
            return (run, *measured)
    return None


def regressed_steps(series: Sequence[Optional[Point]], threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Where a series of times (one per commit, None where absent) regressed, by the gate's rule.

    Returns {commit index: judge's verdict}. Each point is judged against the nearest earlier
    commit that has it, so a commit that failed to measure does not hide the step across it.
    """
    steps = {}
    previous = None
    for index, point in enumerate(series):
        if point is None or point.value <= 0:  # not a time the rule can judge
            continue
        if previous is not None:
            verdict = judge(previous, point, threshold)
            if verdict.regressed:
                steps[index] = verdict
        previous = point
    return steps
