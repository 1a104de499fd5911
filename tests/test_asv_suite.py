"""The asv suite on a CPU: its grid, its skips and failures, its clock, and asv itself running it.

asv runs end to end here three ways: `asv check` in the suite's own virtualenv environment,
`asv run --quick` of the codegen metrics for the current commit in that environment, and
`ci/gpu_job.sh asv` in a copy of the checkout without git history (as the device machine
receives it), whose packed results ci/import_gpu_results.py then merges.
"""

import dataclasses
import inspect
import io
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from asv.benchmarks import Benchmarks
from asv.config import Config
from asv.results import Results
from asv.runner import BenchmarkResult
from asv_runner.discovery import disc_benchmarks, list_benchmarks

import kernels
from benchmarks import bench_ceilings, bench_codegen, bench_extend, device_clock, extend_grid, versions, workloads
from benchmarks import harness
from ci import asv_host_packages, backfill, gate, import_gpu_results, store
from tools import timing_agreement
from conftest import DEVICE
from tests.checkout import asv_config, clone_with_working_tree, git
from synthetic_results import Series, SyntheticResults, pack_results

REPO = Path(__file__).resolve().parents[1]
EXTEND_CLASSES = [cls for _, cls in inspect.getmembers(bench_extend, inspect.isclass)
                  if issubclass(cls, bench_extend._ExtendBenchmark) and cls is not bench_extend._ExtendBenchmark]
GPU_CLASSES = EXTEND_CLASSES + [bench_ceilings.Ceilings, bench_ceilings.Clocks]
MACHINE = "cpu-test"
ASV_NAME = re.compile(r"^(time|track|mem|peakmem|timeraw)_|^(Time|Track|Mem|PeakMem|Timeraw)[A-Z_]")


# ---------------------------------------------------------------- the grid


def test_extend_classes_have_the_design_parameters_in_order():
    design = (REPO / "docs" / "DESIGN.md").read_text()
    # the extend classes' sentence, not the peers' one before it
    order = re.search(r"extend-attention benchmark class has the parameters, in this order:\s+`(n_ctx, [a-z_, ]+)`",
                      design).group(1).split(", ")
    assert list(extend_grid.EXTEND_PARAMS) == order
    assert {cls.__name__ for cls in EXTEND_CLASSES} == {"PRMatrix", "Heads", "HeadDims", "Fp16", "ChatTurn", "Quick"}
    for cls in EXTEND_CLASSES:
        assert cls.param_names == order
        assert len(cls.params) == len(order)
        assert "setup_cache" in vars(cls), f"{cls.__name__} inherits setup_cache: asv would share one cache"


def test_the_pr_matrix_is_the_upstream_one():
    assert bench_extend.PRMatrix.params == [[1024, 2048, 4096, 8192], [-1, 127, 256, 512], ["64/8"], [128],
                                            ["bf16"], ["contiguous", "fragmented"],
                                            ["baseline", "cg", "stages2", "cg_stages2", "default"]]
    prefix, extend = workloads.pr_lengths(8192)
    assert len(prefix) == len(extend) == 32
    assert all(1 <= n < 4096 for n in prefix + extend)
    assert workloads.pr_lengths(8192) == (prefix, extend)  # the fixed seed


def test_the_suite_measures_every_variant_of_the_kernel():
    assert set(workloads.VARIANT_NAMES) == set(kernels.VARIANTS)
    assert set(workloads.SUBGRID_VARIANTS) <= set(workloads.VARIANT_NAMES)


def test_the_sub_grids_cover_heads_head_dims_fp16_and_a_chat_turn():
    def axis(cls, name):
        return cls.params[extend_grid.EXTEND_PARAMS.index(name)]
    assert axis(bench_extend.Heads, "heads") == ["32/8", "32/32", "64/8"]
    assert axis(bench_extend.HeadDims, "head_dim") == [64, 128, 256]
    assert axis(bench_extend.Fp16, "dtype") == ["fp16"]
    prefix, extend = bench_extend.ChatTurn.lengths(axis(bench_extend.ChatTurn, "n_ctx")[0])
    assert set(prefix) == {16384} and set(extend) == {256} and len(prefix) == workloads.PR_BATCH
    assert bench_codegen.Codegen.param_names == ["variant", "head_dim"]


def test_helper_modules_define_nothing_asv_would_take_for_a_benchmark():
    for module in (workloads, extend_grid, device_clock, versions, sys.modules["benchmarks.harness"],
                   sys.modules["benchmarks.cost"]):
        names = [name for name, value in vars(module).items()
                 if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
                 and ASV_NAME.match(name)]
        assert not names, f"{module.__name__}: {names}"


# ---------------------------------------------------------------- versions

VERSION_LOCK = REPO / "tests" / "asv_versions.json"


def _discovered_suite() -> dict:
    """{asv name: asv's benchmark object} of the whole suite, found as asv finds it."""
    return {benchmark.name: benchmark for benchmark in disc_benchmarks(str(REPO / "benchmarks"))}


