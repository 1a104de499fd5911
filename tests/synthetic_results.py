"""Synthetic asv results folders, written through asv's own API, for the tests of the gate,
the plots and the store (fixture ``synthetic_results`` in conftest.py), and the board's
telemetry as ci/gpu_job.sh's sampler writes it. A module of its own so that the kernel tests,
which the GPU machine runs without asv installed, never import asv.
"""

import dataclasses
import datetime
import tarfile
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Tuple

from asv import util
from asv.machine import Machine
from asv.results import Results
from asv.runner import BenchmarkResult

SYNTHETIC_ENV = "virtualenv-py3.11"


@dataclasses.dataclass(frozen=True)
class Series:
    """One benchmark in one results file, as ``asv run`` hands it to asv's Results.

    ``params``: asv's parameter reprs, one list per parameter ([] without parameters).
    ``samples``: raw samples per point; asv computes the value (median) and the stats from
    them. ``values``: the stored value per point where there are no samples (a track_*
    benchmark): None is a failed point, NaN a skipped one.
    """

    params: Sequence[Sequence[str]]
    samples: Optional[Sequence[Optional[Sequence[float]]]] = None
    values: Optional[Sequence[Optional[float]]] = None
    version: str = "1"
    # when asv started the benchmark, and its duration in seconds (None: asv kept none)
    started_at: datetime.datetime = datetime.datetime(2026, 11, 24, tzinfo=datetime.timezone.utc)
    duration: Optional[float] = None

    def benchmark_result(self) -> BenchmarkResult:
        if self.samples is not None:
            values = [None if s is None else float("nan") if not s else s[0] for s in self.samples]
            number = [None if s is None or not s else 1 for s in self.samples]
            samples = list(self.samples)
        else:
            values, number, samples = list(self.values), [None] * len(self.values), [None] * len(self.values)
        return BenchmarkResult(result=values, samples=samples, number=number, errcode=0, stderr="",
                               profile=None)


class SyntheticResults:
    """An asv results folder, written through asv's own Results API as ``asv run`` writes it.

    The gate, the plots and the store read these as they read the stored H100 history.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def machine(self, name: str, **fields) -> None:
        path = self.root / name / "machine.json"
        if not path.exists():
            info = {"machine": name, "arch": "x86_64", "cpu": "test", "num_cpu": "2", "os": "Linux",
                    "ram": "1", **fields}
            util.write_json(str(path), info, api_version=Machine.api_version)

    def benchmark_list(self, entries: Mapping[str, Tuple[Sequence, Sequence[str], str]]) -> None:
        """benchmarks.json: {name: (params, param_names, unit)}, as asv's discovery writes it."""
        data = {name: {"name": name, "params": list(params), "param_names": list(names), "unit": unit,
                       "type": name.rsplit(".", 1)[-1].split("_", 1)[0], "version": "1"}
                for name, (params, names, unit) in entries.items()}
        util.write_json(str(self.root / "benchmarks.json"), data, api_version=2)

    def run(self, machine: str, commit: str, series: Mapping[str, Series], *,
            date: int = 1764000000000, env: str = SYNTHETIC_ENV, record_samples: bool = True) -> Path:
        """One results file: one commit in one environment on one machine."""
        self.machine(machine)
        results = Results({"machine": machine, "python": "3.11"}, {}, commit, date, "3.11", env, {})
        for name, one in series.items():
            results.add_result({"name": name, "version": one.version, "params": [list(p) for p in one.params]},
                               one.benchmark_result(), record_samples=record_samples,
                               started_at=one.started_at, duration=one.duration)
        results.save(str(self.root))
        return self.root / results._filename


# nvidia-smi's header for ci/gpu_job.sh's TELEMETRY_FIELDS, as --format=csv,nounits prints it
TELEMETRY_HEADER = ("timestamp, clocks.current.sm [MHz], clocks.current.memory [MHz], power.draw [W], "
                    "enforced.power.limit [W], temperature.gpu, clocks_event_reasons.active, memory.total [MiB]")


@dataclasses.dataclass(frozen=True)
class BoardState:
    """What the board reports in one sample."""

    sm_mhz: float = 1980
    power_w: float = 420.0
    temperature_c: float = 50
    reasons: int = 0
    power_limit_w: float = 700.0


def telemetry_lines(start: datetime.datetime, seconds: float, state: Callable[[float], BoardState],
                    every_ms: int = 500) -> list:
    """Lines of a telemetry.csv as the sampler writes them: the header, then a sample every
    ``every_ms`` from ``start`` (UTC) for ``seconds``; ``state(t)`` is the board ``t`` seconds in."""
    lines = [TELEMETRY_HEADER]
    for k in range(int(seconds * 1000 / every_ms) + 1):
        moment = start + datetime.timedelta(milliseconds=k * every_ms)
        board = state(k * every_ms / 1000)
        lines.append(f"{moment:%Y/%m/%d %H:%M:%S}.{moment.microsecond // 1000:03d}, {board.sm_mhz:.0f}, 3201, "
                     f"{board.power_w:.2f}, {board.power_limit_w:.2f}, {board.temperature_c:.0f}, "
                     f"0x{board.reasons:016x}, 143771")
    return lines


def write_telemetry(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def pack_results(results_dir: Path, archive: Path) -> Path:
    """``archive``: an asv-results.tgz as ci/gpu_job.sh packs one, ``results_dir`` as results/."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(results_dir, arcname="results")
    return archive
