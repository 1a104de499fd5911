"""The pictures from stored history: what they draw, not only that a file appears.

The results are synthetic but genuine asv results files (written through asv's own
``Results`` API) for several commits on two machines, with planted changes: a tight 15%
slowdown (must be marked), a 15% speedup and a noisy 20% slowdown (must not be).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from asv import util
from asv.results import Results
from matplotlib.image import imread

from benchmarks.cost import attention_cost
from benchmarks.workloads import PR_DTYPE, PR_HEAD_DIM, PR_HEADS, PR_N_CTX, PR_WINDOWS, POOLS, parse_heads, pr_lengths
from ci.rule import judge
from synthetic_results import BoardState, Series, SyntheticResults, telemetry_lines, write_telemetry
from ci import telemetry
from plots import board as board_figures
from plots import machines, render
from plots.figures import window_label
from benchmarks.bench_ceilings import COPY_BYTES, MATMUL_SIZE
from ci.store import StoreError
from plots.history import (CODEGEN, COPY_GBPS, COPY_SECONDS, MATMUL_SECONDS, MATMUL_TFLOPS, PEERS_RATIO,
                           PEERS_TIME, TIME, UPSTREAM_FORMS, PRKey, load_histories, peers_runs, peers_tables,
                           pr_cost, pr_points, pr_speedups, regressed_steps)

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("baseline", "cg", "stages2", "cg_stages2", "default")
HEAD_DIMS = (64, 128)
COMMITS = [hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in range(6)]
MACHINES = {  # name: (indices of the commits it measured, matmul TFLOP/s, copy GB/s)
    "h100-sxm-80gb": (range(6), 700.0, 3000.0),
    "h200-sxm-141gb": (range(2, 6), 720.0, 4300.0),
}
RATES_STORED = "h100-sxm-80gb"  # stores its ceilings as rates, as the H100 history did before seconds
STEP_MACHINE = "h100-sxm-80gb"
STEP_AT, STEP_KEY = 3, PRKey(4096, 256, "contiguous", "default")  # tight +15%: regressed
FASTER_AT, FASTER_KEY = 2, PRKey(2048, 127, "contiguous", "default")  # tight -15%: improved, not marked
NOISY_AT, NOISY_KEY = 4, PRKey(8192, 512, "contiguous", "default")  # +20% inside the noise: not marked
REGISTERS_AT = 2  # stages2 grows from 200 to 232 registers per thread here
EFFICIENCY = {"baseline": 0.40, "cg": 0.43, "stages2": 0.45, "cg_stages2": 0.50, "default": 0.50}
SAMPLES = 12


def _flops(n_ctx: int, window: int) -> int:
    heads_q, heads_kv = parse_heads(PR_HEADS)
    prefix, extend = pr_lengths(n_ctx)
    return attention_cost(prefix, extend, heads_q=heads_q, heads_kv=heads_kv, head_dim=PR_HEAD_DIM,
                          window=window).flops


def _ceiling_series(machine: str, peak: float, copy: float, rng) -> dict:
    """The measured ceilings, in seconds as the suite stores them, or as rates as it once did."""
    peak, copy = peak * (1 + 0.01 * rng.standard_normal()), copy * (1 + 0.01 * rng.standard_normal())
    if machine == RATES_STORED:
        return {MATMUL_TFLOPS: Series([], values=[peak]), COPY_GBPS: Series([], values=[copy])}
    return {MATMUL_SECONDS: Series([], values=[2 * MATMUL_SIZE**3 / peak / 1e12]),
            COPY_SECONDS: Series([], values=[2 * COPY_BYTES / copy / 1e9])}


def _seconds(key: PRKey, commit: int, peak_tflops: float, copy_gbps: float, planted: bool) -> float:
    """A roofline-shaped time: each variant and pool reaches a fraction of the roof."""
    intensity = pr_cost(key.n_ctx, key.window).intensity
    roof = min(peak_tflops, copy_gbps * intensity / 1e3)
    pool_factor = 0.8 if key.pool == "fragmented" and "cg" not in key.variant else 1.0
    seconds = _flops(key.n_ctx, key.window) / (roof * EFFICIENCY[key.variant] * pool_factor * 1e12)
    for at, changed, factor in ((STEP_AT, STEP_KEY, 1.15), (FASTER_AT, FASTER_KEY, 0.85),
                                (NOISY_AT, NOISY_KEY, 1.2)):
        if planted and key == changed and commit >= at:
            seconds *= factor
    return seconds


def _samples(key: PRKey, seconds: float, rng) -> list:
    if key == NOISY_KEY:  # the median is exactly `seconds`, the spread +-40%
        return list(seconds * rng.permutation(np.linspace(0.6, 1.4, SAMPLES + 1)))
    return list(seconds * (1 + 0.003 * rng.standard_normal(SAMPLES)))


def _codegen(metric: str, variant: str, commit: int) -> float:
    staged = "stages2" in variant or variant == "default"
    if metric == "track_registers":
        return 232 if variant == "stages2" and commit >= REGISTERS_AT else (200 if staged else 168)
    if metric == "track_stack_bytes":
        return 16 if variant == "stages2" and commit >= REGISTERS_AT else 0
    return 98304 if staged else 49152  # track_shared_bytes


def _param_reprs(*values) -> list:
    return [[repr(v) for v in axis] for axis in values]


def _run_series(machine: str, commit: int, peak: float, copy: float, rng) -> dict:
    """Every benchmark the plots read, for one commit on one machine."""
    extend_params = _param_reprs(PR_N_CTX, PR_WINDOWS, [PR_HEADS], [PR_HEAD_DIM], [PR_DTYPE], POOLS, VARIANTS)
    keys = [PRKey(n, w, pool, v) for n, w, _, _, _, pool, v in itertools.product(
        PR_N_CTX, PR_WINDOWS, [PR_HEADS], [PR_HEAD_DIM], [PR_DTYPE], POOLS, VARIANTS)]
    seconds = [_seconds(key, commit, peak, copy, planted=machine == STEP_MACHINE) for key in keys]
    series = {TIME: Series(extend_params, samples=[_samples(k, s, rng) for k, s in zip(keys, seconds)]),
              **_ceiling_series(machine, peak, copy, rng)}
    for metric, *_ in render.CODEGEN_METRICS:
        series[f"{CODEGEN}.{metric}"] = Series(_param_reprs(VARIANTS, HEAD_DIMS), values=[
            _codegen(metric, v, commit) for v, _ in itertools.product(VARIANTS, HEAD_DIMS)])
    return series


def write_synthetic_results(results_dir: Path) -> None:
    rng = np.random.default_rng(7)
    store = SyntheticResults(results_dir)
    for machine, (commits, peak, copy) in MACHINES.items():
        for commit in commits:
            date = datetime.datetime(2025, 1, 1 + commit, tzinfo=datetime.timezone.utc)
            store.run(machine, COMMITS[commit], _run_series(machine, commit, peak, copy, rng),
                      date=util.datetime_to_js_timestamp(date))


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("results")
    write_synthetic_results(path)
    return path


@pytest.fixture(scope="module")
def histories(results_dir):
    return {history.machine: history for history in load_histories(results_dir)}


def _panel(fig, title_part: str):
    (ax,) = [ax for ax in fig.axes if title_part in ax.get_title()]
    return ax


def _regression_marks(ax) -> list:
    return [tuple(xy) for c in ax.collections if c.get_gid() == "regression" for xy in c.get_offsets()]


def test_histories_are_per_machine_in_commit_date_order(histories):
    assert sorted(histories) == sorted(MACHINES)
    for machine, (commits, _, _) in MACHINES.items():
        assert [run.commit for run in histories[machine].runs] == [COMMITS[i] for i in commits]
    # the hashes are not in date order, so this checks the dates were used
    assert [c[:8] for c in COMMITS] != sorted(c[:8] for c in COMMITS)


def test_planted_changes_are_as_the_rule_sees_them(histories):
    """Guards the fixture: the noisy step is large but not significant, the tight ones are."""
    times = [pr_points(run, TIME) for run in histories[STEP_MACHINE].runs]
    assert set(regressed_steps([t[STEP_KEY] for t in times])) == {STEP_AT}
    assert regressed_steps([t[FASTER_KEY] for t in times]) == {}
    assert judge(times[FASTER_AT - 1][FASTER_KEY], times[FASTER_AT][FASTER_KEY]).improved
    noisy = judge(times[NOISY_AT - 1][NOISY_KEY], times[NOISY_AT][NOISY_KEY])
    assert noisy.ratio == pytest.approx(1.2, rel=1e-6) and not noisy.significant


def test_trends_have_a_panel_per_window_and_a_line_per_n_ctx(histories):
    history = histories[STEP_MACHINE]
    fig = render.trends_figure(history)
    assert len(fig.axes) == len(PR_WINDOWS)
    for ax, window in zip(fig.axes, PR_WINDOWS):
        assert ax.get_title() == f"window: {window_label(window)}"
        assert [line.get_label() for line in ax.get_lines()] == [f"n_ctx {n}" for n in PR_N_CTX]
        assert all(len(line.get_xdata()) == len(history.runs) for line in ax.get_lines())
        assert ax.get_ylabel() == "time per call (ms)" and ax.get_yscale() == "log"
    for bottom in fig.axes[-2:]:  # the shared commit axis is labelled under the bottom row
        assert [t.get_text() for t in bottom.get_xticklabels()] == [run.short for run in history.runs]
        assert bottom.get_xlabel() == "commit (oldest to newest)"
    title = fig._suptitle.get_text()
    assert "variant default" in title and STEP_MACHINE in title
    assert f"{COMMITS[0][:8]}..{COMMITS[5][:8]}" in title
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:4] == [f"n_ctx {n}" for n in PR_N_CTX] and "regressed" in legend[4]


def test_trends_mark_the_planted_step_and_nothing_else(histories):
    fig = render.trends_figure(histories[STEP_MACHINE])
    stepped = _panel(fig, "256")
    step_ms = pr_points(histories[STEP_MACHINE].runs[STEP_AT], TIME)[STEP_KEY].value * 1e3
    assert _regression_marks(stepped) == [pytest.approx((STEP_AT, step_ms))]
    assert [t.get_text() for t in stepped.texts] == ["+15%"]
    for ax in fig.axes:
        if ax is not stepped:  # the 15% speedup (window 127) and the noisy 20% step (window 512)
            assert _regression_marks(ax) == [] and len(ax.texts) == 0
    # the line really moves 15% at the ring, so the ring sits on the step
    (line,) = [ln for ln in stepped.get_lines() if ln.get_label() == "n_ctx 4096"]
    y = line.get_ydata()
    assert y[STEP_AT] / y[STEP_AT - 1] == pytest.approx(1.15, rel=0.02)


def test_trends_of_another_machine_or_variant_have_no_marks(histories):
    for fig in (render.trends_figure(histories["h200-sxm-141gb"]),
                render.trends_figure(histories[STEP_MACHINE], variant="cg", pool="fragmented")):
        assert all(_regression_marks(ax) == [] for ax in fig.axes)
        assert len(fig.axes) == len(PR_WINDOWS)
    with pytest.raises(render.NothingToDraw, match="no-such-variant"):
        render.trends_figure(histories[STEP_MACHINE], variant="no-such-variant")


def test_attribution_shows_each_knob_over_baseline_per_pool(histories):
    history = histories[STEP_MACHINE]
    fig = render.attribution_figure(history)
    assert [ax.get_title() for ax in fig.axes] == [f"pool: {p}" for p in POOLS]
    times = pr_points(history.newest, TIME)  # the speedups are ratios of the stored medians
    groups = list(itertools.product(PR_WINDOWS, PR_N_CTX))
    for ax, pool in zip(fig.axes, POOLS):
        assert [c.get_label() for c in ax.containers] == list(VARIANTS[1:])
        assert ax.get_ylabel() == "speedup over baseline (×)"
        for container, variant in zip(ax.containers, VARIANTS[1:]):
            tops = [bar.get_y() + bar.get_height() for bar in container]
            assert tops == pytest.approx([times[PRKey(n, w, pool, "baseline")].value
                                          / times[PRKey(n, w, pool, variant)].value for w, n in groups])
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == [str(n) for _, n in groups]
    title = fig._suptitle.get_text()
    assert STEP_MACHINE in title and f"commit {COMMITS[5][:8]}, the newest of 6 since {COMMITS[0][:8]}" in title
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(VARIANTS[1:])


def _stored(run, name) -> float:
    (point,) = run.measured(name).values()
    return point.value


@pytest.mark.parametrize("machine", MACHINES)
def test_roofline_has_every_point_under_both_measured_ceilings(histories, machine):
    """The ceilings stored as seconds, or as rates the way the H100 history stored them."""
    history = histories[machine]
    fig = render.roofline_figure(history)
    (ax,) = fig.axes
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if c.get_gid() == "points"])
    assert len(offsets) == len(PR_N_CTX) * len(PR_WINDOWS) * len(POOLS) * len(VARIANTS)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity (FLOP/byte)" and ax.get_ylabel() == "achieved TFLOP/s"
    newest = history.newest
    if machine == RATES_STORED:
        peak, copy = _stored(newest, MATMUL_TFLOPS), _stored(newest, COPY_GBPS)
    else:
        peak = 2 * MATMUL_SIZE**3 / _stored(newest, MATMUL_SECONDS) / 1e12
        copy = 2 * COPY_BYTES / _stored(newest, COPY_SECONDS) / 1e9
    lines = {line.get_gid(): line for line in ax.get_lines()}
    compute, memory = lines["compute-ceiling"], lines["memory-ceiling"]
    assert list(compute.get_ydata()) == pytest.approx([peak, peak])
    assert np.asarray(memory.get_ydata()) / np.asarray(memory.get_xdata()) == pytest.approx(copy / 1e3)
    roof = np.minimum(peak, copy * offsets[:, 0] / 1e3)
    assert np.all(offsets[:, 1] <= roof) and np.all(offsets[:, 1] >= 0.2 * roof)
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "compute ceiling" in legend and "memory ceiling" in legend and "GB/s" in legend
    assert machine in fig._suptitle.get_text()
    assert "ceilings measured at commit".lower() in fig.texts[-1].get_text().lower()


def test_roofline_rates_are_the_flops_over_the_stored_median_time(histories):
    """One timing per point: the TFLOP/s drawn is time_extend's, not a second timing's."""
    history = histories["h200-sxm-141gb"]
    (ax,) = render.roofline_figure(history).axes
    drawn = sorted(tuple(xy) for c in ax.collections if c.get_gid() == "points" for xy in c.get_offsets())
    times = pr_points(history.newest, TIME)
    expected = sorted((pr_cost(k.n_ctx, k.window).intensity, _flops(k.n_ctx, k.window) / p.value / 1e12)
                      for k, p in times.items())
    assert drawn == pytest.approx(expected)
    assert pr_speedups(history.newest)[STEP_KEY] == pytest.approx(
        times[STEP_KEY._replace(variant="baseline")].value / times[STEP_KEY].value)


def test_codegen_history_has_a_line_per_variant_and_shows_the_planted_change(histories):
    history = histories[STEP_MACHINE]
    fig = render.codegen_figure(history)
    assert [ax.get_title() for ax in fig.axes] == ["registers", "spills", "shared memory"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["registers per thread", "stack bytes per thread",
                                                     "KiB per block"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["", "commit (oldest to newest)", "commit (oldest to newest)"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines()] == list(VARIANTS)
        assert all(len(line.get_ydata()) == len(history.runs) for line in ax.get_lines())
    registers = {line.get_label(): list(line.get_ydata()) for line in fig.axes[0].get_lines()}
    assert registers["stages2"] == [200] * REGISTERS_AT + [232] * (6 - REGISTERS_AT)
    assert registers["baseline"] == [168] * 6
    shared = {line.get_label(): list(line.get_ydata()) for line in fig.axes[2].get_lines()}
    assert shared["default"] == [96.0] * 6
    assert "head_dim 128" in fig._suptitle.get_text()


def _png_looks_drawn(path: Path) -> None:
    pixels = imread(path)
    assert pixels.shape[:2] == (720, 1200)
    assert pixels[..., :3].std() > 0.05  # a blank or nearly blank canvas has almost no variance


def test_cli_draws_four_pictures_per_machine(results_dir, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(REPO / "plots" / "render.py"), "--results", str(results_dir),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = {f"{picture}-{machine}.{ext}" for picture in ("trends", "attribution", "roofline", "codegen")
                for machine in MACHINES for ext in ("png", "svg")}
    assert {p.name for p in out.iterdir()} == expected
    for png in out.glob("*.png"):
        _png_looks_drawn(png)
    for svg in out.glob("*.svg"):
        assert "<svg" in svg.read_text()[:1000]


def test_no_results_is_an_error_naming_the_folder(tmp_path, capsys):
    assert render.main(["--results", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_corrupt_results_file_is_named(results_dir, tmp_path, capsys):
    copy = tmp_path / "results"
    shutil.copytree(results_dir, copy)
    broken = sorted((copy / STEP_MACHINE).glob(f"{COMMITS[3][:8]}-*.json"))[0]
    broken.write_text('{"commit_hash": ')
    assert render.main(["--results", str(copy), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "Traceback" not in err
    with pytest.raises(StoreError, match="machine.json"):
        (copy / STEP_MACHINE / "machine.json").write_text("not json")
        load_histories(copy)


def _keep_only(results_dir: Path, dest: Path, machine: str, keep) -> Path:
    """A copy of one machine's results with only the benchmarks `keep(name)` accepts (via asv's API)."""
    shutil.copytree(results_dir / machine, dest / machine)
    for path in (dest / machine).glob("*-*.json"):
        results = Results.load(str(path))
        for name in [n for n in results.get_all_result_keys() if not keep(n)]:
            results.remove_result(name)
        results.save(str(dest))
    return dest


def test_a_machine_with_only_codegen_gets_only_the_codegen_picture(results_dir, tmp_path, capsys):
    only_codegen = _keep_only(results_dir, tmp_path / "results", "h200-sxm-141gb",
                              lambda name: name.startswith(CODEGEN))
    assert render.main(["--results", str(only_codegen), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["codegen-h200-sxm-141gb.png",
                                                                    "codegen-h200-sxm-141gb.svg"]
    err = capsys.readouterr().err
    assert all(f"skipped {picture} for machine h200-sxm-141gb" in err
               for picture in ("trends", "attribution", "roofline"))


def test_a_roofline_without_stored_ceilings_says_so(results_dir, tmp_path):
    no_ceilings = _keep_only(results_dir, tmp_path, "h200-sxm-141gb", lambda name: "Ceilings" not in name)
    fig = render.roofline_figure(load_histories(no_ceilings)[0])
    assert not [line for line in fig.axes[0].get_lines() if "ceiling" in (line.get_gid() or "")]
    assert "No ceilings stored" in fig.texts[-1].get_text()


def test_a_commit_measured_in_two_environments_needs_env(results_dir, tmp_path):
    machine = _keep_only(results_dir, tmp_path, "h200-sxm-141gb", lambda name: True) / "h200-sxm-141gb"
    original = sorted(machine.glob(f"{COMMITS[5][:8]}-*.json"))[0]
    data = util.load_json(str(original), api_version=Results.api_version)
    data["env_name"] = "conda-py3.12"
    util.write_json(str(machine / f"{COMMITS[5][:8]}-conda-py3.12.json"), data, api_version=Results.api_version)
    with pytest.raises(StoreError, match="--env"):
        load_histories(tmp_path)
    (history,) = load_histories(tmp_path, env="conda-py3.12")
    assert [run.commit for run in history.runs] == [COMMITS[5]]


# ---------------------------------------------------------------- one machine over another

COMPARED = ("h100-sxm-80gb", "h200-sxm-141gb")
PLANTED = {STEP_KEY, FASTER_KEY, NOISY_KEY}


@pytest.fixture(scope="module")
def comparison(histories):
    return machines.compare(*(histories[name] for name in COMPARED))


def test_the_ratios_are_taken_at_the_commits_both_machines_stored(comparison):
    assert [run.commit for run in comparison.commits] == COMMITS[2:]
    assert len(comparison.points) == len(PR_N_CTX) * len(PR_WINDOWS) * len(POOLS) * len(VARIANTS)
    step = next(p for p in comparison.points if p.key == STEP_KEY)
    # the H100 got 15% slower at commit 3: the second machine's time over it drops there
    assert step.ratios[1] / step.ratios[0] == pytest.approx(1 / 1.15, rel=0.02)
    assert step.ratio == pytest.approx(math.prod(step.ratios) ** (1 / 4))


def test_unchanged_points_run_at_the_ratio_the_roofline_expects(comparison):
    # the synthetic times reach a fixed fraction of each machine's roof, so the ratio is the roofs'
    for point in comparison.points:
        if point.key not in PLANTED:
            assert point.ratio == pytest.approx(comparison.expected(point), rel=0.03), point.key


def test_each_point_is_bound_by_where_it_sits_against_each_ridge(comparison):
    classes = {(p.key.window, *comparison.bounds(p)) for p in comparison.points}
    # ridges: 700 TFLOP/s / 3000 GB/s = 233 FLOP/byte, 720 / 4300 = 167; W127 ~110, W256 ~200-225
    assert classes == {(-1, "compute", "compute"), (127, "memory", "memory"), (256, "memory", "compute"),
                       (512, "compute", "compute")}
    rows = machines.summary_rows(comparison)
    assert [row[:4] for row in rows[:-1]] == [["none", "370–2816", "compute", "compute"],
                                             ["127 tokens", "108–113", "memory", "memory"],
                                             ["256 tokens", "202–225", "memory", "compute"],
                                             ["512 tokens", "326–443", "compute", "compute"]]
    assert rows[-1][0] == "all" and rows[-1][4] == str(len(comparison.points))


def test_the_table_has_a_row_per_point_and_says_where_the_roofs_come_from(comparison):
    text = machines.comparison_table(comparison)
    assert f"the 4 commits both machines stored: {', '.join(c[:8] for c in COMMITS[2:])}" in text
    assert text.count("\n| 8192 | none | contiguous | ") == len(VARIANTS)
    for found in comparison.roofs:  # each machine's newest stored ceilings, as the roofline's
        assert found.run.commit == COMMITS[5] and found.ridge == pytest.approx(found.tflops * 1e3 / found.gbps)
        assert f"ridge {found.ridge:.0f} FLOP/byte; measured at commit {COMMITS[5][:8]}" in text
    assert "n/a" not in text


def test_the_figure_draws_every_point_both_ridges_and_the_expected_ratio(comparison):
    fig = machines.comparison_figure(comparison)
    ax = fig.axes[0]
    drawn = [c for c in ax.containers if c.lines[0].get_gid() == "points"]
    assert sum(len(c.lines[0].get_xdata()) for c in drawn) == len(comparison.points)
    gids = {line.get_gid() for line in ax.get_lines()}
    assert {f"ridge-{COMPARED[0]}", f"ridge-{COMPARED[1]}", "expected"} <= gids


def test_without_the_second_machines_ceilings_the_table_and_figure_say_so(results_dir, tmp_path):
    keep = _keep_only(results_dir, tmp_path, COMPARED[1], lambda name: "Ceilings" not in name)
    shutil.copytree(results_dir / COMPARED[0], keep / COMPARED[0])
    histories = {h.machine: h for h in load_histories(keep)}
    comparison = machines.compare(histories[COMPARED[0]], histories[COMPARED[1]])
    assert comparison.roofs[1] is None and comparison.expected(comparison.points[0]) is None
    assert f"- {COMPARED[1]}: no ceilings stored" in machines.comparison_table(comparison)
    fig = machines.comparison_figure(comparison)
    assert "expected" not in {line.get_gid() for line in fig.axes[0].get_lines()}
    assert f"No ceilings stored for {COMPARED[1]}" in fig.texts[-1].get_text()


def test_machines_without_a_common_commit_have_nothing_to_compare(histories):
    only_first = dataclasses.replace(histories[COMPARED[1]], runs=histories[COMPARED[1]].runs[:0])
    with pytest.raises(render.NothingToDraw, match="no commit"):
        machines.compare(histories[COMPARED[0]], only_first)


def test_the_cli_compares_the_machines_it_is_given(results_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert render.main(["--results", str(results_dir), "--out", str(out), "--compare", ":".join(COMPARED)]) == 0
    stem = f"{COMPARED[0]}-to-{COMPARED[1]}"
    assert {f"{stem}.png", f"{stem}.svg", f"{stem}.md"} <= {p.name for p in out.iterdir()}
    _png_looks_drawn(out / f"{stem}.png")
    assert render.main(["--results", str(results_dir), "--out", str(out), "--compare", "a100:h200-sxm-141gb"]) == 0
    assert "skipped a100 against h200-sxm-141gb: results of both machines are needed" in capsys.readouterr().err



# ---------------------------------------------------------------- the board through each run

BOARD_MACHINE = "gpu-box"
SAMPLED_START = datetime.datetime(2026, 11, 29, 6, 0, tzinfo=datetime.timezone.utc)
QUICK = "bench_extend.Quick.time_extend"
CEILING = "bench_ceilings.Ceilings.track_copy_seconds"


def _after(seconds: float) -> datetime.datetime:
    return SAMPLED_START + datetime.timedelta(seconds=seconds)


def _board(t: float) -> BoardState:
    """Full speed, but held at the power cap from 150 s to 170 s into the sampling."""
    if 150 <= t <= 170:
        return BoardState(sm_mhz=1500, power_w=700.0, temperature_c=70, reasons=0x4)
    return BoardState(sm_mhz=1980, power_w=450.0, temperature_c=55)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> Path:
    """Three commits of one machine: the first measured before any sampling, the second and the
    third while sampled; the third's ceilings were added by a later job, sampled too."""
    results = SyntheticResults(tmp_path_factory.mktemp("sampled") / "results")
    params = [["8192"], ["-1"]]
    for index, (time_at, ceilings_at) in enumerate(((-7200, None), (20, 10), (140, 7200))):
        series = {QUICK: Series(params, samples=[[1e-3, 1.01e-3]], started_at=_after(time_at), duration=40.0)}
        if ceilings_at is not None:
            series[CEILING] = Series([], values=[5e-4], started_at=_after(ceilings_at), duration=5.0)
        results.run(BOARD_MACHINE, COMMITS[index], series, date=1_700_000_000_000 + index * 86_400_000)
    folder = results.root / BOARD_MACHINE / "telemetry"
    write_telemetry(folder / "first-job.csv", telemetry_lines(SAMPLED_START, 300, _board))
    write_telemetry(folder / "later-job.csv", telemetry_lines(_after(7190), 30, _board))
    return results.root


