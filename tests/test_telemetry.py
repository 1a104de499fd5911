"""The board's telemetry: read as the sampler writes it, matched to the stored runs by time,
summarized."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from pathlib import Path

import pytest
from asv import util

from ci import store, telemetry
from ci.store import StoreError
from synthetic_results import (TELEMETRY_HEADER, BoardState, Series, SyntheticResults, telemetry_lines,
                               write_telemetry)

MACHINE = "nvidia-h200"
UTC = datetime.timezone.utc
START = datetime.datetime(2026, 11, 29, 7, 12, 33, 123000, tzinfo=UTC)
TIME = "bench_extend.Quick.time_extend"
TRACK = "bench_extend.Quick.track_peak_memory_mb"
COMMIT = hashlib.sha1(b"measured").hexdigest()


def _capped(t: float) -> BoardState:
    """Idle for 10 s, then at the power cap from 10 s to 40 s, idle again after."""
    if 10 <= t <= 40:
        return BoardState(sm_mhz=1500 + t, power_w=699.0, temperature_c=60 + t / 10, reasons=0x4)
    return BoardState(sm_mhz=345, power_w=90.0, temperature_c=40, reasons=0x1)


def _at(seconds: float) -> datetime.datetime:
    return START + datetime.timedelta(seconds=seconds)


def _ms(seconds: float) -> int:
    return util.datetime_to_js_timestamp(_at(seconds))


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
