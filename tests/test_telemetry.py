"""The board's telemetry: read as the sampler writes it, matched to the stored runs by the runs
each file sampled (by time for files stored without them), summarized, stored by the import
beside the results without replacing anything, and invisible to asv's own readers."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from pathlib import Path

import pytest
from asv import results as asv_results
from asv import util
from asv.machine import iter_machine_files

from ci import dashboard_board, import_gpu_results, store, telemetry
from ci.store import StoreError
from synthetic_results import (SYNTHETIC_ENV, TELEMETRY_HEADER, BoardState, Series, SyntheticResults,
                               pack_results, telemetry_lines, write_telemetry)

MACHINE = "nvidia-h200"
UTC = datetime.timezone.utc
START = datetime.datetime(2026, 11, 29, 7, 12, 33, 123000, tzinfo=UTC)
TIME = "bench_extend.Quick.time_extend"
TRACK = "bench_extend.Quick.track_peak_memory_mb"
COMMIT = hashlib.sha1(b"measured").hexdigest()
STORED_NAME = "20261129T071233.123Z.csv"


def _capped(t: float) -> BoardState:
    """Idle for 10 s, then at the power cap from 10 s to 40 s, idle again after."""
    if 10 <= t <= 40:
        return BoardState(sm_mhz=1500 + t, power_w=699.0, temperature_c=60 + t / 10, reasons=0x4)
    return BoardState(sm_mhz=345, power_w=90.0, temperature_c=40, reasons=0x1)


def _at(seconds: float) -> datetime.datetime:
    return START + datetime.timedelta(seconds=seconds)


def _ms(seconds: float) -> int:
    return util.datetime_to_js_timestamp(_at(seconds))


def _steady(sm_mhz: float):
    return lambda t: BoardState(sm_mhz=sm_mhz)


def _results_name(commit: str) -> str:
    """The name of a commit's results file, as a .runs names it."""
    return f"{commit[:8]}-{SYNTHETIC_ENV}.json"


@pytest.fixture
def csv_path(tmp_path) -> Path:
    return write_telemetry(tmp_path / "telemetry.csv", telemetry_lines(START, 60, _capped))


def _measured(results: SyntheticResults, commit: str = COMMIT) -> None:
    """One stored run whose timed benchmark ran 12-38 s into the telemetry; the track 50 s in, no duration."""
    params = [["8192"], ["-1"]]
    results.run(MACHINE, commit, {
        TIME: Series(params, samples=[[1e-3, 1.1e-3]], started_at=_at(12), duration=26.0),
        TRACK: Series(params, values=[512.0], started_at=_at(50)),
    })


# ---------------------------------------------------------------- reading

def test_the_reader_reads_every_field_the_sampler_asks_for():
    script = (Path(__file__).resolve().parents[1] / "ci" / "gpu_job.sh").read_text()
    fields = re.search(r"^TELEMETRY_FIELDS=(\S+)$", script, re.M).group(1).split(",")
    read = {telemetry.COLUMNS.get(telemetry.HEADER_NAMES.get(field, field)) for field in fields}
    assert None not in read and set(telemetry.REQUIRED) <= read
    header = [name.split(" [")[0] for name in TELEMETRY_HEADER.split(", ")]
    assert header == [telemetry.HEADER_NAMES.get(field, field) for field in fields]



def test_a_file_reads_as_the_sampler_wrote_it(csv_path):
    read = telemetry.read_file(csv_path)
    assert len(read.samples) == 121 and not read.cut_short
    first = read.samples[0]
    assert first.time_ms == _ms(0) and read.end_ms == _ms(60)
    assert (first.sm_mhz, first.memory_mhz, first.power_w, first.power_limit_w, first.temperature_c) == (
        345, 3201, 90.0, 700.0, 40)
    assert first.reasons == 0x1 and first.throttled is False and first.memory_total_mib == 143771
    assert read.samples[40].reasons == 0x4 and read.samples[40].throttled is True


def test_the_stored_name_is_the_first_samples_utc_time(csv_path):
    assert telemetry.read_file(csv_path).stored_name == "20261129T071233.123Z.csv"


