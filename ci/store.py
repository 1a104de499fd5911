"""The one reader of asv's results store: ``<results>/<machine>/<commit>-<env>.json``.

    store = load("results")
    store.history("h100-sxm-80gb")               # one Run per commit, in commit-date order
    store.resolve("HEAD~1", "h100-sxm-80gb")     # the stored commit a git rev or hash prefix names
    run.points("bench_extend.PRMatrix.time_extend")   # {Key: Stored}, failed and skipped kept

The gate, the plots, the timing agreement and the import of GPU results all read stored
results here, so a file asv wrote wrongly, cut short or that someone edited is met in one
place: every check below raises ``StoreError``, whose message names the file. asv's
getters pad a short list with None (a truncated file would pass for failed points) and
take any JSON for a number, so the checks read asv's per-benchmark lists themselves; this
is the only module that touches asv's private attributes (asv is pinned in pyproject.toml).

A point's status is asv's: a value is *measured*; None is *failed* (the benchmark raised,
e.g. a wrong output); NaN is *skipped* (``NotImplementedError``: no GPU, a variant the
commit lacks).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import itertools
import math
import numbers
import re
import subprocess
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

from asv import util
from asv.benchmarks import Benchmarks
from asv.machine import Machine
from asv.results import Results

from ci.rule import Point

MEASURED, FAILED, SKIPPED = "measured", "failed", "skipped"
NOT_RESULTS = ("machine.json", "benchmarks.json")

# What asv's JSON loader and Results.load raise on a file that is not what asv wrote: a
# syntax error, a missing key, a wrong type, JSON nested beyond Python's recursion limit.
_LOAD_ERRORS = (util.UserError, OSError, UnicodeError, ValueError, KeyError, TypeError, AttributeError,
                IndexError, RecursionError)


class StoreError(Exception):
    """Stored results that cannot be used; the message names the file or folder."""


def point_label(benchmark: str, label: Tuple[str, ...]) -> str:
    """A point as asv prints it, for ``--bench`` and threshold globs: name(param, param, ...)."""
    return f"{benchmark}({', '.join(label)})" if label else benchmark


@dataclasses.dataclass(frozen=True)
class Key:
    """One point of a benchmark: asv's parameter reprs, decoded once, and their names."""

    benchmark: str
    label: Tuple[str, ...]  # as asv stores them: "1024", "'bf16'"
    values: Tuple = dataclasses.field(compare=False)  # decoded: 1024, "bf16"
    names: Tuple[str, ...] = dataclasses.field(compare=False)  # from benchmarks.json; () if unknown

    @property
    def text(self) -> str:
        return point_label(self.benchmark, self.label)


@dataclasses.dataclass(frozen=True)
class Stored:
    """One stored point: asv's value, its stats and its raw samples."""

    value: Optional[float]
    stats: Optional[Mapping[str, float]] = None
    samples: Optional[Tuple[Optional[float], ...]] = None

    @property
    def status(self) -> str:
        if self.value is None:
            return FAILED
        return SKIPPED if math.isnan(self.value) else MEASURED

    def point(self) -> Point:
        """The point as the regression rule reads it."""
        return Point(self.value, self.stats, self.samples)


@dataclasses.dataclass(frozen=True)
class Run:
    """One results file: one commit, measured in one environment on one machine."""

    path: Path
    machine: str
    results: Results = dataclasses.field(repr=False)  # asv's object, for tools that save through asv
    param_names: Mapping[str, Tuple[str, ...]] = dataclasses.field(repr=False)

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

    @property
    def env(self) -> str:
        return self.results.env_name

    def benchmarks(self) -> Tuple[str, ...]:
        return tuple(sorted(self.results.get_all_result_keys()))

    def version(self, benchmark: str) -> Optional[str]:
        """The asv version the benchmark had when this file was written."""
        return self.results.benchmark_version.get(benchmark)

    def points(self, benchmark: str) -> Dict[Key, Stored]:
        """Every stored point of ``benchmark`` (none if this file lacks it), in asv's order."""
        if benchmark not in self.results.get_all_result_keys():
            return {}
        params = self.results.get_result_params(benchmark)
        names = self.param_names.get(benchmark, ())
        rows = zip(itertools.product(*params), self.results.get_result_value(benchmark, params),
                   self.results.get_result_stats(benchmark, params),
                   self.results.get_result_samples(benchmark, params))
        return {Key(benchmark, tuple(label), tuple(map(_decode, label)), names):
                Stored(value, stats, None if samples is None else tuple(samples))
                for label, value, stats, samples in rows}

    def intervals(self) -> Dict[str, Tuple[int, int]]:
        """When each benchmark of this file ran, as (start, end) in milliseconds since the epoch
        (UTC): asv's ``started_at``, and that plus its ``duration`` (the start alone where asv
        kept no duration). asv records one start per benchmark, after its setup cache, not one per
        point. With asv's ``rounds`` above 1 (this suite runs one), the start is the last round's
        and the duration the sum over the rounds."""
        starts, durations = self.results.started_at, self.results.duration
        return {name: (int(starts[name]), int(starts[name]) + round(1000 * (durations.get(name) or 0.0)))
                for name in self.benchmarks() if starts.get(name) is not None}

    def measured(self, benchmark: str) -> Dict[Key, Stored]:
        """The points of ``benchmark`` that hold a measurement."""
        return {key: stored for key, stored in self.points(benchmark).items() if stored.status == MEASURED}


