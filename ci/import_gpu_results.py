"""Merge the asv results a GPU job brought back into results/, losing nothing already stored.

    python ci/import_gpu_results.py /work/.device/N/asv-results.tgz [--results results] [--replace]
        [--telemetry /work/.device/N/telemetry.csv [--machine NAME]]

The archive is ``ci/gpu_job.sh``'s ``asv-results.tgz``: a ``results/`` folder. Per file:

* a results file (one commit, one environment) that is not stored yet is copied;
* one that is stored already is merged benchmark by benchmark: benchmarks only the
  incoming file has are added; where both hold a benchmark and differ, the stored one is
  kept and named, unless ``--replace`` takes the incoming one (a deliberate re-measurement),
  or unless each run skipped the points the other measured (the halves of one commit's
  points, run as two ``--bench 'name(...)'`` selections): then the halves are joined;
* ``benchmarks.json`` describes the suite of the newest run: merged, incoming entries winning.
* ``machine.json`` is taken from the archive only where none is stored. A stored one stays as
  it is, as ``ci/main.sh`` keeps it: it describes the host the stored history came from, and
  each results file holds its own host's record in its parameters (the GPU is the same: the
  guard in ``ci/asv_env.sh`` checked it). Where the archive's differs, the keys are named.

With ``--telemetry``, the job's ``telemetry.csv`` (the board sampled through the job,
``ci/gpu_job.sh``) is stored unchanged as ``results/<machine>/telemetry/<first sample's UTC
time>.csv`` (``ci/telemetry.py`` reads it). The machine is the one whose results in the archive
were measured while it was sampled, or ``--machine``. Beside it goes ``<same stem>.runs``: each
of the archive's results files of that machine measured while it was sampled, with its
benchmarks that ran then and are stored as the archive holds them, the benchmarks this board
measured (on a host of several GPUs, each GPU's job has its own archive and telemetry file,
imported as a pair; two jobs may measure two benchmarks of one commit side by side). A stored
file of either name is never replaced: the same bytes are "unchanged", other bytes an error.

A file that asv cannot read, in the archive or stored, is named and left alone; the exit
status is then 1, as it is when the telemetry has no machine or its name is taken. A telemetry
file that is not what the sampler writes is named, and nothing is imported: exit 2. Exit 0:
everything readable was merged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from asv.results import Results

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ci import store, telemetry  # noqa: E402
from ci.store import NOT_RESULTS, Run, StoreError  # noqa: E402
from ci.telemetry import TelemetryFile  # noqa: E402

# asv's Results keeps each benchmark's data in these, all keyed by benchmark name
_PER_BENCHMARK = ("_results", "_samples", "_stats", "_benchmark_params", "_profiles", "_started_at",
                  "_duration", "_benchmark_version")


class ImportReport:
    def __init__(self):
        self.lines: List[str] = []
        self.errors = 0

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line)

    def error(self, line: str) -> None:
        self.errors += 1
        print(f"error: {line}", file=sys.stderr)


def _row(results: Results, name: str) -> tuple:
    return tuple(getattr(results, attr).get(name) for attr in _PER_BENCHMARK)


def _skipped(value) -> bool:
    return isinstance(value, float) and math.isnan(value)  # asv's mark; None is a failure


def _fill_skipped_points(stored: Results, incoming: Results, name: str) -> bool:
    """Take ``incoming``'s points where ``stored`` has the point as skipped, when the two runs
    measured the same benchmark (params, version) and no point both: a run of some points of a
    parameterized benchmark (``asv run --bench 'name(...)'``) stores the others as skipped, so
    the halves of one commit measured in two runs come together here. False, and nothing
    changed, when the two are not such halves."""
    if (stored._benchmark_params.get(name) != incoming._benchmark_params.get(name)
            or stored._benchmark_version.get(name) != incoming._benchmark_version.get(name)):
        return False
    ours, theirs = stored._results[name], incoming._results[name]
    if len(ours) != len(theirs) or any(not _skipped(a) and not _skipped(b) for a, b in zip(ours, theirs)):
        return False
    points = [k for k, (a, b) in enumerate(zip(ours, theirs)) if _skipped(a) and not _skipped(b)]
    for attr in ("_results", "_samples", "_stats"):
        source = getattr(incoming, attr).get(name)
        if source is None:
            continue
        target = getattr(stored, attr).get(name) or [None] * len(source)
        for k in points:
            target[k] = source[k]
        getattr(stored, attr)[name] = target
    return bool(points)


def merge_results_file(incoming_path: str, stored_path: str, results_dir: str, machine: str,
                       replace: bool, report: ImportReport) -> Optional[Run]:
    """Merge one incoming results file; the incoming run, or None where it cannot be read."""
    label = os.path.relpath(stored_path, results_dir)
    try:
        incoming_run = store.load_run(incoming_path, machine)
    except StoreError as err:
        report.error(f"incoming {label}: {err}; not imported")
        return None
    _merge_run(incoming_run, stored_path, results_dir, label, replace, report)
    return incoming_run


def _merge_run(incoming_run: Run, stored_path: str, results_dir: str, label: str, replace: bool,
               report: ImportReport) -> None:
    incoming, machine = incoming_run.results, incoming_run.machine
    if not os.path.exists(stored_path):
        shutil.copyfile(incoming_run.path, stored_path)
        report.say(f"added {label}")
        return
    try:
        stored = store.load_run(stored_path, machine).results
    except StoreError as err:
        report.error(f"stored {label}: {err}; left as it is, the incoming file not merged")
        return
    if (stored.commit_hash, stored.env_name) != (incoming.commit_hash, incoming.env_name):
        report.error(f"{label}: the stored file is of {stored.commit_hash[:8]}/{stored.env_name}, the "
                     f"incoming one of {incoming.commit_hash[:8]}/{incoming.env_name}; not merged")
        return
    added, replaced, kept, filled = [], [], [], []
    for name in incoming.get_all_result_keys():
        if name not in stored.get_all_result_keys():
            added.append(name)
        elif _row(stored, name) != _row(incoming, name):
            if _fill_skipped_points(stored, incoming, name):
                filled.append(name)
            else:
                (replaced if replace else kept).append(name)
    for name in added + replaced:
        for attr in _PER_BENCHMARK:
            getattr(stored, attr)[name] = getattr(incoming, attr).get(name)
    for key, value in incoming._duration.items():  # build and setup_cache durations ("<...>")
        if key.startswith("<"):
            stored._duration.setdefault(key, value)
    if not (added or replaced or kept or filled):
        report.say(f"unchanged {label}")
        return
    if added or replaced or filled:
        stored.save(results_dir)
        report.say(f"merged {label}: {len(added)} benchmarks added, {len(replaced)} replaced, "
                    f"{len(filled)} with skipped points filled")
    for name in kept:
        report.say(f"  kept the stored {name}: the incoming run differs (--replace takes it)")


def merge_benchmarks_json(incoming_path: str, stored_path: str, report: ImportReport) -> None:
    try:
        incoming = store.read_json(incoming_path, "benchmark list")
    except StoreError as err:
        report.error(f"incoming benchmarks.json: {err}; not imported")
        return
    stored = {}
    if os.path.exists(stored_path):
        try:
            stored = store.read_json(stored_path, "benchmark list")
        except StoreError as err:
            report.error(f"stored {stored_path}: {err}; left as it is")
            return
    merged = {**stored, **incoming}
    if merged != stored:
        with open(stored_path, "w") as out:
            json.dump(merged, out, indent=4, sort_keys=True)
        report.say(f"updated {stored_path}")


def import_archive(archive: str, results_dir: str, replace: bool = False,
                   board: Optional[TelemetryFile] = None, machine: Optional[str] = None) -> ImportReport:
    """Merge the archive into ``results_dir``; with ``board``, store that telemetry file under
    ``machine``, else under the machine whose incoming results were measured while it ran."""
    report = ImportReport()
    incoming_runs = _merge_archive(archive, results_dir, replace, report)
    if board is not None:
        machine = machine or _measured_while_sampled(incoming_runs, board, report)
        if machine is not None:
            stored = {run.path.name: run for run in store.load(results_dir).runs(machine)}
            claims = {run.path.name: _sampled_benchmarks(run, stored.get(run.path.name), board)
                      for run in incoming_runs if run.machine == machine and _sampled(run, board)}
            store_telemetry(board, results_dir, machine, claims, report)
    return report


def _merge_archive(archive: str, results_dir: str, replace: bool, report: ImportReport) -> List[Run]:
    incoming_runs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (OSError, tarfile.TarError) as err:
            report.error(f"{archive}: cannot be unpacked ({err})")
            return incoming_runs
        incoming_dir = os.path.join(tmp, "results")
        if not os.path.isdir(incoming_dir):
            report.error(f"{archive}: holds no results/ folder")
            return incoming_runs
        os.makedirs(results_dir, exist_ok=True)
        if os.path.isfile(os.path.join(incoming_dir, "benchmarks.json")):
            merge_benchmarks_json(os.path.join(incoming_dir, "benchmarks.json"),
                                  os.path.join(results_dir, "benchmarks.json"), report)
        for machine in sorted(os.listdir(incoming_dir)):
            machine_dir = os.path.join(incoming_dir, machine)
            if not os.path.isdir(machine_dir):
                continue
            os.makedirs(os.path.join(results_dir, machine), exist_ok=True)
            for name in sorted(os.listdir(machine_dir)):
                source = os.path.join(machine_dir, name)
                target = os.path.join(results_dir, machine, name)
                if not name.endswith(".json"):
                    continue
                if name == "machine.json":
                    _take_machine_json(source, target, report)
                elif name not in NOT_RESULTS:
                    run = merge_results_file(source, target, results_dir, machine, replace, report)
                    incoming_runs += [run] if run is not None else []
    return incoming_runs


def _sampled(run: Run, board: TelemetryFile) -> bool:
    """Whether a benchmark of ``run`` ran while ``board`` was sampled."""
    return any(board.overlaps(start, end) for start, end in run.intervals().values())


def _sampled_benchmarks(incoming: Run, stored: Optional[Run], board: TelemetryFile) -> List[str]:
    """The benchmarks of ``incoming`` that ran while ``board`` was sampled and are stored as it
    holds them (the same start and duration): not those whose stored run is another job's."""
    kept = stored.intervals() if stored is not None else {}
    return sorted(name for name, (start, end) in incoming.intervals().items()
                  if board.overlaps(start, end) and kept.get(name) == (start, end))


