"""The stored asv results as one history per machine, in commit order, and the points in them.

Everything is read through asv's own results API (``asv.results.Results``). A results file
that cannot be read stops the plots with its name instead of being skipped: a silently
missing commit would hide its step from the trends and from the regression marks.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import itertools
import math
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from asv import util
from asv.machine import Machine
from asv.results import Results

from benchmarks.workloads import PR_DTYPE, PR_HEAD_DIM, PR_HEADS
from ci.rule import DEFAULT_THRESHOLD, Point, judge

# asv benchmark names (docs/DESIGN.md)
PR_MATRIX = "bench_extend.PRMatrix"
TIME = f"{PR_MATRIX}.time_extend"
SPEEDUP = f"{PR_MATRIX}.track_speedup_vs_baseline"
TFLOPS = f"{PR_MATRIX}.track_tflops"
CODEGEN = "bench_codegen.Codegen"
COPY_GBPS = "bench_ceilings.Ceilings.track_copy_gbps"
MATMUL_TFLOPS = "bench_ceilings.Ceilings.track_matmul_tflops"
EXTEND_PARAMS = ("n_ctx", "window", "heads", "head_dim", "dtype", "pool", "variant")

_NOT_RESULTS = {"machine.json", "benchmarks.json"}


class ResultsError(Exception):
    """Stored results that cannot be used; the message names the file or folder."""


class PRKey(NamedTuple):
    """One point of the PR matrix (heads, head_dim and dtype are the PR's fixed values)."""

    n_ctx: int
    window: int
    pool: str
    variant: str


@dataclasses.dataclass(frozen=True)
class Run:
    """One commit's results on one machine."""

    path: Path
    results: Results

    @property
    def commit(self) -> str:
        return self.results.commit_hash

    @property
    def short(self) -> str:
        return self.commit[:8]

    @property
    def date(self) -> int:
        """The commit date as asv stores it: milliseconds since the epoch."""
        return self.results.date


@dataclasses.dataclass(frozen=True)
class History:
    """One machine's runs, oldest commit first."""

    machine: str
    runs: Tuple[Run, ...]

    @property
    def newest(self) -> Run:
        return self.runs[-1]

    def commit_range(self) -> str:
        first, last = self.runs[0], self.runs[-1]
        if len(self.runs) == 1:
            return f"commit {first.short} ({_day(first.date)})"
        return f"{len(self.runs)} commits {first.short}..{last.short} ({_day(first.date)} to {_day(last.date)})"


def _day(js_timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(js_timestamp / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def load_histories(results_dir, env: Optional[str] = None) -> list[History]:
    """Every machine's history under an asv results folder; ``env`` picks one asv environment."""
    results_dir = Path(results_dir)
    machine_dirs = sorted(path.parent for path in results_dir.glob("*/machine.json"))
    histories = [h for h in (_load_machine(d, env) for d in machine_dirs) if h.runs]
    if not histories:
        wanted = f" for environment {env!r}" if env else ""
        raise ResultsError(f"no asv results{wanted} in {results_dir} (expected <machine>/machine.json "
                           "and <machine>/<commit>-<env>.json; run the benchmarks first)")
    return histories


def _load_machine(machine_dir: Path, env: Optional[str]) -> History:
    machine = _machine_name(machine_dir / "machine.json")
    runs = [_load_run(path, machine) for path in sorted(machine_dir.glob("*.json"))
            if path.name not in _NOT_RESULTS]
    if env is not None:
        runs = [run for run in runs if run.results.env_name == env]
    _check_one_run_per_commit(machine_dir, runs)
    # asv's date is the commit date, so this is commit order whatever order the runs were made in
    runs.sort(key=lambda run: (run.date, run.commit))
    return History(machine, tuple(runs))


def _machine_name(path: Path) -> str:
    try:
        name = util.load_json(str(path), api_version=Machine.api_version).get("machine")
    except (util.UserError, OSError, AttributeError) as exc:
        raise ResultsError(f"{path}: cannot read asv machine file ({exc})") from None
    if not isinstance(name, str) or not name:
        raise ResultsError(f"{path}: no machine name in it")
    return name


def _load_run(path: Path, machine: str) -> Run:
    try:
        results = Results.load(str(path), machine_name=machine)
    except (util.UserError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResultsError(f"{path}: cannot read asv results ({exc})") from None
    if not isinstance(results.commit_hash, str) or not isinstance(results.date, (int, float)):
        raise ResultsError(f"{path}: no commit hash or commit date in it")
    return Run(path, results)


def _check_one_run_per_commit(machine_dir: Path, runs: Sequence[Run]) -> None:
    envs: Dict[str, list] = {}
    for run in runs:
        envs.setdefault(run.commit, []).append(run.results.env_name)
    for commit, names in envs.items():
        if len(names) > 1:
            raise ResultsError(f"{machine_dir}: commit {commit[:8]} has results from several asv "
                               f"environments ({', '.join(sorted(names))}); choose one with --env")


def points(run: Run, benchmark: str) -> Dict[tuple, Point]:
    """Every stored value of one benchmark at one commit, keyed by its parameter values."""
    results = run.results
    if benchmark not in results.get_all_result_keys():
        return {}
    params = results.get_result_params(benchmark)
    rows = zip(itertools.product(*params), results.get_result_value(benchmark, params),
               results.get_result_stats(benchmark, params), results.get_result_samples(benchmark, params))
    # asv stores a failed point as None and a skipped one as NaN: neither is a measurement
    return {tuple(_param_value(p) for p in combo): Point(value, stats, samples)
            for combo, value, stats, samples in rows
            if isinstance(value, (int, float)) and math.isfinite(value)}


def _param_value(text: str):
    """asv stores parameter values as their repr: "1024", "'bf16'"."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def pr_points(run: Run, benchmark: str) -> Dict[PRKey, Point]:
    """The PR-matrix points of one extend benchmark at one commit."""
    selected = {}
    for values, point in points(run, benchmark).items():
        if len(values) != len(EXTEND_PARAMS):
            raise ResultsError(f"{run.path}: {benchmark} has {len(values)} parameters; "
                               f"expected {', '.join(EXTEND_PARAMS)}")
        p = dict(zip(EXTEND_PARAMS, values))
        if (p["heads"], p["head_dim"], p["dtype"]) == (PR_HEADS, PR_HEAD_DIM, PR_DTYPE):
            selected[PRKey(p["n_ctx"], p["window"], p["pool"], p["variant"])] = point
    return selected


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