def test_every_benchmark_version_is_explicit_and_the_locked_one():
    """A version changes only with an edit of the lock: benchmarks/versions.py says when."""
    suite = _discovered_suite()
    implicit = sorted(name for name, benchmark in suite.items()
                      if getattr(benchmark.func, "version", None) != benchmark.version)
    assert not implicit, (f"asv versions these by a hash of their source: {implicit}; decorate their "
                          "class with benchmarks.versions.explicit")
    lock = json.loads(VERSION_LOCK.read_text())
    found = {name: benchmark.version for name, benchmark in suite.items()}
    changed = sorted(name for name in found.keys() & lock.keys() if found[name] != lock[name])
    assert found == lock, (
        f"changed: {changed}; new: {sorted(found.keys() - lock.keys())}; gone: {sorted(lock.keys() - found.keys())}. "
        "A changed version retires the benchmark's stored history: if what it measures changed, bump "
        f"its version in benchmarks/versions.py and write {VERSION_LOCK.name} as\n"
        + json.dumps(found, indent=4, sort_keys=True))


def test_the_stored_history_the_suite_still_runs_is_in_view():
    """Every stored series carries the suite's version, so asv shows it, or it is a compile-only
    series whose exact copy (same commit, same numbers) is in view on another machine, or a
    bump retired it on purpose (versions.RETIRED)."""
    suite = {name: benchmark.version for name, benchmark in _discovered_suite().items()}
    stored = store.load(REPO / "results")
    runs = [run for machine in stored.machines() for run in stored.runs(machine)]

    def values(run, name):
        return {key.label: point.value for key, point in run.points(name).items()}
    in_view = {(run.commit, name): values(run, name) for run in runs for name in run.benchmarks()
               if run.version(name) == suite.get(name)}
    for run in runs:
        hidden = [name for name in run.benchmarks() if name in suite and run.version(name) != suite[name]
                  and in_view.get((run.commit, name)) != values(run, name)
                  and run.version(name) not in versions.RETIRED.get(name, {})]
        assert not hidden, f"{run.path}: asv hides these, stored under other versions than the suite's: {hidden}"


def test_an_inherited_benchmark_gets_a_version_per_class():
    assert bench_extend.PRMatrix.time_extend is not bench_extend.Quick.time_extend
    assert bench_extend.PRMatrix.time_extend.version != bench_extend.Quick.time_extend.version
    assert bench_extend.Quick.time_extend.setup is extend_grid.prepare_timed_call  # asv's attributes kept
    assert versions.version("bench_x.New.time_y", "protocol 9") == "protocol 9"  # unpinned: what it measures


# ---------------------------------------------------------------- what asv reads as a regression

# asv reads every stored value as lower-is-better; these are the units where a rise is a loss
RISE_IS_A_LOSS = {"seconds", "MB", "registers/thread", "bytes/thread", "bytes/block", "MHz below max",
                  "default time / provider time"}


def test_every_benchmark_stores_a_value_whose_rise_is_a_loss():
    """asv marks a rise '+' (worse) and lists it as a regression: no rate or speedup may rise."""
    units = {name: benchmark.unit for name, benchmark in _discovered_suite().items()}
    assert {name: unit for name, unit in units.items() if unit not in RISE_IS_A_LOSS} == {}, (
        "store a time (derive rates from it, plots/history.py) or another value whose rise is a loss: docs/GATE.md")


def test_asvs_regression_detection_sees_the_times_alone():
    """The dashboard's regressions list judges what the gate judges: time_* benchmarks."""
    first_commits = json.loads((REPO / "asv.conf.json").read_text())["regressions_first_commits"]
    for name, benchmark in _discovered_suite().items():
        entry = f"{name}({', '.join(params[0] for params in benchmark.params)})" if benchmark.params else name
        excluded = any(re.match(regex, entry) and commit is None for regex, commit in first_commits.items())
        assert excluded != gate.is_gated(name), entry


