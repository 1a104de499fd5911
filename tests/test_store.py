"""ci/store.py, the one reader of asv's results: histories, revisions, points, and every data error named."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from ci import store
from ci.rule import Point
from synthetic_results import SYNTHETIC_ENV, Series

MACHINE = "gpu-box"
TIME = "bench_extend.Quick.time_extend"
TRACK = "bench_codegen.Codegen.track_registers"
PARAMS = [["8192"], ["-1", "256"], ["'64/8'"], ["128"], ["'bf16'"], ["'contiguous'"], ["'baseline'", "'default'"]]
NAMES = ["n_ctx", "window", "heads", "head_dim", "dtype", "pool", "variant"]
# point 0 measured, 1 failed (None), 2 skipped (NaN), 3 measured
SAMPLES = [[2e-3, 2.1e-3, 1.9e-3], None, [], [1e-3, 1.1e-3, 0.9e-3]]


def commit(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


OLD, NEW = commit("first"), commit("new")  # OLD's hash sorts after NEW's; its date is earlier


@pytest.fixture
def results(synthetic_results):
    synthetic_results.benchmark_list({TIME: (PARAMS, NAMES, "seconds")})
    series = {TIME: Series(PARAMS, SAMPLES), TRACK: Series([["'cg'"], ["64"]], values=[168])}
    synthetic_results.run(MACHINE, NEW, series, date=2_000_000)
    synthetic_results.run(MACHINE, OLD, series, date=1_000_000)
    return synthetic_results


def test_a_history_is_in_commit_date_order(results):
    assert OLD > NEW
    runs = store.load(results.root).history(MACHINE)
    assert [run.commit for run in runs] == [OLD, NEW]
    assert [run.date for run in runs] == [1_000_000, 2_000_000]
    assert runs[0].env == SYNTHETIC_ENV and runs[0].short == OLD[:8]


def test_points_keep_failed_and_skipped_apart(results):
    run = store.load(results.root).history(MACHINE)[0]
    points = run.points(TIME)
    assert [p.status for p in points.values()] == [store.MEASURED, store.FAILED, store.SKIPPED, store.MEASURED]
    assert list(run.measured(TIME)) == [list(points)[0], list(points)[3]]
    first = next(iter(points.values()))
    assert first.value == pytest.approx(2e-3) and first.samples == pytest.approx((2e-3, 2.1e-3, 1.9e-3))
    assert math.isfinite(first.stats["ci_99_a"])
    assert first.point() == Point(first.value, first.stats, first.samples)
    assert run.points("bench_extend.Absent.time_extend") == {}


def test_a_key_holds_the_decoded_values_asvs_label_and_the_names(results):
    run = store.load(results.root).history(MACHINE)[0]
    key = list(run.points(TIME))[1]
    assert key.values == (8192, -1, "64/8", 128, "bf16", "contiguous", "default")
    assert key.label == ("8192", "-1", "'64/8'", "128", "'bf16'", "'contiguous'", "'default'")
    assert key.names == tuple(NAMES)
    assert key.text == f"{TIME}(8192, -1, '64/8', 128, 'bf16', 'contiguous', 'default')"
    assert list(run.points(TRACK))[0].names == ()  # not in benchmarks.json


def test_the_benchmark_version_is_the_stored_one(results):
    run = store.load(results.root).history(MACHINE)[0]
    assert run.version(TIME) == "1" and run.version("absent") is None


def test_revisions_resolve_by_prefix_and_say_why_not(results):
    stored = store.load(results.root)
    assert stored.resolve(OLD[:6], MACHINE, repo=None) == OLD
    assert stored.resolve(NEW.upper()[:10], MACHINE, repo=None) == NEW
    with pytest.raises(store.StoreError, match="unknown commit 'feedface'"):
        stored.resolve("feedface", MACHINE, repo=None)
    with pytest.raises(store.StoreError, match="machines there: gpu-box"):
        stored.resolve(OLD, "other-box", repo=None)


def test_one_environment_per_commit_in_a_history(results):
    results.run(MACHINE, OLD, {TIME: Series(PARAMS, SAMPLES)}, date=1_000_000, env="conda-py3.12")
    stored = store.load(results.root)
    with pytest.raises(store.StoreError, match="several asv environments.*--env"):
        stored.history(MACHINE)
    assert [run.commit for run in stored.history(MACHINE, env="conda-py3.12")] == [OLD]
    assert sorted(stored.at(MACHINE, OLD)) == ["conda-py3.12", SYNTHETIC_ENV]


# ---------------------------------------------------------------- data errors, each naming the file

def _edit(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _row(data, name=TIME):
    return data["results"][name]


def _set_column(column, value, name=TIME):
    def edit(data):
        _row(data, name)[data["result_columns"].index(column)] = value
    return edit


DAMAGE = {
    "nested 100,000 deep": lambda path: path.write_text("[" * 100_000 + "]" * 100_000),
    "cut short": lambda path: path.write_text(path.read_text()[:500]),
    "not an object": lambda path: path.write_text("[1, 2]"),
    "a confidence bound that is a string": lambda path: _edit(
        path, lambda d: _row(d)[d["result_columns"].index("stats_ci_99_a")].__setitem__(0, "0.001")),
    "an env_name that is a list": lambda path: _edit(path, lambda d: d.__setitem__("env_name", ["a", "b"])),
    "a commit hash that is a number": lambda path: _edit(path, lambda d: d.__setitem__("commit_hash", 12)),
    "a date that is a string": lambda path: _edit(path, lambda d: d.__setitem__("date", "today")),
    "a missing key": lambda path: _edit(path, lambda d: d.pop("result_columns")),
    "a point short": lambda path: _edit(path, lambda d: _row(d)[0].pop()),
    "a value that is a string": lambda path: _edit(path, lambda d: _row(d)[0].__setitem__(0, "fast")),
    "a value that is a bool": lambda path: _edit(path, lambda d: _row(d)[0].__setitem__(0, True)),
    "an infinite value": lambda path: _edit(path, lambda d: _row(d)[0].__setitem__(0, math.inf)),
    "results that are not a list": lambda path: _edit(path, _set_column("result", 7)),
    "samples that are strings": lambda path: _edit(
        path, lambda d: _row(d)[d["result_columns"].index("samples")].__setitem__(0, ["1", "2"])),
    "params that are not lists": lambda path: _edit(path, _set_column("params", "n_ctx")),
    "a version that is a number": lambda path: _edit(path, _set_column("version", 3)),
    "another machine's file": lambda path: _edit(path, lambda d: d["params"].__setitem__("machine", "a100")),
    "an unknown column": lambda path: _edit(path, lambda d: d["result_columns"].__setitem__(0, "speed")),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_results_file_is_a_store_error_naming_it(results, damage):
    path = results.root / MACHINE / f"{OLD[:8]}-{SYNTHETIC_ENV}.json"
    damage(path)
    with pytest.raises(store.StoreError) as error:
        store.load(results.root).history(MACHINE)
    assert f"corrupt results file {path}" in str(error.value)


def test_a_damaged_machine_file_or_benchmark_list_is_named(results):
    machine_file = results.root / MACHINE / "machine.json"
    machine_file.write_text('{"machine": "another-box", "version": 1}')
    with pytest.raises(store.StoreError, match=f"corrupt machine file {machine_file}: machine 'another-box'"):
        store.load(results.root).runs(MACHINE)
    machine_file.write_text("{")
    with pytest.raises(store.StoreError, match=f"corrupt machine file {machine_file}"):
        store.load(results.root).runs(MACHINE)
    benchmark_list = results.root / "benchmarks.json"
    benchmark_list.write_text('{"version": 2, "x.time_y": {"param_names": "n_ctx"}}')
    with pytest.raises(store.StoreError, match=f"corrupt benchmark list {benchmark_list}"):
        store.load(results.root).param_names


def test_the_stored_h100_history_reads_whole():
    """Every stored file passes the checks, and the PR matrix is where docs/DESIGN.md says."""
    stored = store.load(Path(__file__).resolve().parents[1] / "results")
    assert set(stored.machines()) >= {"h100-sxm-80gb", "cpu-codegen"}
    runs = stored.history("h100-sxm-80gb")
    assert len(runs) >= 12 and [run.date for run in runs] == sorted(run.date for run in runs)
    points = runs[-1].points("bench_extend.PRMatrix.time_extend")
    assert len(points) == 160 and all(key.names == tuple(NAMES) for key in points)