def _measured_while_sampled(runs: Sequence[Run], board: TelemetryFile, report: ImportReport) -> Optional[str]:
    """The one machine whose incoming results have a benchmark that ran while ``board`` was sampled."""
    machines = sorted({run.machine for run in runs if _sampled(run, board)})
    if len(machines) == 1:
        return machines[0]
    found = f"several ({', '.join(machines)})" if machines else "none"
    report.error(f"{board.path}: the machine whose results were measured while it was sampled "
                 f"({telemetry.utc_text(board.start_ms)} on) is {found}; not stored (--machine NAME stores it)")
    return None


def store_telemetry(board: TelemetryFile, results_dir: str, machine: str,
                    runs: Mapping[str, Sequence[str]], report: ImportReport) -> None:
    """Copy the telemetry file, unchanged, to results/<machine>/telemetry/, and beside it the
    results files it sampled, each with the benchmarks it sampled (``runs``), replacing
    nothing."""
    target = telemetry.folder(results_dir, machine) / board.stored_name
    claims = telemetry.runs_path(target)
    label, claims_label = os.path.relpath(target, results_dir), os.path.relpath(claims, results_dir)
    claimed = telemetry.runs_text(runs).encode()
    if target.exists() and target.read_bytes() != Path(board.path).read_bytes():
        report.error(f"{label} is stored already with other samples; {board.path} not stored")
        return
    if claims.exists() and claims.read_bytes() != claimed:
        report.error(f"{claims_label} is stored already naming other runs than "
                     f"{', '.join(sorted(runs)) or 'none'} or their benchmarks; {board.path} not stored")
        return
    # Two boards sampled at once (two GPUs) whose claims share a benchmark would each give it
    # both boards' samples. A stored list names whole results files: a benchmark this file
    # names is this file's, the list's claim the rest (ci/telemetry.py).
    for other in telemetry.load(results_dir, machine).files:
        if other.path.name == target.name or not other.overlaps(board.start_ms, board.end_ms):
            continue
        shared = sorted(f"{run}: {name}" for run, names in runs.items() for name in names
                        if other.names(run, name))
        if shared:
            report.error(f"{board.path} sampled {', '.join(shared)} while the stored {other.path.name} did too "
                         "(another GPU measuring the same benchmark of the same commit at the same time): "
                         "its samples could not be told from that board's; not stored. Measure a benchmark "
                         "on one GPU at a time.")
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    # The runs before the samples: samples stored without them would be matched by time alone,
    # to the runs of every GPU sampled at the same time.
    if claims.exists():
        report.say(f"unchanged {claims_label}")
    else:
        claims.write_bytes(claimed)
        sampled = ", ".join(f"{run} ({len(names)} benchmarks)" for run, names in sorted(runs.items()))
        report.say(f"added {claims_label}: sampled {sampled or 'none of the incoming runs'}")
    if target.exists():
        report.say(f"unchanged {label}")
        return
    shutil.copyfile(board.path, target)
    cut = ", its last line cut short by the sampler's stop (left out when read)" if board.cut_short else ""
    report.say(f"added {label}: {len(board.samples)} samples{cut}")