def test_a_line_cut_short_by_the_samplers_stop_is_left_out(csv_path):
    csv_path.write_text(csv_path.read_text() + "2026/11/29 07:13:34.123, 19")
    read = telemetry.read_file(csv_path)
    assert read.cut_short and len(read.samples) == 121


def test_unreported_fields_older_drivers_and_a_repeated_header_are_read(tmp_path):
    lines = telemetry_lines(START, 1, _capped)
    old_header = TELEMETRY_HEADER.replace("clocks_event_reasons", "clocks_throttle_reasons")
    path = write_telemetry(tmp_path / "t.csv", [old_header, lines[1], old_header,
                                                lines[2].replace(", 90.00,", ", [N/A],").replace("0x0000000000000001",
                                                                                                 "[Not Supported]")])
    first, second = telemetry.read_file(path).samples
    assert first.reasons == 0x1 and math.isnan(second.power_w) and second.reasons is None


DAMAGE = {
    "empty": lambda lines: [],
    "a header alone": lambda lines: lines[:1],
    "no reasons column": lambda lines: [line.rsplit(",", 2)[0] for line in lines],
    "a line short in the middle": lambda lines: lines[:5] + [lines[5].rsplit(",", 1)[0]] + lines[6:],
    "a timestamp that is not one": lambda lines: lines[:3] + [lines[3].replace("2026/11/29", "29.11.2026")] + lines[4:],
    "reasons that are not hex": lambda lines: lines[:3] + [lines[3].replace("0x0000000000000001", "idle")] + lines[4:],
    "a clock that is a word": lambda lines: lines[:3] + [lines[3].replace(", 345,", ", fast,")] + lines[4:],
    "nvidia-smi's error instead": lambda lines: ["Failed to initialize NVML: Driver/library version mismatch"],
    "an error in the middle": lambda lines: lines[:9] + ["Unable to determine the device handle for GPU0: Unknown Error"]
    + lines[9:],
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_file_that_is_not_the_samplers_is_a_store_error_naming_it(tmp_path, damage):
    path = write_telemetry(tmp_path / "telemetry.csv", damage(telemetry_lines(START, 10, _capped)))
    with pytest.raises(StoreError, match=f"corrupt telemetry file {path}"):
        telemetry.read_file(path)


def test_bytes_that_are_not_text_are_named(tmp_path):
    path = tmp_path / "telemetry.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(StoreError, match=f"corrupt telemetry file {path}"):
        telemetry.read_file(path)


# ---------------------------------------------------------------- matched to the stored runs

def test_each_benchmark_gets_the_samples_taken_while_it_ran(synthetic_results, csv_path):
    _measured(synthetic_results)
    (run,) = store.load(synthetic_results.root).history(MACHINE)
    assert run.intervals() == {TIME: (_ms(12), _ms(38)), TRACK: (_ms(50), _ms(50))}
    board = telemetry.Board(MACHINE, (telemetry.read_file(csv_path),))
    during = board.per_benchmark(run)
    assert [s.time_ms for s in during[TIME]] == [_ms(12 + k / 2) for k in range(53)]
    assert [s.time_ms for s in during[TRACK]] == [_ms(50)]
    assert board.during(run) == during[TIME] + during[TRACK]
    assert board.newest_run([run]) == run


def test_a_run_measured_before_the_sampling_began_has_no_samples(synthetic_results, csv_path):
    synthetic_results.run(MACHINE, COMMIT, {TIME: Series([["1"]], samples=[[1.0]], started_at=_at(-3600),
                                                         duration=60.0)})
    (run,) = store.load(synthetic_results.root).history(MACHINE)
    board = telemetry.Board(MACHINE, (telemetry.read_file(csv_path),))
    assert board.during(run) == () and board.newest_run([run]) is None
    assert telemetry.summarize(board.during(run)) is None


def test_a_stored_start_that_is_not_a_time_is_named(synthetic_results):
    _measured(synthetic_results)
    path = next((synthetic_results.root / MACHINE).glob("*-virtualenv-*.json"))
    data = json.loads(path.read_text())
    data["results"][TIME][data["result_columns"].index("started_at")] = "noon"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=f"corrupt results file {path}: .*started_at 'noon'"):
        store.load(synthetic_results.root).history(MACHINE)