def test_the_board_is_drawn_through_each_sampled_run_and_its_benchmarks(sampled):
    (history,) = load_histories(sampled)
    board = telemetry.load(sampled, BOARD_MACHINE)
    fig = board_figures.telemetry_figure(history, board)
    clock = fig.axes[0]
    drawn = {}
    for line in clock.get_lines():
        if (line.get_gid() or "").startswith("sm_mhz"):
            drawn.setdefault(line.get_gid(), []).extend(line.get_ydata())
    # the first commit ran before the sampling: not drawn; the third's two jobs are two stretches
    assert sorted(drawn) == [f"sm_mhz-{COMMITS[1][:8]}", f"sm_mhz-{COMMITS[2][:8]}"]
    stretches = board_figures.stretches(history.runs[2])
    assert len(stretches) == 2
    assert drawn[f"sm_mhz-{COMMITS[2][:8]}"] == [s.sm_mhz for stretch in stretches
                                                 for s in board_figures.stretch_samples(board, stretch)]
    throttled = [c for c in clock.collections if c.get_gid() == "throttled"]
    assert sum(len(c.get_offsets()) for c in throttled) == sum(
        1 for s in board.during(history.runs[2]) if s.throttled)
    spans = [p for p in clock.patches if p.get_gid() == "benchmark"]
    assert len(spans) == 2 + 2  # the second commit's two benchmarks, the third's two
    labels = {text.get_text() for text in clock.texts}
    assert {COMMITS[1][:8], COMMITS[2][:8]} <= labels and COMMITS[0][:8] not in labels