def _decode(text: str):
    """asv stores parameter values as their repr: "1024", "'bf16'"."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError):
        return text


# ---------------------------------------------------------------- checks

def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_value(value) -> bool:
    return value is None or (_is_number(value) and not math.isinf(value))  # NaN: skipped


def _are_samples(samples) -> bool:
    return samples is None or (isinstance(samples, list) and all(x is None or _is_number(x) for x in samples))


def _are_stats(stats) -> bool:  # asv builds each point's stats dict itself; its values come from the file
    return stats is None or all(x is None or _is_number(x) for x in stats.values())


# asv's per-benchmark lists, one entry per point: column, Results attribute, what fits an entry
_POINT_COLUMNS = (("result", "_results", _is_value, "is not a number, None (failed) or NaN (skipped)"),
                  ("samples", "_samples", _are_samples, "are not numbers"),
                  ("stats", "_stats", _are_stats, "are not numbers"))


def _is_grid(params) -> bool:
    return isinstance(params, list) and all(isinstance(axis, list) and all(isinstance(v, str) for v in axis)
                                            for axis in params)


def _check_benchmark(results: Results, name: str) -> None:
    """Raise ValueError where one benchmark's stored lists do not fit its parameter grid."""
    params = results._benchmark_params[name]
    if not _is_grid(params):
        raise ValueError(f"{name}: params {params!r} are not lists of parameter reprs")
    size = math.prod(len(axis) for axis in params)
    for column, attribute, fits, complaint in _POINT_COLUMNS:
        stored = getattr(results, attribute)[name]
        if stored is None:
            continue
        if not isinstance(stored, list) or len(stored) != size:
            raise ValueError(f"{name}: {column} does not hold {size} points")
        for entry in stored:
            if not fits(entry):
                raise ValueError(f"{name}: {column} {entry!r} {complaint}")
    version = results._benchmark_version[name]
    if version is not None and not isinstance(version, str):
        raise ValueError(f"{name}: version {version!r} is not a string")
    started_at, duration = results._started_at.get(name), results._duration.get(name)
    if started_at is not None and not (_is_number(started_at) and math.isfinite(started_at)):
        raise ValueError(f"{name}: started_at {started_at!r} is not a timestamp")
    if duration is not None and not (_is_number(duration) and 0 <= duration < math.inf):
        raise ValueError(f"{name}: duration {duration!r} is not a number of seconds")


def _check_run(results: Results) -> None:
    if not (isinstance(results.commit_hash, str) and re.fullmatch(r"[0-9a-fA-F]+", results.commit_hash)):
        raise ValueError(f"commit hash {results.commit_hash!r} is not a hexadecimal hash")
    if not (_is_number(results.date) and math.isfinite(results.date)):
        raise ValueError(f"commit date {results.date!r} is not a timestamp")
    if not (isinstance(results.env_name, str) and results.env_name):
        raise ValueError(f"environment name {results.env_name!r} is not a name")
    for name in results.get_all_result_keys():
        _check_benchmark(results, name)


def load_run(path, machine: str, param_names: Optional[Mapping[str, Tuple[str, ...]]] = None) -> Run:
    """One results file of ``machine``, checked; StoreError naming the file otherwise."""
    try:
        results = Results.load(str(path), machine_name=machine)
        _check_run(results)
    except _LOAD_ERRORS as err:
        raise StoreError(f"corrupt results file {path}: {err}") from None
    return Run(Path(path), machine, results, param_names or {})


def read_json(path, what: str, api_version: Optional[int] = None):
    """A JSON file of the store (``what`` names its kind in the error), asv's version checked."""
    try:
        return util.load_json(str(path), api_version=api_version)
    except _LOAD_ERRORS as err:
        raise StoreError(f"corrupt {what} {path}: {err}") from None


def _machine_name(path: Path) -> str:
    data = read_json(path, "machine file", Machine.api_version)
    name = data.get("machine") if isinstance(data, dict) else None
    if name != path.parent.name:
        raise StoreError(f"corrupt machine file {path}: machine {name!r}, in the folder of "
                         f"{path.parent.name!r}")
    return name