def test_a_summary_names_the_reasons_and_counts_only_throttling(csv_path):
    summary = telemetry.summarize(telemetry.read_file(csv_path).samples)
    capped = [t / 2 for t in range(121) if 10 <= t / 2 <= 40]
    assert summary.samples == 121
    assert summary.sm_min_mhz == 345 and summary.power_limit_w == 700.0
    assert summary.temperature_max_c == round(60 + 40 / 10)
    assert summary.throttled == pytest.approx(len(capped) / 121)  # the power cap; idle is not throttling
    assert summary.reasons == pytest.approx({"GPU idle": 1 - len(capped) / 121, "SW power cap": len(capped) / 121})
    assert "SW power cap 50%" in summary.text() and "of a 700 W limit" in summary.text()


def test_board_facts_come_from_the_newest_file(tmp_path, csv_path):
    later = write_telemetry(tmp_path / "later.csv", telemetry_lines(_at(3600), 5, lambda t: BoardState(
        power_limit_w=650.0)))
    board = telemetry.Board(MACHINE, (telemetry.read_file(later), telemetry.read_file(csv_path)))
    assert telemetry.board_facts(board) == {"gpu_power_limit": "650 W", "gpu_memory": "140 GiB"}
    assert telemetry.board_facts(telemetry.Board(MACHINE, ())) == {}


# ---------------------------------------------------------------- the import

def _archive(tmp_path: Path, commit: str = COMMIT) -> Path:
    """asv-results.tgz as ci/gpu_job.sh packs it: the device's whole results/ folder."""
    source = SyntheticResults(tmp_path / "device" / "results")
    _measured(source, commit)
    source.run("h100-sxm-80gb", commit, {TIME: Series([["1"]], samples=[[1.0]], started_at=_at(-86400),
                                                     duration=30.0)})  # carried, measured long before
    return pack_results(source.root, tmp_path / "asv-results.tgz")


def _tree(results_dir: Path) -> dict:
    return {str(p.relative_to(results_dir)): p.read_bytes() for p in sorted(results_dir.rglob("*")) if p.is_file()}


def test_the_import_stores_the_telemetry_under_the_machine_measured_while_it_ran(tmp_path, csv_path):
    results_dir = tmp_path / "results"
    argv = [str(_archive(tmp_path)), "--results", str(results_dir), "--telemetry", str(csv_path)]
    assert import_gpu_results.main(argv) == 0
    stored = results_dir / MACHINE / "telemetry" / STORED_NAME
    runs = stored.with_name("20261129T071233.123Z.runs")
    assert stored.read_bytes() == csv_path.read_bytes()
    (run,) = store.load(results_dir).history(MACHINE)
    # each benchmark of the run, not the h100 run, measured long before
    assert json.loads(runs.read_text()) == {_results_name(COMMIT): sorted(run.intervals())}
    assert len(run.intervals()) == 2
    assert import_gpu_results.main(argv) == 0  # again: unchanged, nothing added
    assert sorted(stored.parent.iterdir()) == [stored, runs]
    board = telemetry.load(results_dir, MACHINE)
    assert len(board.during(run)) == 54


def test_the_import_never_replaces_a_stored_file(tmp_path, csv_path, capsys):
    results_dir = tmp_path / "results"
    archive = str(_archive(tmp_path))
    stored = write_telemetry(results_dir / MACHINE / "telemetry" / STORED_NAME,
                             telemetry_lines(START, 5, lambda t: BoardState()))
    before = stored.read_bytes()
    assert import_gpu_results.main([archive, "--results", str(results_dir), "--telemetry", str(csv_path)]) == 1
    assert "stored already with other samples" in capsys.readouterr().err
    assert stored.read_bytes() == before
    assert not telemetry.runs_path(stored).exists()