def _git_history(repo: Path, count: int) -> list:
    """(hash, commit date in ms) of ``count`` empty commits on main, a minute apart."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for i in range(count):
        date = f"2026-11-2{i} 12:00:00 +0000"
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", f"c{i}"], check=True, env=env)
    log = subprocess.run(["git", "-C", str(repo), "log", "--reverse", "--format=%H %ct"], check=True,
                         capture_output=True, text=True).stdout.split()
    return [(log[i], int(log[i + 1]) * 1000) for i in range(0, len(log), 2)]


def test_asv_lists_a_planted_slowdown_and_no_gain(tmp_path):
    """Four commits of the suite's own benchmarks through asv publish and asv compare: the last
    one slows one Quick point by 30%, speeds another up by 30%, and the machine gets faster
    (copy and matmul seconds down, clocks nearer their maximum). Only the slowdown is listed."""
    commits = _git_history(tmp_path / "repo", 4)
    conf = json.loads((REPO / "asv.conf.json").read_text())
    conf.update(repo=str(tmp_path / "repo"), benchmark_dir=str(REPO / "benchmarks"),
                results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"), env_dir=str(tmp_path / "env"))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    listing = io.StringIO()
    list_benchmarks(str(REPO / "benchmarks"), listing)  # what asv run writes to benchmarks.json
    Benchmarks(Config.load(str(config)), json.loads(listing.getvalue())).save()

    suite = {name: benchmark.version for name, benchmark in _discovered_suite().items()}
    quick = "bench_extend.Quick.time_extend"
    params = [[repr(v) for v in axis] for axis in bench_extend.Quick.params]
    slower, faster = 0, 2  # Quick's (8192, -1, baseline) and (8192, 256, baseline)
    rng = random.Random(0)
    results = SyntheticResults(tmp_path / "results")
    for index, (commit, date) in enumerate(commits):
        last = index == len(commits) - 1
        factor = [1.3 if last and i == slower else 1 / 1.3 if last and i == faster else 1.0 for i in range(4)]
        machine = 0.8 if last else 1.0
        series = {
            quick: Series(params, samples=[[1e-3 * f * (1 + rng.gauss(0, 0.003)) for _ in range(20)] for f in factor]),
            "bench_ceilings.Ceilings.track_copy_seconds": Series([], values=[3.6e-4 * machine]),
            "bench_ceilings.Ceilings.track_matmul_seconds": Series([], values=[1.5e-3 * machine]),
            "bench_ceilings.Clocks.track_sm_clock_below_max_mhz": Series([], values=[600.0 * machine]),
            "bench_codegen.Codegen.track_registers": Series([["'default'"], ["128"]], values=[168]),
        }
        for name, one in series.items():
            series[name] = dataclasses.replace(one, version=suite[name])
        results.run(MACHINE, commit, series, date=date)

    env = _asv_env(tmp_path)
    _asv(config, env, "publish")
    regressions = json.loads((tmp_path / "html" / "regressions.json").read_text())["regressions"]
    labels = [store.point_label(quick, point) for point in itertools.product(*params)]
    assert [entry[0] for entry in regressions] == [labels[slower]]

    compared = _asv(config, env, "compare", commits[-2][0], commits[-1][0], "--machine", MACHINE)
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in compared.splitlines()
            if line.startswith("| ") and not line.startswith("| Change")]
    marks = {row[-1]: row[0] for row in rows}
    assert [name for name, mark in marks.items() if mark == "+"] == [labels[slower]], compared
    assert sorted(name for name, mark in marks.items() if mark == "-") == sorted(
        [labels[faster], *(name for name in series if name.startswith("bench_ceilings"))]), compared


def test_importing_the_suite_leaves_cuda_alone():
    # asv's forkserver imports the suite, then forks each benchmark: CUDA must not be up yet
    code = ("import torch, benchmarks.bench_extend, benchmarks.bench_codegen, benchmarks.bench_ceilings; "
            "assert not torch.cuda.is_initialized()")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# ---------------------------------------------------------------- skips and failures


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skips of a machine without a GPU")
@pytest.mark.parametrize("cls", GPU_CLASSES, ids=lambda cls: cls.__name__)
def test_gpu_benchmarks_skip_without_a_gpu(cls):
    benchmark = cls()
    cache = benchmark.setup_cache()
    first_point = next(itertools.product(*getattr(cls, "params", [])), ())
    with pytest.raises(NotImplementedError, match="CUDA"):
        benchmark.setup(cache, *first_point)


def _measured(correct=True, variants=("baseline", "default")):
    point = (1024, -1, "64/8", 128, "bf16", "contiguous")
    numbers = dict(peak_memory_mb=0.0, correct=correct, error=0.5,
                   failure=None if correct else "variant 'default' at window=-1: wrong")
    return point, {"lengths": {1024: ((1,), (1,))}, "variants": list(variants),
                   "chosen": ("baseline", "default"),
                   "points": {point: {name: dict(numbers) for name in variants}}}


def test_a_variant_found_wrong_fails_loudly():
    point, measured = _measured(correct=False)
    with pytest.raises(extend_grid.VariantFailedCheck, match="wrong") as failure:
        extend_grid.point_result(measured, (*point, "default"))
    assert not isinstance(failure.value, NotImplementedError)


def test_a_variant_the_commit_lacks_is_skipped():
    point, measured = _measured(variants=("baseline",))
    with pytest.raises(NotImplementedError, match="'default' is not in this commit"):
        extend_grid.point_result(measured, (*point, "default"))
    assert extend_grid.point_result(measured, (*point, "baseline"))["peak_memory_mb"] == 0.0


def test_a_variant_this_run_did_not_check_is_skipped_naming_the_choice():
    point, measured = _measured()
    measured["chosen"] = ("default",)
    with pytest.raises(NotImplementedError, match=f"not checked in this run .{extend_grid.VARIANTS_ENV} chose default"):
        extend_grid.point_result(measured, (*point, "baseline"))
    assert extend_grid.point_result(measured, (*point, "default"))["correct"]


def test_the_variants_a_run_checks_come_from_the_environment(monkeypatch):
    grid = ("baseline", "cg", "default")
    monkeypatch.delenv(extend_grid.VARIANTS_ENV, raising=False)
    assert extend_grid.measured_variants(grid) == grid
    monkeypatch.setenv(extend_grid.VARIANTS_ENV, " default, baseline ")
    assert extend_grid.measured_variants(grid) == ("baseline", "default")  # the grid's order
    monkeypatch.setenv(extend_grid.VARIANTS_ENV, "default,fast")
    with pytest.raises(ValueError, match=r"BENCH_EXTEND_VARIANTS='default,fast': unknown variants \['fast'\]"):
        extend_grid.measured_variants(grid)


def test_track_benchmarks_report_the_measured_numbers():
    point, measured = _measured()
    benchmark = bench_extend.PRMatrix()
    benchmark.setup(measured, *point, "default")
    assert benchmark.track_peak_memory_mb(measured, *point, "default") == 0.0
    assert bench_extend.PRMatrix.track_peak_memory_mb.unit == "MB"


def test_the_clocks_are_read_as_mhz_below_the_maximum(monkeypatch):
    reply = "00000000:18:00.0, 1320, 2619, 1980, 2619\n00000000:2A:00.0, 1980, 2619, 1980, 2619\n"
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: subprocess.CompletedProcess(args, 0, reply))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: type("P", (), {"pci_bus_id": 0x18}))
    assert bench_ceilings._nvidia_smi_clocks() == {"sm_below_max_mhz": 660.0, "memory_below_max_mhz": 0.0}
    assert bench_ceilings.copy_gbps(1.0) == 2 * bench_ceilings.COPY_BYTES / 1e9


# ---------------------------------------------------------------- the device clock


class _FakeEvent:
    log = []

    def __init__(self, enable_timing):
        self.at = None

    def record(self):
        self.at = len([entry for entry in self.log if entry == "kernel"])
        self.log.append("record")

    def synchronize(self):
        self.log.append("synchronize")

    def elapsed_time(self, other):
        return 1.5 * (other.at - self.at)  # milliseconds: 1.5 per kernel between the events


def test_the_device_clock_counts_device_time_between_a_cold_start_and_a_stop(monkeypatch):
    _FakeEvent.log = log = []
    flush = type("Flush", (), {"zero_": lambda self: log.append("flush")})()
    monkeypatch.setattr(torch.cuda, "Event", _FakeEvent)
    monkeypatch.setattr(torch.cuda, "_sleep", lambda cycles: log.append("sleep"))
    monkeypatch.setattr(device_clock, "l2_flush_buffer", lambda: flush)
    clock = device_clock.DeviceClock()
    start = clock()
    log.append("kernel")
    stop = clock()
    assert log == ["sleep", "flush", "record", "kernel", "record", "synchronize"]
    assert stop - start == pytest.approx(1.5e-3)
    start = clock()
    log += ["kernel", "kernel"]
    assert clock() - start == pytest.approx(3e-3)


def test_time_extend_is_timed_by_the_device_clock_one_call_a_sample():
    assert isinstance(bench_extend.PRMatrix.timer, device_clock.DeviceClock)
    assert bench_extend.PRMatrix.number == 1
    assert bench_extend.PRMatrix.time_extend.setup is extend_grid.prepare_timed_call
    source = inspect.getsource(bench_extend._ExtendBenchmark.time_extend)
    assert len(source.strip().splitlines()) == 2  # def + one line


def test_the_timed_call_is_the_checked_output_or_is_checked_again(monkeypatch):
    """time_extend's setup: the checked bits skip the reference; other bits are checked."""
    prefix, extend = (9, 0, 30), (12, 5, 20)
    point = (64, 8, "4/2", 64, "fp16", "fragmented", "cg")
    monkeypatch.setattr(extend_grid, "make_inputs",
                        lambda *args, **kwargs: workloads.make_inputs(*args, **{**kwargs, "device": DEVICE}))
    inputs = workloads.make_inputs(prefix, extend, heads="4/2", head_dim=64, dtype="fp16",
                                   pool="fragmented", device=DEVICE)
    kernels.extend_attention_fwd(*inputs.args, sliding_window_size=8, config="cg")
    checked = harness.output_fingerprint(inputs.o_extend)
    rechecked = []
    real_check = harness.check_call
    monkeypatch.setattr(harness, "check_call",
                        lambda *args, **kwargs: rechecked.append(args[1]) or real_check(*args, **kwargs))

    def measured(fingerprint):
        numbers = {"correct": True, "failure": None, "fingerprint": fingerprint}
        return {"lengths": {64: (prefix, extend)}, "variants": ["cg"], "chosen": ["cg"],
                "points": {point[:-1]: {"cg": numbers}}}

    extend_grid._checked_call(measured(checked), point)()
    assert rechecked == []
    extend_grid._checked_call(measured("other bits"), point)()
    assert rechecked == ["cg"]
    wrong = kernels.extend_attention_fwd
    monkeypatch.setattr(kernels, "extend_attention_fwd",
                        lambda *args, sliding_window_size, **kwargs: wrong(*args, sliding_window_size=3, **kwargs))
    with pytest.raises(harness.VariantIncorrect):
        extend_grid._checked_call(measured(checked), point)


