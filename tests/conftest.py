"""Test setup: the Triton interpreter where there is no GPU, the repo root on sys.path.

The dtype split is explicit: fp16 runs everywhere (interpreter on CPU, compiled on GPU);
bf16 runs only compiled on a GPU, because the interpreter mishandles bf16 (Triton 3.9
holds it as uint16 and acts on the raw bits; 3.6 has no bf16 constants). Tests marked
``gpu`` are reported as skipped on CPU with that reason, and with REQUIRE_GPU=1 (set by
ci/gpu_job.sh) a missing GPU is an error instead of a skip.

``SyntheticResults`` (fixture ``synthetic_results``) writes asv results folders through
asv's own API for the tests of the gate, the plots and the store.
"""

import dataclasses
import datetime
import os
import sys
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple

import pytest
import torch
from asv import util
from asv.machine import Machine
from asv.results import Results
from asv.runner import BenchmarkResult

HAS_CUDA = torch.cuda.is_available()
if not HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first triton import
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEVICE = "cuda" if HAS_CUDA else "cpu"


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    if os.environ.get("REQUIRE_GPU") == "1":
        raise pytest.UsageError("REQUIRE_GPU=1 but torch sees no CUDA device")
    skip = pytest.mark.skip(reason="needs a CUDA device: bf16 and large shapes run on the H100 "
                                   "(bash ci/gpu_job.sh tests); the interpreter mishandles bf16")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------- synthetic asv results

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
                               started_at=datetime.datetime(2026, 11, 24, tzinfo=datetime.timezone.utc))
        results.save(str(self.root))
        return self.root / results._filename


@pytest.fixture
def synthetic_results(tmp_path) -> SyntheticResults:
    return SyntheticResults(tmp_path / "results")