def test_each_sampled_runs_summary_is_tabled(sampled):
    (history,) = load_histories(sampled)
    board = telemetry.load(sampled, BOARD_MACHINE)
    rows = [line for line in board_figures.telemetry_table(history, board).splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [f"| {COMMITS[1][:8]}", f"| {COMMITS[2][:8]}"]
    held = telemetry.summarize(board.during(history.runs[2]))
    assert 0 < held.throttled < 1 and held.sm_min_mhz == 1500
    assert f"| {held.samples} | 1980 (1500) | " in rows[2] and "SW power cap" in rows[2]


def test_the_cli_draws_the_board_where_telemetry_is_stored(sampled, tmp_path, capsys):
    out = tmp_path / "out"
    assert render.main(["--results", str(sampled), "--out", str(out)]) == 0
    assert {f"telemetry-{BOARD_MACHINE}.{ext}" for ext in ("png", "svg", "md")} <= {p.name for p in out.iterdir()}
    _png_looks_drawn(out / f"telemetry-{BOARD_MACHINE}.png")


def test_telemetry_no_stored_run_was_measured_under_is_said(sampled):
    (history,) = load_histories(sampled)
    unsampled = dataclasses.replace(history, runs=history.runs[:1])
    with pytest.raises(render.NothingToDraw, match="no stored run was measured while the 2 stored telemetry"):
        board_figures.telemetry_figure(unsampled, telemetry.load(sampled, BOARD_MACHINE))
    with pytest.raises(render.NothingToDraw, match="no telemetry stored"):
        board_figures.telemetry_figure(history, telemetry.Board(BOARD_MACHINE, ()))


def test_a_corrupt_telemetry_file_stops_the_plots_naming_it(sampled, tmp_path, capsys):
    shutil.copytree(sampled, tmp_path / "results")
    broken = write_telemetry(tmp_path / "results" / BOARD_MACHINE / "telemetry" / "later-job.csv", ["garbage"])
    assert render.main(["--results", str(tmp_path / "results"), "--out", str(tmp_path / "out")]) == 2
    assert f"corrupt telemetry file {broken}" in capsys.readouterr().err


# The peers: a device call measures one pool, so two calls can store the two pools at two commits
PEER_PROVIDERS = ("default", "baseline", "sglang-0.5.2", *UPSTREAM_FORMS, "flashinfer-0.7.2-fa3")
PEERS_VERSION = "protocol 1; peers 2; providers 0123456789abcdef"


def _peers_series(pool: str, speedup: float, providers=PEER_PROVIDERS) -> dict:
    """Peers measured in ``pool`` alone (the other pool's points skipped, NaN; ``pool`` None:
    both), and of the providers only ``providers`` (``ci/gpu_job.sh``'s PEERS_PROVIDERS):
    ``default`` ``speedup`` times faster than every other provider."""
    keys = list(itertools.product(PR_N_CTX, PR_WINDOWS, POOLS, PEER_PROVIDERS))
    params = _param_reprs(PR_N_CTX, PR_WINDOWS, POOLS, PEER_PROVIDERS)
    seconds = {key: 1e-3 * (1 if key[-1] == "default" else speedup) for key in keys}
    ratio = [1.0 if k[-1] == "default" else 1 / speedup if pool in (k[2], None) and k[-1] in providers
             else math.nan for k in keys]
    return {PEERS_TIME: Series(params, samples=[[seconds[k]] * 3 if pool in (k[2], None) and k[-1] in providers
                                                else [] for k in keys],
                                       version=PEERS_VERSION),
            PEERS_RATIO: Series(params, values=ratio, version=PEERS_VERSION)}


@pytest.fixture(scope="module")
def peers_history(tmp_path_factory):
    """A PR-matrix run, then the contiguous pool's peers, then the fragmented pool's."""
    root = tmp_path_factory.mktemp("peers-results")
    store = SyntheticResults(root)
    rng = np.random.default_rng(3)
    series = [_run_series("peers-machine", 0, 700.0, 4000.0, rng),
              _peers_series("contiguous", 1.25), _peers_series("fragmented", 1.5)]
    for commit, one in enumerate(series):
        date = datetime.datetime(2025, 2, 1 + commit, tzinfo=datetime.timezone.utc)
        store.run("peers-machine", COMMITS[commit], one, date=util.datetime_to_js_timestamp(date))
    (one_history,) = load_histories(root)
    return one_history


def test_each_pool_of_the_peers_comes_from_the_newest_run_that_measured_it(peers_history):
    runs = peers_runs(peers_history)
    assert {pool: {run.commit for run in by_provider.values()} for pool, by_provider in runs.items()} == {
        "contiguous": {COMMITS[1]}, "fragmented": {COMMITS[2]}}
    tables = peers_tables(runs)
    for pool, commit, speedup in (("contiguous", COMMITS[1], 1.25), ("fragmented", COMMITS[2], 1.5)):
        section = tables.split(f"pool {pool}: commit {commit[:8]}")[1].split("pool ")[0]
        assert "calls in turns" in section
        assert f"| our default over flashinfer-0.7.2-fa3 | {speedup:.3f}× (min {speedup:.3f}×" in section
    fig = render.peers_figure(peers_history)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"pool: contiguous, commit {COMMITS[1][:8]}", f"pool: fragmented, commit {COMMITS[2][:8]}"]