def test_the_extend_setup_caches_check_without_timing(monkeypatch):
    """They keep peak memory alone (a point's time is time_extend's), so they time nothing."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(extend_grid, "make_inputs", lambda *args, **kwargs: None)
    asked = []
    monkeypatch.setattr(harness, "measure_point",
                        lambda inputs, window, variants, **kwargs: asked.append(kwargs["timed"]) or {})
    params = extend_grid.extend_params(n_ctx=[64], window=[-1, 16], heads=["4/2"], head_dim=[64],
                                       dtype=["fp16"], pool=["contiguous"], variant=[])
    extend_grid.measure_grid(params, workloads.pr_lengths)
    assert asked == [False, False]


def test_triton_start_up_is_done_at_import():
    """What Triton's first launch hashes is cached before asv forks the points."""
    from triton.runtime.cache import triton_key
    assert triton_key.cache_info().currsize == 1
    assert "triton.experimental.gluon.nvidia.hopper" in sys.modules


# ---------------------------------------------------------------- asv, end to end


def _asv_env(home: Path) -> dict:
    real_home = Path.home()
    env = dict(os.environ, HOME=str(home), PIP_CACHE_DIR=str(real_home / ".cache" / "pip"),
               TRITON_CACHE_DIR=os.environ.get("TRITON_CACHE_DIR", str(real_home / ".triton" / "cache")))
    env.pop("TRITON_INTERPRET", None)  # conftest's switch for the kernel tests; codegen compiles for sm_90
    return env