def _load_param_names(path: Path) -> Dict[str, Tuple[str, ...]]:
    if not path.is_file():
        return {}
    data = read_json(path, "benchmark list", Benchmarks.api_version)
    entries = {name: entry for name, entry in data.items() if name != "version"} if isinstance(data, dict) else None
    if entries is None or not all(isinstance(entry, dict) for entry in entries.values()):
        raise StoreError(f"corrupt benchmark list {path}: not a benchmark name -> entry mapping")
    names = {name: entry.get("param_names") or [] for name, entry in entries.items()}
    for name, listed in names.items():
        if not (isinstance(listed, list) and all(isinstance(n, str) for n in listed)):
            raise StoreError(f"corrupt benchmark list {path}: {name}: param_names {listed!r}")
    return {name: tuple(listed) for name, listed in names.items()}


# ---------------------------------------------------------------- the store

class Store:
    """The results folder: one history per machine. Files are read when a machine is asked for."""

    def __init__(self, root):
        self.root = Path(root)
        self._runs: Dict[str, Tuple[Run, ...]] = {}

    def machines(self) -> Tuple[str, ...]:
        """The machines with a machine.json, by folder name (asv's layout)."""
        if not self.root.is_dir():
            return ()
        return tuple(sorted(path.parent.name for path in self.root.glob("*/machine.json")))

    @functools.cached_property
    def param_names(self) -> Dict[str, Tuple[str, ...]]:
        """Parameter names per benchmark, from asv's benchmarks.json where the folder has one."""
        return _load_param_names(self.root / "benchmarks.json")

    def runs(self, machine: str) -> Tuple[Run, ...]:
        """Every results file of ``machine``, in commit-date order (asv's date is the commit's)."""
        if machine not in self._runs:
            self._runs[machine] = self._load_machine(machine)
        return self._runs[machine]

    def _load_machine(self, machine: str) -> Tuple[Run, ...]:
        machine_dir = self.root / machine
        if not (machine_dir / "machine.json").is_file():
            raise StoreError(f"no results for machine {machine!r} in {self.root} "
                             f"(machines there: {', '.join(self.machines()) or 'none'})")
        _machine_name(machine_dir / "machine.json")
        runs = [load_run(path, machine, self.param_names) for path in sorted(machine_dir.glob("*.json"))
                if path.name not in NOT_RESULTS]
        return tuple(sorted(runs, key=lambda run: (run.date, run.commit, run.env)))

    def history(self, machine: str, env: Optional[str] = None) -> Tuple[Run, ...]:
        """One run per commit, oldest commit first; ``env`` picks one asv environment."""
        runs = [run for run in self.runs(machine) if env is None or run.env == env]
        envs: Dict[str, list] = {}
        for run in runs:
            envs.setdefault(run.commit, []).append(run.env)
        for commit, names in envs.items():
            if len(names) > 1:
                raise StoreError(f"{self.root / machine}: commit {commit[:8]} has results from several asv "
                                 f"environments ({', '.join(sorted(names))}); choose one with --env")
        return tuple(runs)

    def at(self, machine: str, commit: str) -> Dict[str, Run]:
        """The runs of one stored commit, by environment name."""
        return {run.env: run for run in self.runs(machine) if run.commit == commit}

    def resolve(self, rev: str, machine: str, repo: Optional[str] = ".") -> str:
        """The stored commit ``rev`` names: via git when it knows ``rev``, else as a hash prefix."""
        stored = {run.commit for run in self.runs(machine)}
        full = git_commit(rev, repo)
        if full in stored:
            return full
        prefix = rev.lower() if re.fullmatch(r"[0-9a-fA-F]+", rev) else None
        matches = sorted(h for h in stored if prefix and h.lower().startswith(prefix))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise StoreError(f"ambiguous commit {rev!r}: stored results of {machine} for {', '.join(matches)}")
        if full is not None:
            raise StoreError(f"no results for commit {rev!r} ({full}) on machine {machine}")
        raise StoreError(f"unknown commit {rev!r}: git does not know it and no stored result of {machine} "
                         "has a hash starting with it")


def load(results_dir) -> Store:
    return Store(results_dir)


def git_commit(rev: str, repo: Optional[str]) -> Optional[str]:
    """The full hash git resolves ``rev`` to in ``repo``, or None (no repo, unknown name)."""
    if repo is None:
        return None
    try:
        done = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                              capture_output=True, text=True)
    except OSError:
        return None  # no git on this machine: hash prefixes still work
    return done.stdout.strip() if done.returncode == 0 else None