def test_the_import_never_replaces_stored_runs_naming_others(tmp_path, csv_path, capsys):
    results_dir = tmp_path / "results"
    runs = telemetry.runs_path(results_dir / MACHINE / "telemetry" / STORED_NAME)
    runs.parent.mkdir(parents=True)
    runs.write_text('["someone-elses-virtualenv-py3.11.json"]\n')
    argv = [str(_archive(tmp_path)), "--results", str(results_dir), "--telemetry", str(csv_path)]
    assert import_gpu_results.main(argv) == 1
    assert f"{runs.relative_to(results_dir)} is stored already naming other runs" in capsys.readouterr().err
    assert runs.read_text() == '["someone-elses-virtualenv-py3.11.json"]\n'
    assert sorted(runs.parent.iterdir()) == [runs]  # nor the samples stored


def test_a_file_stored_before_runs_were_written_gets_them_on_import(tmp_path, csv_path, capsys):
    results_dir = tmp_path / "results"
    stored = write_telemetry(results_dir / MACHINE / "telemetry" / STORED_NAME, csv_path.read_text().splitlines())
    argv = [str(_archive(tmp_path)), "--results", str(results_dir), "--telemetry", str(csv_path)]
    assert import_gpu_results.main(argv) == 0
    said = capsys.readouterr().out
    assert f"unchanged {MACHINE}/telemetry/{STORED_NAME}" in said
    assert f"added {MACHINE}/telemetry/20261129T071233.123Z.runs: sampled {_results_name(COMMIT)} (2 benchmarks)" in said
    assert list(json.loads(telemetry.runs_path(stored).read_text())) == [_results_name(COMMIT)]


def test_a_malformed_telemetry_file_is_named_and_nothing_is_imported(tmp_path, capsys):
    results_dir = tmp_path / "results"
    broken = write_telemetry(tmp_path / "telemetry.csv", ["Failed to initialize NVML: Unknown Error"])
    argv = [str(_archive(tmp_path)), "--results", str(results_dir), "--telemetry", str(broken)]
    assert import_gpu_results.main(argv) == 2
    assert f"corrupt telemetry file {broken}" in capsys.readouterr().err
    assert not results_dir.exists()


def test_telemetry_no_result_was_measured_under_needs_a_machine(tmp_path, capsys):
    results_dir = tmp_path / "results"
    elsewhere = write_telemetry(tmp_path / "telemetry.csv", telemetry_lines(_at(7200), 10, _capped))
    argv = [str(_archive(tmp_path)), "--results", str(results_dir), "--telemetry", str(elsewhere)]
    assert import_gpu_results.main(argv) == 1
    assert "is none; not stored (--machine NAME stores it)" in capsys.readouterr().err
    assert not (results_dir / MACHINE / "telemetry").exists()
    assert import_gpu_results.main(argv + ["--machine", MACHINE]) == 0
    stored = results_dir / MACHINE / "telemetry" / telemetry.read_file(elsewhere).stored_name
    assert stored.is_file() and json.loads(telemetry.runs_path(stored).read_text()) == {}


def test_asv_and_the_store_read_a_machine_folder_with_telemetry_as_without(tmp_path, csv_path, capsys, caplog):
    results_dir = tmp_path / "results"
    assert import_gpu_results.main([str(_archive(tmp_path)), "--results", str(results_dir)]) == 0
    before = (sorted(r.commit_hash for r in asv_results.iter_results(str(results_dir))),
              sorted(iter_machine_files(str(results_dir))))
    assert import_gpu_results.main([str(_archive(tmp_path)), "--results", str(results_dir),
                                    "--telemetry", str(csv_path)]) == 0
    capsys.readouterr()
    assert telemetry.runs_path(results_dir / MACHINE / "telemetry" / STORED_NAME).is_file()
    after = (sorted(r.commit_hash for r in asv_results.iter_results(str(results_dir))),
             sorted(iter_machine_files(str(results_dir))))
    assert after == before and len(before[0]) == 2
    # asv logs "Skipping results: could not load .../telemetry/machine.json" for a *.json there
    assert "Skipping" not in capsys.readouterr().err and "Skipping" not in caplog.text
    assert [run.commit for run in store.load(results_dir).history(MACHINE)] == [COMMIT]


# ---------------------------------------------------------------- GPUs sampled side by side