@pytest.fixture(scope="module")
def asv_project(tmp_path_factory):
    """(config, env, results dir): asv.conf.json as is, but for this repo's path and folders in tmp."""
    tmp = tmp_path_factory.mktemp("asv")
    conf = json.loads((REPO / "asv.conf.json").read_text())
    conf.update(repo=str(REPO), benchmark_dir=str(REPO / "benchmarks"), results_dir=str(tmp / "results"),
                html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    config = tmp / "asv.conf.json"
    config.write_text(json.dumps(conf))
    # what asv reads beside its config: the install step's script, the build requirements
    (tmp / "ci").symlink_to(REPO / "ci")
    (tmp / "pyproject.toml").symlink_to(REPO / "pyproject.toml")
    env = _asv_env(tmp)
    subprocess.run([sys.executable, str(REPO / "ci" / "asv_machine.py"), "--machine", MACHINE], env=env, check=True)
    return config, env, tmp / "results"


def _asv(config, env, *args):
    done = subprocess.run([sys.executable, "-m", "asv", "--config", str(config), *args], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_asv_check_passes(asv_project):
    config, env, _ = asv_project
    assert "No problems found" in _asv(config, env, "check")


def test_asv_runs_the_codegen_metrics_for_the_current_commit(asv_project):
    config, env, results_dir = asv_project
    _asv(config, env, "run", "--quick", "HEAD^!", "--bench", "bench_codegen", "--machine", MACHINE)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    [path] = (results_dir / MACHINE).glob(f"{head[:8]}-*.json")
    results = Results.load(str(path))
    values = {}
    for metric in ("registers", "stack_bytes", "shared_bytes"):
        name = f"bench_codegen.Codegen.track_{metric}"
        params = results.get_result_params(name)
        values[metric] = dict(zip(itertools.product(*params), results.get_result_value(name, params)))
    points = values["registers"].keys()
    assert len(points) == len(workloads.VARIANT_NAMES) * 3
    for point in points:
        assert 32 <= values["registers"][point] <= 255
        assert values["stack_bytes"][point] >= 0
        assert 0 < values["shared_bytes"][point] <= 227 * 1024
    machine = json.loads((results_dir / MACHINE / "machine.json").read_text())
    assert {"gpu", "cuda", "torch", "triton"} <= set(machine)


def _sent_checkout(tmp_path: Path) -> Path:
    """The checkout as the device tool sends it: the working tree, a .git without commits, and
    the history in .bundle/repo.bundle (ci/prepare_device.sh)."""
    tree = tmp_path / "checkout"
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tree / name)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tree / ".bundle").mkdir()
    subprocess.run(["git", "-C", str(REPO), "bundle", "create", "-q", str(tree / ".bundle" / "repo.bundle"), "--all"],
                   check=True)
    return tree


@pytest.mark.parametrize("gpu", [None, "1"], ids=["the-host", "one-gpu-of-several"])
def test_the_gpu_job_runs_asv_without_git_history_and_its_results_import(tmp_path, gpu):
    """On one GPU of several (GPU_JOB_GPU) asv works apart: its own config, environments and
    results in the job's work folder, the checkout's results/ untouched, the archive as ever."""
    tree = _sent_checkout(tmp_path)
    out = tmp_path / "out"
    env = dict(_asv_env(tmp_path), OUT=str(out), ASV_WORK=str(tmp_path / "work"), ASV_MACHINE=MACHINE,
               **({"GPU_JOB_GPU": gpu} if gpu else {}))
    stored_before = sorted((tree / "results").rglob("*"))
    done = subprocess.run(["bash", "ci/gpu_job.sh", "asv", "HEAD^!", "--quick", "--bench", "bench_codegen"],
                          cwd=tree, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (out / "asv.log").read_text()[-4000:] if (out / "asv.log").exists() else done.stderr
    if gpu:
        work = tmp_path / f"work-gpu{gpu}"
        config = json.loads((tree / f"asv.work-gpu{gpu}.conf.json").read_text())
        assert (config["repo"], config["results_dir"], config["env_dir"]) == (
            str(work / "repo.git"), str(work / "results"), str(work / "env"))
        assert sorted((tree / "results").rglob("*")) == stored_before
        assert not (tree / "asv.device.conf.json").exists()
    else:
        assert json.loads((tree / "asv.device.conf.json").read_text())["repo"] == str(tmp_path / "work" / "repo.git")

    results_dir = tmp_path / "results"
    report = import_gpu_results.import_archive(str(out / "asv-results.tgz"), str(results_dir))
    assert report.errors == 0 and any(line.startswith("added") for line in report.lines)
    # the archive holds what asv measured, not only the stored results it started from
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    [measured] = (results_dir / MACHINE).glob(f"{head[:8]}-*.json")
    assert any(name.startswith("bench_codegen.") for name in Results.load(str(measured)).get_all_result_keys())
    again = import_gpu_results.import_archive(str(out / "asv-results.tgz"), str(results_dir))
    assert again.errors == 0 and not any(line.startswith(("added", "merged")) for line in again.lines)


def _asv_run_stand_in(tmp_path: Path) -> "tuple[Path, Path]":
    """(log, python): a python3 for the jobs (PYTHON) that records each `-m asv ... run` command
    line in ``log`` instead of running it, and runs every other command with this Python."""
    log, python = tmp_path / "asv-runs.log", tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\ncase " $* " in *" -m asv "*" run "*) echo "$*" >> {log}; exit 0 ;; esac\n'
                      f'exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    return log, python