def test_a_run_of_some_providers_leaves_the_others_to_the_run_that_measured_them(tmp_path):
    """Both pools, FlashInfer alone (PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3), after a run
    of every provider in the contiguous pool: FlashInfer's rows are the newer run's, the others
    the older one's, named as such; the fragmented pool has FlashInfer's rows alone."""
    store = SyntheticResults(tmp_path)
    flashinfer = "flashinfer-0.7.2-fa3"
    for commit, one in enumerate([_peers_series("contiguous", 1.25),
                                  _peers_series(None, 2.0, providers=("default", flashinfer))]):
        date = datetime.datetime(2025, 3, 1 + commit, tzinfo=datetime.timezone.utc)
        store.run("peers-machine", COMMITS[commit], one, date=util.datetime_to_js_timestamp(date))
    (history,) = load_histories(tmp_path)
    runs = peers_runs(history)
    assert {provider: run.commit for provider, run in runs["contiguous"].items()} == {
        **{provider: COMMITS[0] for provider in PEER_PROVIDERS if provider != "default"}, flashinfer: COMMITS[1]}
    assert {provider: run.commit for provider, run in runs["fragmented"].items()} == {flashinfer: COMMITS[1]}
    contiguous, fragmented = peers_tables(runs).split("pool fragmented")
    assert f"pool contiguous: commit {COMMITS[1][:8]}" in contiguous
    assert f"| our default over {flashinfer} | 2.000× (min 2.000×" in contiguous
    assert f"| our default over sglang-0.5.2 | 1.250×" in contiguous
    assert f"8192/W127 1.250× (commit {COMMITS[0][:8]}) |" in contiguous
    assert f"over {flashinfer} | 2.000×" in fragmented and "sglang" not in fragmented
    titles = [ax.get_title() for ax in render.peers_figure(history).axes if ax.get_title()]
    others = len(PEER_PROVIDERS) - 2
    assert titles[0] == f"pool: contiguous, commit {COMMITS[1][:8]}\n({others} other providers from {COMMITS[0][:8]})"
    assert titles[1] == f"pool: fragmented, commit {COMMITS[1][:8]}"


def test_the_pr_matrix_pictures_draw_the_newest_run_that_measured_it(peers_history):
    # the two newer runs measured only the peers: the attribution and the roofline draw commit 0
    for figure in (render.attribution_figure, render.roofline_figure):
        title = figure(peers_history)._suptitle.get_text()
        assert f"commit {COMMITS[0][:8]}, the newest of 3 since {COMMITS[0][:8]} to measure it" in title