def test_each_gpus_runs_get_only_their_own_boards_samples(tmp_path, capsys):
    """Two asv processes at once, one per GPU, each board sampled into its own file: the files
    overlap in time, and each pair (archive, telemetry) is imported on its own. A run's samples
    are those of its own GPU."""
    results_dir = tmp_path / "results"
    gpus = [(hashlib.sha1(b"gpu0").hexdigest(), 1980), (hashlib.sha1(b"gpu1").hexdigest(), 1500)]
    pairs = []
    for index, (commit, sm_mhz) in enumerate(gpus):
        lines = telemetry_lines(_at(index * 0.25), 60, _steady(sm_mhz))  # each sampler starts on its own
        pairs.append([str(_archive(tmp_path / f"gpu{index}", commit)), "--results", str(results_dir),
                      "--telemetry", str(write_telemetry(tmp_path / f"telemetry-gpu{index}.csv", lines))])
        assert import_gpu_results.main(pairs[-1]) == 0
    board = telemetry.load(results_dir, MACHINE)
    assert len(board.files) == 2 and board.files[0].end_ms > board.files[1].start_ms
    assert [sorted(f.runs) for f in board.files] == [[_results_name(commit)] for commit, _ in gpus]
    runs = {run.commit: run for run in store.load(results_dir).history(MACHINE)}
    for (commit, sm_mhz), own in zip(gpus, board.files):
        during = board.during(runs[commit])
        assert during == telemetry.Board(MACHINE, (own,)).during(runs[commit]) and len(during) >= 52
        assert {sample.sm_mhz for sample in during} == {sm_mhz}
        assert board.between(runs[commit], runs[commit].intervals(), _ms(20), _ms(21)) == own.between(
            _ms(20), _ms(21))
    capsys.readouterr()
    assert import_gpu_results.main(pairs[0]) == 0  # the same pair again
    said = capsys.readouterr().out
    stem = f"{MACHINE}/telemetry/{board.files[0].path.stem}"
    assert f"unchanged {stem}.runs" in said and f"unchanged {stem}.csv" in said and "added" not in said
    assert telemetry.load(results_dir, MACHINE) == board


def test_two_boards_sampled_at_once_never_share_a_benchmark(tmp_path, capsys):
    """Two GPUs measuring the same benchmarks of one commit side by side: the second board's
    file would claim the first's benchmarks, and each would get both boards' samples."""
    results_dir = tmp_path / "results"
    for index, sm_mhz in enumerate((1980, 1500)):
        lines = telemetry_lines(_at(index * 0.25), 60, _steady(sm_mhz))
        argv = [str(_archive(tmp_path / f"gpu{index}")), "--results", str(results_dir),
                "--telemetry", str(write_telemetry(tmp_path / f"telemetry-gpu{index}.csv", lines))]
        assert import_gpu_results.main(argv) == index  # the second is refused
    assert ("did too (another GPU measuring the same benchmark of the same commit at the same time)"
            in capsys.readouterr().err)
    (stored,) = telemetry.load(results_dir, MACHINE).files
    assert {sample.sm_mhz for sample in stored.samples} == {1980}
    assert len(list(stored.path.parent.iterdir())) == 2  # the first file and its runs, nothing else


def _one_benchmark_archive(tmp_path: Path, benchmark: str, started_s: float) -> Path:
    """asv-results.tgz of one job that measured one benchmark of COMMIT, 20 s from
    ``started_s`` into the telemetry."""
    source = SyntheticResults(tmp_path / "device" / "results")
    params = [["8192"], ["-1"]]
    series = (Series(params, samples=[[1e-3, 1.1e-3]], started_at=_at(started_s), duration=20.0)
              if benchmark == TIME else Series(params, values=[512.0], started_at=_at(started_s), duration=20.0))
    source.run(MACHINE, COMMIT, {benchmark: series})
    return pack_results(source.root, tmp_path / "asv-results.tgz")