@pytest.mark.parametrize("since", [None, 20])
def test_the_backfill_runs_a_job_per_gpu_each_on_its_share_of_the_missing_commits(tmp_path, since):
    """On a host of two GPUs (a stand-in nvidia-smi lists them) the backfill starts two jobs,
    each on its own GPU, whose commit lists split the missing commits between them; with
    BACKFILL_SINCE (here the 20th kernel commit), the missing commits after it."""
    tree = _sent_checkout(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text('#!/bin/sh\n[ "$1" = -L ] && printf "GPU 0: H\\nGPU 1: H\\n"\n')
    (bin_dir / "nvidia-smi").chmod(0o755)
    out = tmp_path / "out"
    # a deadline too near for asv to start: each job stops after choosing its commits
    env = dict(_asv_env(tmp_path), OUT=str(out), ASV_WORK=str(tmp_path / "work"), ASV_MACHINE=MACHINE,
               ASV_DEADLINE_S="5", PATH=f"{bin_dir}:{os.environ['PATH']}")
    since_args = []
    if since is not None:
        env["BACKFILL_SINCE"] = backfill.kernel_commits(str(REPO))[since - 1]
        since_args = ["--since", env["BACKFILL_SINCE"]]
    done = subprocess.run(["bash", "ci/gpu_job.sh", "backfill"], cwd=tree, env=env, capture_output=True, text=True)
    # one archive of both jobs' folders: the device tool brings back 8 files at most
    assert [path.name for path in out.iterdir()] == ["backfill.tgz"], done.stdout + done.stderr
    with tarfile.open(out / "backfill.tgz") as tar:
        tar.extractall(out, filter="data")
    logs = {i: (out / f"gpu{i}" / "job.log").read_text() for i in range(2)}
    assert done.returncode == 124, done.stdout + done.stderr + str(logs)  # the deadline's status
    missing = subprocess.run([sys.executable, "ci/backfill.py", "--machine", MACHINE, "--results",
                              str(tree / "results"), *since_args], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    shares = [(tmp_path / f"work-gpu{i}" / "kernel-commits.txt").read_text().split() for i in range(2)]
    assert shares == [missing[0::2], missing[1::2]] and shares[1]
    for i in range(2):
        assert f"shard {i}/2" in logs[i]
        assert (out / f"gpu{i}" / "asv-results.tgz").exists()


def _kernel_commits_since(since: str) -> list:
    """The kernel commits a backfill after ``since`` runs, oldest first: git's ``since..HEAD``,
    which holds more than the list's tail where branches were merged since."""
    commits = backfill.kernel_commits(str(REPO), since)
    assert len(commits) >= 3, commits
    return commits


def test_the_backfill_runs_asv_once_per_set_of_benchmarks_lacked(tmp_path):
    """The kernel commits since the fourth newest, the PR matrix and Heads asked for; the first
    of them holds the PR matrix already, so it runs Heads alone, and the others run the
    selection. asv is a stand-in that records its command line."""
    tree = _sent_checkout(tmp_path)
    since = backfill.kernel_commits(str(REPO))[-4]
    first, *rest = _kernel_commits_since(since)
    held = Series([["1"]], [[1e-3]])
    stored = SyntheticResults(tree / "results")
    stored.machine(MACHINE, gpu="none")  # this machine's hardware: the guard lets the job go on
    stored.run(MACHINE, first, {"bench_extend.PRMatrix.time_extend": held,
                                                             "bench_extend.PRMatrix.track_peak_memory_mb": held})
    log, python = _asv_run_stand_in(tmp_path)
    selection = r"^bench_extend\.(PRMatrix|Heads)\."
    env = dict(_asv_env(tmp_path), OUT=str(tmp_path / "out"), ASV_WORK=str(tmp_path / "work"), ASV_MACHINE=MACHINE,
               PYTHON=str(python), BACKFILL_SINCE=since)
    done = subprocess.run(["bash", "ci/gpu_job.sh", "backfill", selection], cwd=tree, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = log.read_text().splitlines()
    benches = [re.search(r"--bench (\S+) HASHFILE:(\S+)", line).groups() for line in runs]
    assert [(bench, Path(hashes).read_text().split()) for bench, hashes in benches] == [
        (r"^(?:bench_extend\.Heads\.time_extend|bench_extend\.Heads\.track_peak_memory_mb)(?:\(|$)", [first]),
        (selection, rest)]


def test_a_backfill_on_a_warm_machine_skips_what_its_earlier_calls_measured(tmp_path):
    """The device machine stays warm between calls but is released too soon to import between
    them: a call's archives kept in GPU_JOB_KEEP_DIR hold the PR matrix at the first kernel
    commit since the fourth newest, so the next call's backfill runs the others, and keeps its
    own archive beside them. The PR matrix is in the second of two archives that each hold a
    file of that commit (a suite job's and a peers job's beside it): the two are merged, not
    the first kept. asv is a stand-in that records its command line."""
    tree = _sent_checkout(tmp_path)
    since = backfill.kernel_commits(str(REPO))[-4]
    first, *rest = _kernel_commits_since(since)
    held = Series([["1"]], [[1e-3]])
    SyntheticResults(tree / "results").machine(MACHINE, gpu="none")
    keep = tmp_path / "keep"
    keep.mkdir()
    for archive, benchmarks in [("1-peers.tgz", ["bench_peers.Peers.time_provider"]),
                                ("2-suite.tgz", ["bench_extend.PRMatrix.time_extend",
                                                 "bench_extend.PRMatrix.track_peak_memory_mb"])]:
        earlier = tmp_path / archive
        SyntheticResults(earlier / "results").run(MACHINE, first, dict.fromkeys(benchmarks, held))
        pack_results(earlier / "results", keep / archive)
    log, python = _asv_run_stand_in(tmp_path)
    env = dict(_asv_env(tmp_path), OUT=str(tmp_path / "out"), ASV_WORK=str(tmp_path / "work"), ASV_MACHINE=MACHINE,
               PYTHON=str(python), BACKFILL_SINCE=since, GPU_JOB_KEEP_DIR=str(keep))
    done = subprocess.run(["bash", "ci/gpu_job.sh", "backfill"], cwd=tree, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    [(bench, hashes)] = [re.search(r"--bench (\S+) HASHFILE:(\S+)", line).groups()
                         for line in log.read_text().splitlines()]
    assert Path(hashes).read_text().split() == rest
    assert f"gpu_job: 1 results files added from {keep}" in (tmp_path / "out" / "asv.log").read_text()
    # the earlier run sits in the results asv writes (the sent checkout's, on the whole host),
    # and this call's archive is kept for the next
    assert list((tree / "results" / MACHINE).glob(f"{first[:8]}-*.json"))
    assert len(list(keep.glob("*.tgz"))) == 3


def test_asv_reads_the_bundle_where_the_checkouts_head_is_stale(tmp_path):
    """A copy whose .git holds the bundle's HEAD among its objects but points HEAD at another
    commit (the device machine on 2026-11-29) must not have asv measure that other commit."""
    stale = clone_with_working_tree(tmp_path / "stale")
    (stale / ".bundle").mkdir()
    git("bundle", "create", "-q", ".bundle/repo.bundle", "HEAD", cwd=stale)
    work = tmp_path / "work"

    def head(repo):
        return git("rev-parse", "HEAD", cwd=repo).strip()

    def chosen_repo():
        done = asv_config(stale, work)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[-1]

    # the copy's .git a commit behind its working tree, which is the bundle's HEAD
    tip = head(stale)
    git("reset", "-q", "--soft", "HEAD~1", cwd=stale)
    assert chosen_repo() == str(work / "repo.git") and head(work / "repo.git") == tip
    git("reset", "-q", "--soft", tip, cwd=stale)
    assert chosen_repo() == "."


# ---------------------------------------------------------------- merging results


STORED_NAME = "aaaaaaaa-virtualenv-py3.12.json"


def _results_file(results_dir: Path, values: dict) -> Path:
    """One commit's results file with benchmarks {name: value}, two parameter values each."""
    results = Results({"machine": MACHINE, "python": "3.12"}, {}, "a" * 40, 1_700_000_000_000, "3.12",
                      "virtualenv-py3.12", {})
    for name, value in values.items():
        results.add_result({"name": name, "version": "1", "params": [["1", "2"]]},
                           BenchmarkResult(result=[value, 2 * value], samples=[None, None], number=[None, None],
                                           errcode=0, stderr="", profile=None))
    results.save(str(results_dir))
    return results_dir / MACHINE / STORED_NAME


def _archive(tmp_path: Path, values: dict) -> Path:
    """An asv-results.tgz as ci/gpu_job.sh packs it, holding one results file."""
    source = tmp_path / "archive-source" / "results"
    _results_file(source, values)
    return pack_results(source, tmp_path / "asv-results.tgz")


def _value(path: Path, name: str) -> list:
    return Results.load(str(path)).get_result_value(name, [["1", "2"]])


def test_import_adds_what_is_new_and_keeps_what_is_stored(tmp_path):
    stored = tmp_path / "results"
    path = _results_file(stored, {"bench.time_a": 1.0})
    archive = _archive(tmp_path, {"bench.time_a": 5.0, "bench.time_b": 3.0})

    report = import_gpu_results.import_archive(str(archive), str(stored))
    assert report.errors == 0
    assert _value(path, "bench.time_a") == [1.0, 2.0]  # stored, kept
    assert _value(path, "bench.time_b") == [3.0, 6.0]  # new, added
    assert any("kept the stored bench.time_a" in line for line in report.lines)


def test_import_replaces_a_differing_benchmark_only_when_asked(tmp_path):
    stored = tmp_path / "results"
    path = _results_file(stored, {"bench.time_a": 1.0})
    archive = _archive(tmp_path, {"bench.time_a": 5.0})
    import_gpu_results.import_archive(str(archive), str(stored), replace=True)
    assert _value(path, "bench.time_a") == [5.0, 10.0]


def test_import_copies_a_new_commit_whole(tmp_path):
    archive = _archive(tmp_path, {"bench.time_a": 5.0})
    report = import_gpu_results.import_archive(str(archive), str(tmp_path / "results"))
    assert report.errors == 0 and report.lines == [f"added {MACHINE}/{STORED_NAME}"]
    assert _value(tmp_path / "results" / MACHINE / STORED_NAME, "bench.time_a") == [5.0, 10.0]


def test_import_keeps_a_stored_machine_record_and_names_what_differs(tmp_path):
    record = {"machine": MACHINE, "gpu": "NVIDIA H200", "num_cpu": "16", "version": 1}
    source = tmp_path / "archive-source" / "results"
    _results_file(source, {"bench.time_a": 5.0})
    (source / MACHINE / "machine.json").write_text(json.dumps({**record, "num_cpu": "32"}))
    archive = pack_results(source, tmp_path / "asv-results.tgz")

    fresh = tmp_path / "fresh"
    import_gpu_results.import_archive(str(archive), str(fresh))
    assert json.loads((fresh / MACHINE / "machine.json").read_text())["num_cpu"] == "32"  # none stored: taken

    stored = tmp_path / "results"
    _results_file(stored, {"bench.time_a": 5.0})
    (stored / MACHINE / "machine.json").write_text(json.dumps(record))
    before = (stored / MACHINE / "machine.json").read_bytes()
    report = import_gpu_results.import_archive(str(archive), str(stored))
    assert report.errors == 0 and (stored / MACHINE / "machine.json").read_bytes() == before
    assert any("kept the stored machine info" in line and "differs in num_cpu" in line for line in report.lines)


def test_import_names_a_broken_file_and_clobbers_nothing(tmp_path, capsys):
    stored = tmp_path / "results"
    path = _results_file(stored, {"bench.time_a": 1.0})
    before = path.read_bytes()
    archive_source = tmp_path / "archive-source" / "results"
    broken = _results_file(archive_source, {"bench.time_a": 5.0})
    broken.write_text(broken.read_text()[: len(broken.read_text()) // 2])  # cut off mid-transfer
    pack_results(archive_source, tmp_path / "asv-results.tgz")

    assert import_gpu_results.main([str(tmp_path / "asv-results.tgz"), "--results", str(stored)]) == 1
    assert STORED_NAME in capsys.readouterr().err
    assert path.read_bytes() == before


# ---------------------------------------------------------------- helpers of the jobs


def test_the_host_python_is_the_first_of_this_version_on_path_outside_the_environment(tmp_path, monkeypatch):
    env_bin, host_bin = tmp_path / "env" / "bin", tmp_path / "host" / "bin"
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for directory in (env_bin, host_bin):
        directory.mkdir(parents=True)
        (directory / name).symlink_to(sys.executable)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    monkeypatch.setenv("PATH", f"{env_bin}{os.pathsep}{host_bin}")
    assert asv_host_packages.host_python() == str(host_bin / name)
    assert any(path.endswith("site-packages") for path in asv_host_packages.site_packages(sys.executable))


def test_timing_agreement_reads_the_stored_medians_and_reports_deviations(synthetic_results, capsys):
    params = [[repr(v) for v in axis] for axis in bench_extend.PRMatrix.params]
    points = list(itertools.product(*bench_extend.PRMatrix.params))
    values = [1e-3] * len(points)
    values[1] = math.nan  # a skipped point is not compared
    synthetic_results.run(MACHINE, "b" * 40, {timing_agreement.BENCHMARK: Series(params, values=values)})
    times = timing_agreement.stored_times(str(synthetic_results.root), MACHINE, "bbbb")
    assert len(times) == len(points) - 1 and times[points[0]] == 1e-3
    broken = synthetic_results.root / MACHINE / "cccccccc-virtualenv-py3.12.json"
    broken.write_text('{"commit_hash": ')
    argv = ["--machine", MACHINE, "--commit", "bbbb", "--results", str(synthetic_results.root)]
    assert timing_agreement.main(argv) == timing_agreement.EXIT_NO_DATA
    assert str(broken) in capsys.readouterr().err

    text, status = timing_agreement.report([(points[0], 1.00e-3, 1.01e-3), (points[2], 1.0e-3, 1.05e-3)], 0.03)
    assert status == timing_agreement.EXIT_DISAGREE and "1 outside ±3%" in text
    _, status = timing_agreement.report([(points[0], 1.00e-3, 1.01e-3)], 0.03)
    assert status == timing_agreement.EXIT_AGREE


def test_results_numbers_keep_what_the_tracks_need():
    fields = {field.name for field in dataclasses.fields(sys.modules["benchmarks.harness"].PointResult)}
    assert set(extend_grid._RESULT_FIELDS) <= fields
