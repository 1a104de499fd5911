"""The one reader of the board's telemetry stored beside asv's results.

    board = load("results", "nvidia-h200")       # every stored file of the machine
    board.during(run)                            # the samples taken while a stored run's benchmarks ran
    board.per_benchmark(run)                     # {benchmark: its samples}
    board.between(run, names, start_ms, end_ms)  # the samples of a stretch of the run's benchmarks
    summarize(board.during(run)).text()          # SM clock, power against its limit, temperature, throttling

``ci/gpu_job.sh`` samples the board through every GPU job (``start_telemetry``: nvidia-smi's
``--query-gpu`` every 500 ms, ``--format=csv,nounits``) into ``$OUT/telemetry.csv``;
``ci/import_gpu_results.py --telemetry`` stores that file unchanged as
``results/<machine>/telemetry/<first sample's UTC time>.csv``, and beside it ``<same stem>.runs``:
the runs that file's board measured, as a JSON object from the name of each results file
(``Run.path.name``) to the names of its benchmarks that ran while it was sampled. Files stored
before 2026-11-30 hold a JSON list of results-file names instead: every benchmark of those
files. asv reads ``*.json`` only below a folder with a
``machine.json`` and warns of any other folder holding ``*.json``, hence neither file ends in
``.json``; ``ci/store.py`` reads only the machine folder's own ``*.json``.

A benchmark's samples come from the files sampling while it ran whose ``.runs`` names it;
where none does, from those whose list names its results file; where none does either, from
those without a ``.runs`` (stored before the import wrote them), by time alone: a results file
merged from an old job and a new one keeps both jobs' samples. A file whose ``.runs`` does not
name the run never gives it samples: on a host of several GPUs, one asv and one file per GPU,
the files overlap in time and each sampled only its own GPU's runs, and two GPUs that measured
two benchmarks of one commit side by side (a suite job and a peers job) each give theirs. The
import refuses a file that overlaps a stored one in time where the two name a benchmark in
common; a stored list yields to the benchmarks a newer file names.

A sample's time is nvidia-smi's ``timestamp`` (``2026/11/29 07:12:33.123``), the GPU host's
clock read as UTC, the clock asv's ``started_at`` is taken from on the same host. A file
that is not what the sampler writes raises ``StoreError`` naming it; fields the board
does not report (``[N/A]``, ``[Not Supported]``) read as NaN. The one line that may be
cut short is the last one, when the sampler is stopped mid-write: it is left out.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import datetime
import functools
import json
import math
import re
import statistics
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Mapping, Optional, Sequence, Tuple

from ci import store
from ci.store import Run, StoreError

FOLDER = "telemetry"  # results/<machine>/telemetry/
SUFFIX = ".csv"
RUNS_SUFFIX = ".runs"  # <stem>.runs beside <stem>.csv: the runs (and benchmarks) the file sampled
TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"  # nvidia-smi's timestamp

# The short query names of ci/gpu_job.sh's TELEMETRY_FIELDS that nvidia-smi's header prints long
# (read in either form)
HEADER_NAMES = {"clocks.sm": "clocks.current.sm", "clocks.mem": "clocks.current.memory"}
# nvidia-smi's CSV header names (their " [unit]" dropped) -> Sample field; drivers before 535
# call the reasons clocks_throttle_reasons.
COLUMNS = {
    "timestamp": "time_ms",
    "clocks.current.sm": "sm_mhz",
    "clocks.current.memory": "memory_mhz",
    "power.draw": "power_w",
    "enforced.power.limit": "power_limit_w",
    "temperature.gpu": "temperature_c",
    "clocks_event_reasons.active": "reasons",
    "clocks_throttle_reasons.active": "reasons",
    "memory.total": "memory_total_mib",
}
REQUIRED = ("time_ms", "sm_mhz", "power_w", "power_limit_w", "temperature_c", "reasons")

# NVML's clock-event reasons (nvmlClocksEventReason*, NVML API reference "NvmlClocksEventReasons"):
# the bits of clocks_event_reasons.active
REASONS = {
    0x1: "GPU idle",
    0x2: "applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake",
    0x100: "display clock setting",
}
# The board holding its clocks down for power or heat, nvbench's throttling: the SW power cap,
# thermal slowdowns and the hardware slowdowns. Idle, sync boost and the clock settings are not.
THROTTLING = 0x4 | 0x8 | 0x20 | 0x40 | 0x80


@dataclasses.dataclass(frozen=True)
class Sample:
    """One reading of the board; NaN (reasons: None) where the board did not report a field."""

    time_ms: int  # milliseconds since the epoch, UTC, as asv's started_at
    sm_mhz: float
    memory_mhz: float
    power_w: float
    power_limit_w: float
    temperature_c: float
    reasons: Optional[int]
    memory_total_mib: float = math.nan

    @property
    def throttled(self) -> Optional[bool]:
        return None if self.reasons is None else bool(self.reasons & THROTTLING)


@dataclasses.dataclass(frozen=True)
class TelemetryFile:
    path: Path
    samples: Tuple[Sample, ...]
    cut_short: bool  # the last line was cut off when the sampler stopped, and left out
    runs: Optional[FrozenSet[str]] = None  # the results files it sampled (its .runs); None: no .runs
    # each results file's benchmarks it sampled; None: every benchmark of ``runs`` (a .runs list)
    benchmarks: Optional[Mapping[str, FrozenSet[str]]] = None

    def names(self, run: str, benchmark: str) -> bool:
        """Whether its .runs names ``benchmark`` of results file ``run`` itself."""
        return self.benchmarks is not None and benchmark in self.benchmarks.get(run, ())

    def names_whole(self, run: str) -> bool:
        """Whether its .runs names results file ``run`` without its benchmarks (a list)."""
        return self.benchmarks is None and self.runs is not None and run in self.runs

    @functools.cached_property
    def _in_time_order(self) -> Tuple[Tuple[Sample, ...], list]:
        ordered = tuple(sorted(self.samples, key=lambda s: s.time_ms))
        return ordered, [sample.time_ms for sample in ordered]

    def overlaps(self, start_ms: int, end_ms: int) -> bool:
        """Whether it was sampling at some time from ``start_ms`` to ``end_ms``, both included."""
        return self.start_ms <= end_ms and start_ms <= self.end_ms

    def between(self, start_ms: int, end_ms: int) -> Tuple[Sample, ...]:
        """Its samples taken from ``start_ms`` to ``end_ms``, both included, in time order."""
        ordered, times = self._in_time_order
        return ordered[bisect.bisect_left(times, start_ms):bisect.bisect_right(times, end_ms)]

    @property
    def start_ms(self) -> int:
        return self.samples[0].time_ms

    @property
    def end_ms(self) -> int:
        return self.samples[-1].time_ms

    @property
    def stored_name(self) -> str:
        """Its name in results/<machine>/telemetry/: the first sample's UTC time, to the
        millisecond. Two jobs never start sampling in the same millisecond, so a new file never
        takes a stored one's name."""
        return _utc(self.start_ms).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z" + SUFFIX