def _take_machine_json(source: str, target: str, report: ImportReport) -> None:
    try:
        store.read_json(source, "machine file")
    except StoreError as err:
        report.error(f"incoming {source}: {err}; not imported")
        return
    if not os.path.exists(target):
        shutil.copyfile(source, target)
        report.say(f"machine info {target} from the archive")
        return
    incoming, stored = json.loads(_read(source)), json.loads(_read(target))
    differing = sorted(key for key in incoming.keys() | stored.keys() if incoming.get(key) != stored.get(key))
    if differing:
        report.say(f"kept the stored machine info {target}; the archive's host differs in "
                    f"{', '.join(differing)} (its results files keep their own host's record)")


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", help="asv-results.tgz from ci/gpu_job.sh")
    parser.add_argument("--results", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "results"), help="the results folder to merge into")
    parser.add_argument("--replace", action="store_true",
                        help="where a stored benchmark and the incoming one differ, take the incoming")
    parser.add_argument("--telemetry", help="telemetry.csv from the same ci/gpu_job.sh job: stored beside the results")
    parser.add_argument("--machine", help="the machine the telemetry is stored under (default: the one whose "
                                          "results in the archive were measured while it was sampled)")
    args = parser.parse_args(argv)
    board = None
    if args.telemetry:
        try:
            board = telemetry.read_file(args.telemetry)
        except StoreError as err:
            print(f"error: {err}; nothing imported", file=sys.stderr)
            return 2
    report = import_archive(args.archive, args.results, replace=args.replace, board=board, machine=args.machine)
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