@pytest.mark.parametrize("first_claim", ["benchmarks", "a list"])
def test_two_boards_that_measured_two_benchmarks_of_one_commit_side_by_side_keep_theirs(
        tmp_path, capsys, first_claim):
    """Seen on 2026-11-30: a suite job and a peers job at one commit, one per GPU, sampled at
    once. Both boards are stored, and each benchmark gets its own GPU's samples, also where
    the first file's claim was stored as a list of results files (before benchmarks were
    named): the second file's named benchmark is its own, the list's claim the rest."""
    results_dir = tmp_path / "results"
    jobs = [(TIME, 5.0, 1980), (TRACK, 15.0, 1500)]
    for index, (benchmark, started_s, sm_mhz) in enumerate(jobs):
        lines = telemetry_lines(_at(index * 0.25), 60, _steady(sm_mhz))
        argv = [str(_one_benchmark_archive(tmp_path / f"gpu{index}", benchmark, started_s)),
                "--results", str(results_dir),
                "--telemetry", str(write_telemetry(tmp_path / f"telemetry-gpu{index}.csv", lines))]
        assert import_gpu_results.main(argv) == 0, capsys.readouterr().err
        if index == 0 and first_claim == "a list":
            (claims,) = telemetry.folder(results_dir, MACHINE).glob("*.runs")
            claims.write_text(json.dumps([_results_name(COMMIT)]))
    board = telemetry.load(results_dir, MACHINE)
    assert len(board.files) == 2
    (run,) = store.load(results_dir).history(MACHINE)
    samples = board.per_benchmark(run)
    assert {s.sm_mhz for s in samples[TIME]} == {1980} and len(samples[TIME]) >= 40
    assert {s.sm_mhz for s in samples[TRACK]} == {1500} and len(samples[TRACK]) >= 40


def test_a_file_without_runs_is_matched_by_time_one_with_runs_to_those_alone(synthetic_results, csv_path):
    _measured(synthetic_results)
    (run,) = store.load(synthetic_results.root).history(MACHINE)
    folder = telemetry.folder(synthetic_results.root, MACHINE)
    write_telemetry(folder / STORED_NAME, csv_path.read_text().splitlines())  # no .runs
    other = write_telemetry(folder / "20261129T071233.373Z.csv", telemetry_lines(_at(0.25), 60, _steady(1400)))
    elsewhere = _results_name(hashlib.sha1(b"measured on the other GPU").hexdigest())
    telemetry.runs_path(other).write_text(json.dumps([elsewhere]))
    board = telemetry.load(synthetic_results.root, MACHINE)
    assert [f.runs for f in board.files] == [None, frozenset({elsewhere})]
    assert board.files_of(run, TIME, *run.intervals()[TIME]) == board.files[:1]
    assert len(board.during(run)) == 54 and 1400 not in {s.sm_mhz for s in board.during(run)}
    telemetry.runs_path(other).write_text(json.dumps([run.path.name]))  # a file naming the run wins
    board = telemetry.load(synthetic_results.root, MACHINE)
    assert board.files_of(run, TIME, *run.intervals()[TIME]) == board.files[1:]
    assert {s.sm_mhz for s in board.during(run)} == {1400} and board.newest_run([run]) == run
    assert telemetry.machine_info(synthetic_results.root, MACHINE)["telemetry_newest_run"].endswith(
        telemetry.summarize(board.during(run)).text())



def test_a_results_file_merged_from_an_old_job_and_a_new_keeps_both_jobs_samples(synthetic_results, csv_path):
    """Seen on 2026-11-29: 47075591's Peers, sampled before .runs existed, and its PR matrix,
    added by a later backfill whose file names the commit. The newer file must not hide the older
    job's samples."""
    params = [["8192"], ["-1"]]
    synthetic_results.run(MACHINE, COMMIT, {
        TIME: Series(params, samples=[[1e-3, 1.1e-3]], started_at=_at(12), duration=26.0),
        TRACK: Series(params, values=[512.0], started_at=_at(5000), duration=20.0),
    })
    (run,) = store.load(synthetic_results.root).history(MACHINE)
    folder = telemetry.folder(synthetic_results.root, MACHINE)
    write_telemetry(folder / STORED_NAME, csv_path.read_text().splitlines())  # the old job: no .runs
    newer = write_telemetry(folder / "20261129T082300.000Z.csv", telemetry_lines(_at(4990), 60, _steady(1400)))
    telemetry.runs_path(newer).write_text(json.dumps([run.path.name]))
    board = telemetry.load(synthetic_results.root, MACHINE)
    per_benchmark = board.per_benchmark(run)
    assert per_benchmark[TIME] and 1400 not in {s.sm_mhz for s in per_benchmark[TIME]}
    assert per_benchmark[TRACK] and {s.sm_mhz for s in per_benchmark[TRACK]} == {1400}
    assert len(board.during(run)) == len(per_benchmark[TIME]) + len(per_benchmark[TRACK])