def _utc(time_ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(time_ms / 1000, datetime.timezone.utc)


def utc_text(time_ms: int) -> str:
    return _utc(time_ms).strftime("%Y-%m-%d %H:%M UTC")


def _header(fields: Sequence[str]) -> Dict[str, int]:
    """Sample field -> column index, from nvidia-smi's header line."""
    found = {}
    for index, field in enumerate(fields):
        name = re.sub(r"\s*\[[^\]]*\]$", "", field.strip())
        name = HEADER_NAMES.get(name, name)
        if name in COLUMNS:
            found[COLUMNS[name]] = index
    missing = [field for field in REQUIRED if field not in found]
    if missing:
        raise ValueError(f"the header {', '.join(fields)!r} lacks {', '.join(missing)}")
    return found


def _time_ms(text: str) -> int:
    moment = datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    return round(moment.timestamp() * 1000)


def _number(text: str) -> float:
    if re.fullmatch(r"\[[^\]]*\]|N/A", text):  # [N/A], [Not Supported]: the board does not report it
        return math.nan
    return float(text)


def _reasons(text: str) -> Optional[int]:
    if re.fullmatch(r"\[[^\]]*\]|N/A", text):
        return None
    if not re.fullmatch(r"0x[0-9a-fA-F]+", text):
        raise ValueError(f"clock-event reasons {text!r} are not a hex bitmask")
    return int(text, 16)


def _sample(fields: Sequence[str], columns: Dict[str, int]) -> Sample:
    value = {name: fields[index].strip() for name, index in columns.items()}
    return Sample(time_ms=_time_ms(value["time_ms"]),
                  reasons=_reasons(value["reasons"]),
                  **{name: _number(value.get(name, "[N/A]")) for name in
                     ("sm_mhz", "memory_mhz", "power_w", "power_limit_w", "temperature_c", "memory_total_mib")})


def read_file(path) -> TelemetryFile:
    """One telemetry file as the sampler writes it; StoreError naming it otherwise."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeError) as err:
        raise StoreError(f"corrupt telemetry file {path}: {err}") from None
    lines = text.splitlines()
    cut_short = bool(text) and not text.endswith("\n") and len(lines) > 1
    if cut_short:
        lines.pop()
    try:
        if not lines:
            raise ValueError("it is empty")
        rows = list(csv.reader(lines, skipinitialspace=True))
        columns = _header(rows[0])
        samples = []
        for number, fields in enumerate(rows[1:], start=2):
            if fields == rows[0]:
                continue  # nvidia-smi may repeat its header
            if len(fields) != len(rows[0]):
                raise ValueError(f"line {number} has {len(fields)} fields, the header {len(rows[0])}: "
                                 f"{lines[number - 1][:120]!r}")
            try:
                samples.append(_sample(fields, columns))
            except ValueError as err:
                raise ValueError(f"line {number}: {err}") from None
        if not samples:
            raise ValueError("it holds no samples")
    except ValueError as err:
        raise StoreError(f"corrupt telemetry file {path}: {err}") from None
    return TelemetryFile(path, tuple(samples), cut_short)


def runs_path(path) -> Path:
    """Where the names of the runs a telemetry file sampled are stored: beside it, <stem>.runs."""
    return Path(path).with_suffix(RUNS_SUFFIX)


def read_runs(path) -> Tuple[Optional[FrozenSet[str]], Optional[Dict[str, FrozenSet[str]]]]:
    """What a stored ``.runs`` holds: (results-file names, each one's benchmarks), the second
    None where it is a list of names, both None where there is no .runs; StoreError naming it
    where it is neither a list of names nor an object from names to lists of names."""
    path = Path(path)
    if not path.exists():
        return None, None
    try:
        claims = json.loads(path.read_text())
    except (OSError, UnicodeError, ValueError, RecursionError) as err:
        raise StoreError(f"corrupt telemetry runs file {path}: {err}") from None
    if isinstance(claims, list) and all(isinstance(name, str) for name in claims):
        return frozenset(claims), None
    if isinstance(claims, dict) and all(isinstance(names, list) and all(isinstance(n, str) for n in names)
                                        for names in claims.values()):
        return frozenset(claims), {run: frozenset(names) for run, names in claims.items()}
    raise StoreError(f"corrupt telemetry runs file {path}: {str(claims)[:120]!r} is neither a list of "
                     "results file names nor an object from them to lists of benchmark names")


def runs_text(claims: Mapping[str, Iterable[str]]) -> str:
    """A .runs file's text: each results file's benchmarks the telemetry file sampled."""
    return json.dumps({run: sorted(names) for run, names in sorted(claims.items())}, indent=4) + "\n"


@dataclasses.dataclass(frozen=True)
class Board:
    """One machine's stored telemetry files."""

    machine: str
    files: Tuple[TelemetryFile, ...]

    def files_of(self, run: Run, benchmark: str, start_ms: int, end_ms: int) -> Tuple[TelemetryFile, ...]:
        """The files that may hold the samples of ``run``'s ``benchmark`` from ``start_ms`` to
        ``end_ms``: of those sampling then, the ones whose .runs names the benchmark; where none
        does, those whose .runs lists its results file; where none does either, those without a
        .runs (matched by time alone, as before .runs existed). Asked per benchmark, so that a
        results file merged from an old job and a new one keeps both jobs' samples."""
        sampling = [f for f in self.files if f.overlaps(start_ms, end_ms)]
        name = run.path.name
        return (tuple(f for f in sampling if f.names(name, benchmark))
                or tuple(f for f in sampling if f.names_whole(name))
                or tuple(f for f in sampling if f.runs is None))

    def between(self, run: Run, benchmarks: Iterable[str], start_ms: int, end_ms: int) -> Tuple[Sample, ...]:
        """The samples taken from ``start_ms`` to ``end_ms``, both included, in time order, by
        the files that hold ``run``'s ``benchmarks`` (each benchmark's over its own interval):
        one benchmark's, or a stretch of them with the time between."""
        intervals = run.intervals()
        files = {f.path: f for name in benchmarks for f in self.files_of(run, name, *intervals[name])}
        found = (sample for f in files.values() for sample in f.between(start_ms, end_ms))
        return tuple(sorted(found, key=lambda sample: sample.time_ms))

    def per_benchmark(self, run: Run) -> Dict[str, Tuple[Sample, ...]]:
        """The samples taken while each benchmark of a stored run ran (ci.store.Run.intervals)."""
        return {name: self.between(run, (name,), *interval) for name, interval in run.intervals().items()}

    def during(self, run: Run) -> Tuple[Sample, ...]:
        """The samples taken while any benchmark of ``run`` ran, each once, in time order."""
        taken = {sample.time_ms: sample for found in self.per_benchmark(run).values() for sample in found}
        return tuple(taken[time] for time in sorted(taken))

    def newest_run(self, runs: Iterable[Run]) -> Optional[Run]:
        """Of ``runs``, the one measured last that has samples, or None."""
        sampled = [run for run in runs if self.during(run)]
        return max(sampled, key=lambda run: max(end for _, end in run.intervals().values()), default=None)


def folder(results_dir, machine: str) -> Path:
    return Path(results_dir) / machine / FOLDER


def load(results_dir, machine: str) -> Board:
    """Every telemetry file stored for ``machine``, each with its .runs (none: an empty Board)."""
    paths = sorted(folder(results_dir, machine).glob(f"*{SUFFIX}"))
    files = []
    for path in paths:
        runs, benchmarks = read_runs(runs_path(path))
        files.append(dataclasses.replace(read_file(path), runs=runs, benchmarks=benchmarks))
    return Board(machine, tuple(files))


@dataclasses.dataclass(frozen=True)
class Summary:
    """The board's state over some samples."""

    samples: int
    sm_median_mhz: float
    sm_min_mhz: float
    power_median_w: float
    power_limit_w: float  # the median enforced limit
    temperature_max_c: float
    throttled: float  # the fraction of samples with a THROTTLING reason, of those that report reasons
    reasons: Dict[str, float]  # each reason seen: the fraction of samples that have it

    def text(self) -> str:
        seen = ", ".join(f"{name} {fraction:.0%}" for name, fraction in self.reasons.items())
        return (f"SM {self.sm_median_mhz:.0f} MHz median ({self.sm_min_mhz:.0f} min), "
                f"power {self.power_median_w:.0f} W median of a {self.power_limit_w:.0f} W limit, "
                f"{self.temperature_max_c:.0f} °C max, throttled in {self.throttled:.0%} of "
                f"{self.samples} samples" + (f" ({seen})" if seen else ""))


def _finite(values: Iterable[float]) -> list:
    return [value for value in values if math.isfinite(value)]


def _median(values: Iterable[float]) -> float:
    finite = _finite(values)
    return statistics.median(finite) if finite else math.nan


def summarize(samples: Sequence[Sample]) -> Optional[Summary]:
    """The board's state over ``samples``, or None without samples."""
    if not samples:
        return None
    reported = [s.reasons for s in samples if s.reasons is not None]
    fractions = {name: sum(1 for r in reported if r & bit) / len(reported)
                 for bit, name in REASONS.items() if any(r & bit for r in reported)}
    return Summary(
        samples=len(samples),
        sm_median_mhz=_median(s.sm_mhz for s in samples),
        sm_min_mhz=min(_finite(s.sm_mhz for s in samples), default=math.nan),
        power_median_w=_median(s.power_w for s in samples),
        power_limit_w=_median(s.power_limit_w for s in samples),
        temperature_max_c=max(_finite(s.temperature_c for s in samples), default=math.nan),
        throttled=sum(1 for r in reported if r & THROTTLING) / len(reported) if reported else math.nan,
        reasons=fractions,
    )


def board_facts(board: Board) -> Dict[str, str]:
    """What does not change from run to run, from the newest file: the enforced power limit and
    the memory size (where the sampler recorded memory.total)."""
    if not board.files:
        return {}
    newest = max(board.files, key=lambda f: f.start_ms).samples
    facts = {"gpu_power_limit": f"{_median(s.power_limit_w for s in newest):.0f} W"}
    memory = _median(s.memory_total_mib for s in newest)
    if math.isfinite(memory):
        facts["gpu_memory"] = f"{memory / 1024:.0f} GiB"
    return facts


def machine_info(results_dir, machine: str) -> Dict[str, str]:
    """What the dashboard adds to the machine's info: the board's facts and the newest sampled
    run's summary (none without stored telemetry)."""
    board = load(results_dir, machine)
    info = board_facts(board)
    run = board.newest_run(store.load(results_dir).runs(machine)) if board.files else None
    if run is not None:
        start = min(start for start, _ in run.intervals().values())
        info["telemetry_newest_run"] = (f"commit {run.short}, measured {utc_text(start)}: "
                                        f"{summarize(board.during(run)).text()}")
    return info