RUNS_DAMAGE = {
    "not JSON": "[\"a.json\",",
    "an object of names": '{"runs": "a.json"}',
    "an object of numbers": '{"a.json": [1]}',
    "a name alone": '"a.json"',
    "numbers": "[1, 2]",
    "not text": b"\xff\xfe\x00",
}


@pytest.mark.parametrize("damage", RUNS_DAMAGE.values(), ids=RUNS_DAMAGE.keys())
def test_runs_that_are_neither_names_nor_benchmarks_are_a_store_error_naming_them(synthetic_results, csv_path, damage):
    _measured(synthetic_results)
    stored = write_telemetry(telemetry.folder(synthetic_results.root, MACHINE) / STORED_NAME,
                             csv_path.read_text().splitlines())
    runs = telemetry.runs_path(stored)
    runs.write_bytes(damage if isinstance(damage, bytes) else damage.encode())
    with pytest.raises(StoreError, match=f"corrupt telemetry runs file {re.escape(str(runs))}"):
        telemetry.load(synthetic_results.root, MACHINE)


# ---------------------------------------------------------------- the dashboard

def test_the_dashboard_shows_the_board_and_its_newest_run_without_touching_the_results(synthetic_results, csv_path):
    _measured(synthetic_results)
    synthetic_results.run("h100-sxm-80gb", COMMIT, {TIME: Series([["1"]], samples=[[1.0]])})
    stored = synthetic_results.root / MACHINE / "telemetry" / telemetry.read_file(csv_path).stored_name
    write_telemetry(stored, csv_path.read_text().splitlines())
    machines = {name: json.loads((synthetic_results.root / name / "machine.json").read_text())
                for name in (MACHINE, "h100-sxm-80gb")}
    index = synthetic_results.root.parent / "html" / "index.json"
    index.parent.mkdir()
    index.write_text(json.dumps({"params": {"machine": list(machines)}, "machines": machines}))
    results_before = _tree(synthetic_results.root)

    added = dashboard_board.add_board_info(index, synthetic_results.root)
    published = json.loads(index.read_text())
    assert published["params"] == {"machine": list(machines)}  # no graph parted by the new keys
    assert published["machines"]["h100-sxm-80gb"] == machines["h100-sxm-80gb"] and added["h100-sxm-80gb"] == {}
    info = published["machines"][MACHINE]
    assert {key: info[key] for key in machines[MACHINE]} == machines[MACHINE]
    assert info["gpu_power_limit"] == "700 W" and info["gpu_memory"] == "140 GiB"
    summary = telemetry.summarize(telemetry.load(synthetic_results.root, MACHINE).during(
        store.load(synthetic_results.root).history(MACHINE)[0]))
    assert info["telemetry_newest_run"] == (f"commit {COMMIT[:8]}, measured 2026-11-29 07:12 UTC: "
                                            f"{summary.text()}")
    assert _tree(synthetic_results.root) == results_before


def test_the_dashboard_step_names_stored_telemetry_it_cannot_read(synthetic_results, tmp_path, capsys):
    _measured(synthetic_results)
    broken = write_telemetry(synthetic_results.root / MACHINE / "telemetry" / "20261129T071233.123Z.csv", ["x"])
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"results_dir": "results", "html_dir": "html"}))
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.json").write_text(json.dumps({"machines": {MACHINE: {"machine": MACHINE}}}))
    assert dashboard_board.main(["--config", str(config)]) == 2
    assert f"corrupt telemetry file {broken}" in capsys.readouterr().err
