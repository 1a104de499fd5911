"""benchmarks/harness.py and the kernel-development tools (tools/) without a GPU.

On CPU the kernel runs through Triton's interpreter (conftest sets TRITON_INTERPRET=1 before
triton is first imported); on a GPU the same tests run compiled. Tiny shapes, fp16 only: the
interpreter mishandles bf16 (numpy has no bfloat16), so bf16 results there say nothing.
Device timing is never exercised here; measure_point's bookkeeping is, with the timed calls faked.
"""

import dataclasses
import importlib
import math
import os
import subprocess

import pytest
import torch

import kernels
from kernels import extend_attention as ea
from benchmarks import harness, workloads
from benchmarks.workloads import make_inputs
from tools import quick_bench
from conftest import DEVICE

# one sequence without a prefix, one without new tokens, one longer than a query block
PREFIX_LENS = (0, 5, 40, 9, 3)
EXTEND_LENS = (7, 0, 3, 130, 20)
WINDOW = 8


@pytest.fixture(scope="module")
def inputs():
    return make_inputs(PREFIX_LENS, EXTEND_LENS, heads="4/2", head_dim=64, dtype="fp16",
                       pool="fragmented", pool_slack=11, device=DEVICE)


def _run_with(window_shift=0, unwritten_rows=0):
    """A stand-in for extend_attention_fwd that is wrong in a chosen way."""
    real = kernels.extend_attention_fwd

    def wrong(*args, sliding_window_size, **kwargs):
        window = sliding_window_size + window_shift if sliding_window_size > 0 else sliding_window_size
        real(*args, sliding_window_size=window, **kwargs)
        if unwritten_rows:
            args[3][-unwritten_rows:] = float("nan")
    return wrong


@pytest.mark.parametrize("variant", ["baseline", "cg_stages2"])
@pytest.mark.parametrize("window", [-1, WINDOW])
def test_check_variant_passes_a_correct_variant(inputs, variant, window):
    error = harness.check_variant(inputs, variant, window, sequences=range(len(EXTEND_LENS)))
    assert error < harness.TOLERANCES[torch.float16] / 4


def test_check_variant_raises_on_a_wrong_window(inputs, monkeypatch):
    monkeypatch.setattr(kernels, "extend_attention_fwd", _run_with(window_shift=1))
    with pytest.raises(harness.VariantIncorrect, match=r"'cg' at window=8: over the torch.float16") as wrong:
        harness.check_variant(inputs, "cg", WINDOW)
    assert wrong.value.error > 10 * harness.TOLERANCES[torch.float16]


def test_check_variant_raises_on_unwritten_rows(inputs, monkeypatch):
    monkeypatch.setattr(kernels, "extend_attention_fwd", _run_with(unwritten_rows=1))
    # the last row belongs to the last sequence: check only the first, so only the NaN scan can see it
    with pytest.raises(harness.VariantIncorrect, match="1 of 160 output rows hold NaN"):
        harness.check_variant(inputs, "baseline", -1, sequences=[0])


def test_check_variant_poisons_the_output_first(inputs, monkeypatch):
    harness.check_variant(inputs, "baseline", -1)  # leaves right answers in the output
    monkeypatch.setattr(kernels, "extend_attention_fwd", lambda *args, **kwargs: None)
    with pytest.raises(harness.VariantIncorrect, match="160 of 160 output rows hold NaN"):
        harness.check_variant(inputs, "baseline", -1)


def test_check_variant_rejects_bad_arguments(inputs):
    with pytest.raises(ValueError, match="variant='nope'"):
        harness.check_variant(inputs, "nope", -1)
    with pytest.raises(ValueError, match="window=0"):
        harness.check_variant(inputs, "baseline", 0)
    with pytest.raises(ValueError, match="sequences="):
        harness.check_variant(inputs, "baseline", -1, sequences=[len(EXTEND_LENS)])
    reference = harness.reference_for(inputs, WINDOW)
    with pytest.raises(ValueError, match="reference: computed for window=8"):
        harness.check_variant(inputs, "baseline", -1, reference=reference)


def test_default_check_sequences_spread_and_include_the_longest():
    prefix, extend = (1, 2, 900, 4, 5, 6, 7), (3, 0, 2, 3, 3, 400, 3)
    # first, middle and last non-empty sequences (0, 3, 6); the longest extend (5) and context (2)
    assert harness.default_check_sequences(prefix, extend) == (0, 2, 3, 5, 6)
    assert harness.default_check_sequences((1,), (0,)) == ()


def test_reference_slice_matches_the_full_reference(inputs):
    reference = harness.reference_for(inputs, WINDOW, sequences=[4, 2])
    full = kernels.extend_attention_reference(*inputs.reference_args, sliding_window_size=WINDOW)
    torch.testing.assert_close(reference.expected, full[reference.rows], rtol=1e-12, atol=1e-12)
    assert reference.rows.tolist() == list(range(140, 160)) + list(range(7, 10))


def test_timing_needs_cuda(inputs, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NotImplementedError, match="needs a CUDA device"):
        harness.device_times(lambda: None, rep_ms=1, warmup_ms=0)
    with pytest.raises(NotImplementedError, match="needs a CUDA device"):
        harness.measure_point(inputs, -1, ["cg"])


def test_measure_point_reports_a_failed_variant_untimed(inputs, monkeypatch):
    """The bookkeeping of measure_point, with the device timing faked."""
    real, broken = kernels.extend_attention_fwd, _run_with(window_shift=3)
    launched = []

    def cg_broken(*args, config, **kwargs):
        launched.append(config)
        (broken if config == "cg" else real)(*args, config=config, **kwargs)

    fake_seconds = {"baseline": 2e-3, "stages2": 1e-3}
    timed = []

    def fake_time_calls(launches, sequence, flush):
        timed.append(list(sequence))
        return [(name, fake_seconds[name]) for name in sequence]

    monkeypatch.setattr(kernels, "extend_attention_fwd", cg_broken)
    monkeypatch.setattr(harness, "_require_cuda", lambda inputs=None: None)
    monkeypatch.setattr(harness, "l2_flush_buffer", lambda: None)
    monkeypatch.setattr(harness, "_time_calls", fake_time_calls)
    monkeypatch.setattr(harness, "_peak_memory_mb", lambda fn: 0.0)

    results = harness.measure_point(inputs, WINDOW, ["cg", "stages2"], rounds=2, rep_ms=20,
                                    warmup_ms=0)

    assert list(results) == ["baseline", "cg", "stages2"]
    # cg untimed; the estimate, then two passes taking turns call by call, the second pass
    # starting with the other one: baseline's 10 calls (20 ms of 2 ms) and stages2's 20
    estimate, first, second = timed
    assert estimate == ["baseline", "stages2"] * harness.ESTIMATE_REPS
    assert first == ["baseline", "stages2"] * 5 + ["stages2"] * 5
    assert second == ["stages2", "baseline"] * 5 + ["stages2"] * 5
    assert len(results["baseline"].samples) == 10 and len(results["stages2"].samples) == 20
    assert results["stages2"].correct and results["stages2"].speedup_vs_baseline == pytest.approx(2.0)
    assert results["stages2"].tflops == pytest.approx(inputs.cost(WINDOW).flops / 1e-3 / 1e12)
    cg = results["cg"]
    assert not cg.correct and "'cg' at window=8" in cg.failure and cg.error > 5e-3
    assert math.isnan(cg.seconds) and math.isnan(cg.speedup_vs_baseline) and cg.samples == ()


def test_output_fingerprint_sees_every_bit():
    out = torch.randn(40, 4, 64, dtype=torch.float16)
    fingerprint = harness.output_fingerprint(out)
    assert harness.output_fingerprint(out.clone()) == fingerprint
    one_ulp = out.clone()
    one_ulp.view(torch.int16)[17, 2, 5] += 1
    assert harness.output_fingerprint(one_ulp) != fingerprint
    swapped = out[[1, 0, *range(2, 40)]]  # the same values, two rows exchanged
    assert harness.output_fingerprint(swapped) != fingerprint
    with pytest.raises(ValueError, match="out: dtype torch.float32"):
        harness.output_fingerprint(out.float())


def test_measure_point_checks_only_when_untimed(inputs, monkeypatch):
    """timed=False: nothing timed, the peak memory measured all the same."""
    def no_timing(*args, **kwargs):
        raise AssertionError("timed although timed=False")

    monkeypatch.setattr(harness, "_require_cuda", lambda inputs=None: None)
    monkeypatch.setattr(harness, "_time_calls", no_timing)
    monkeypatch.setattr(harness, "_peak_memory_mb", lambda fn: 1.5)
    results = harness.measure_point(inputs, WINDOW, ["cg"], timed=False)
    for result in results.values():
        assert result.correct and result.failure is None and math.isnan(result.seconds)
        assert result.peak_memory_mb == 1.5 and result.samples == ()
    kernels.extend_attention_fwd(*inputs.args, sliding_window_size=WINDOW, config="cg")
    assert results["cg"].fingerprint == harness.output_fingerprint(inputs.o_extend)


def test_a_configuration_the_launcher_refuses_fails_alone(inputs, monkeypatch):
    """A ValueError from the launch (tiles over the chip's shared memory, say) fails that one
    implementation, with the launcher's reason; the point's others are still checked."""
    real = kernels.extend_attention_fwd

    def refuses_cg(*args, config, **kwargs):
        if config == "cg":
            raise ValueError("config.num_stages=3: needs 262144 bytes of shared memory")
        real(*args, config=config, **kwargs)

    monkeypatch.setattr(kernels, "extend_attention_fwd", refuses_cg)
    monkeypatch.setattr(harness, "_require_cuda", lambda inputs=None: None)
    monkeypatch.setattr(harness, "_peak_memory_mb", lambda fn: 0.0)
    results = harness.measure_point(inputs, WINDOW, ["cg", "stages2"], timed=False)
    assert results["stages2"].correct and not results["cg"].correct
    assert "does not launch: config.num_stages=3" in results["cg"].failure


def test_config_override_parses_into_a_launch_config():
    name, config = quick_bench.parse_config_override("default:block_m=64,num_warps=4,q_cache=.cg")
    assert name == "default"
    assert config == dataclasses.replace(kernels.VARIANTS["default"], block_m=64, num_warps=4,
                                         q_cache=".cg")


@pytest.mark.parametrize("text, message", [
    ("default", "expected 'VARIANT:knob=value"),
    ("nope:block_m=64", "expected 'VARIANT:knob=value"),
    ("baseline:num_stages=2", "the baseline"),
    ("cg:blockm=64", "'blockm=64' is not knob=value"),
    ("cg:block_m=big", "block_m needs an integer"),
    ("cg:block_m=48", "config.block_m=48"),
    ("cg:", "no knob=value"),
])
def test_config_override_rejects_bad_text(text, message):
    with pytest.raises(ValueError, match=message) as bad:
        quick_bench.parse_config_override(text)
    assert "--config-override" in str(bad.value)


def test_parse_args_defaults_are_the_pr_matrix():
    options = quick_bench.parse_args([])
    assert options.variants == tuple(kernels.VARIANTS)
    assert options.n_ctx == (1024, 2048, 4096, 8192) and options.windows == (-1, 127, 256, 512)
    assert options.pools == ("contiguous",) and options.overrides == {}
    assert (options.heads, options.head_dim, options.dtype) == ("64/8", 128, "bf16")


def test_parse_args_converts_every_flag():
    options = quick_bench.parse_args(["--variants", "cg,default", "--n-ctx", "2048", "--windows", "-1,64",
                                      "--pool", "both", "--heads", "32/4", "--head-dim", "64",
                                      "--dtype", "fp16", "--config-override", "default:block_n=32"])
    assert options.variants == ("cg", "default") and options.n_ctx == (2048,) and options.windows == (-1, 64)
    assert options.pools == ("contiguous", "fragmented")
    assert options.overrides["default"].block_n == 32


@pytest.mark.parametrize("argv", [["--variants", "cg,nope"], ["--n-ctx", "2k"], ["--windows", "0"],
                                  ["--heads", "64"], ["--pool", "mixed"],
                                  ["--variants", "cg", "--config-override", "default:block_m=64"]])
def test_parse_args_rejects_bad_flags(argv):
    with pytest.raises(SystemExit):
        quick_bench.parse_args(argv)


@pytest.mark.parametrize("tool, argv, flag", [
    ("quick_bench", ["--windows", "-1,x"], "--windows"),
    ("ab_kernels", ["--old", "HEAD", "--variants", "default,nope"], "--variants"),
    ("sweep_blocks", ["--configs", "m64n64w4s2", "--n-ctx", "2k"], "--n-ctx"),
    ("sweep_blocks", ["--configs", "m64x64"], "--configs"),
    ("sweep_blocks", ["--configs", "default,flashinfer-0.7.2-fa3"], "--peers"),
    ("peers_table", ["--pools", "mixed"], "--pools"),
    ("peers_table", ["--providers", ","], "--providers"),
    ("ncu_point", ["--impls", "default,m64x64"], "--impls"),
    ("ncu_point", ["--impls", "default", "--n-ctx", "1024,2048"], "--n-ctx"),
    ("ncu_point", ["--impls", ","], "--impls"),
    ("clock_probe", ["--impls", "default,nobody"], "--impls"),
    ("clock_probe", ["--windows", "-1,127"], "--windows"),
    ("clock_probe", ["--rounds", "0"], "--rounds"),
])
def test_the_tools_name_the_flag_of_a_bad_list(tool, argv, flag, capsys):
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(f"tools.{tool}").parse_args(argv)
    assert stopped.value.code == 2
    assert flag in capsys.readouterr().err


@pytest.mark.parametrize("tool, argv", [
    ("quick_bench", ["--variants", "default", "--n-ctx", "1024"]),
    ("ab_kernels", ["--old", "HEAD", "--variants", "default"]),
    ("sweep_blocks", ["--configs", "default,m192n64w12s3:heads+ws+pe+pg+pq+op+tm", "--windows", "127"]),
    ("ncu_point", ["--impls", "default"]),
    ("clock_probe", ["--impls", "default,flashinfer-0.7.2-fa3"]),
])
def test_a_gpu_tool_without_a_gpu_checks_its_arguments_and_says_what_it_lacks(tool, argv, capsys,
                                                                            monkeypatch):
    # a device job's command, run here first, fails on its arguments or on this line only
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(f"tools.{tool}").main(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == f"{tool}: needs a CUDA device (the arguments are valid)"


def test_the_tools_take_window_lists_that_start_with_a_minus():
    from tools import peers_table
    assert peers_table.parse_args(["--windows", "-1,127", "--n-ctx", "8192"]).windows == (-1, 127)
    assert quick_bench.parse_args(["--windows", "-1"]).windows == (-1,)


def test_table_row_marks_failures_and_geomean_skips_them():
    nan = math.nan
    ok = harness.PointResult(seconds=1e-3, samples=(1e-3,), tflops=100.0, gbps=1.0, speedup_vs_baseline=2.0,
                             peak_memory_mb=0.0, correct=True, error=1e-3)
    bad = harness.PointResult(seconds=nan, samples=(), tflops=nan, gbps=nan, speedup_vs_baseline=nan,
                              peak_memory_mb=nan, correct=False, error=0.3, failure="wrong")
    points = [quick_bench.Point(1024, -1, "contiguous", {"cg": ok, "stages2": bad}),
              quick_bench.Point(2048, -1, "contiguous", {"cg": dataclasses.replace(ok, speedup_vs_baseline=0.5),
                                                         "stages2": ok})]
    assert quick_bench.table_row(points[0]) == "| 1024 | -1 | contiguous | 1.000 · 100 · 2.00× | FAIL (err 0.3) |"
    geomeans = quick_bench.geomean_speedups(points)
    assert geomeans["cg"] == (pytest.approx(1.0), 2) and geomeans["stages2"] == (pytest.approx(2.0), 1)



def test_harness_defines_nothing_asv_would_take_for_a_benchmark():
    # asv imports every module under benchmarks/ and runs each free function named like these
    prefixes = ("time_", "timeraw_", "mem_", "peakmem_", "track_")
    assert [name for name in vars(harness) if name.startswith(prefixes)] == []


def test_sweep_takes_variants_peers_and_a_chosen_baseline():
    from tools import sweep_blocks
    args = sweep_blocks.parse_args(["--configs", "default,m128n64w8s3:heads+ws"])
    assert args.baseline == "baseline" and list(args.configs) == ["baseline", "default", "m128n64w8s3:heads+ws"]
    assert args.configs["default"] == "default" and args.peers == ()
    peer = "flashinfer-0.7.2-fa3"
    args = sweep_blocks.parse_args(["--configs", "default", "--peers", peer, "--baseline", peer])
    assert list(args.configs) == ["default"] and args.peers == (peer,)
    with pytest.raises(SystemExit):
        sweep_blocks.parse_args(["--configs", "default", "--baseline", "nobody"])
    with pytest.raises(SystemExit):
        sweep_blocks.parse_args(["--configs", "default", "--peers", "nobody"])


def test_sweep_says_which_row_each_variant_runs_at_a_point():
    """`default` takes its short row at n_ctx 4096 (extends under 2048) and its long row at
    8192: a sweep's speedups over it compare with that row (session 22 found session 21's
    0.90x at 2048 measured against the short row)."""
    from tools import sweep_blocks
    configs = sweep_blocks.parse_configs("default,baseline,m128n128w8s3:heads+ws")
    short = max(workloads.pr_lengths(4096)[1])
    long_ = max(workloads.pr_lengths(8192)[1])
    assert sweep_blocks.variant_rows(configs, short, -1) == \
        "variants' rows here: default short, baseline short"
    assert sweep_blocks.variant_rows(configs, long_, -1).endswith("default long, baseline long")
    assert sweep_blocks.variant_rows(configs, long_, 127).endswith("default windowed, baseline windowed")
    assert sweep_blocks.variant_rows(sweep_blocks.parse_configs("m128n128w8s3:heads+ws"),
                                     long_, -1) == ""


def test_sweep_names_a_row_of_the_sm90_table_by_its_shape_class():
    """`row:SHAPE` is TUNED_BLOCKS' row at the sweep's head dim, whatever the point: a sweep
    can time every row at every point, or take one row as the baseline everywhere."""
    from tools import sweep_blocks
    rows = sweep_blocks.parse_configs("row:windowed,row:short,row:long", 64)
    assert rows == {f"row:{shape}": ea.TUNED_BLOCKS[64, shape] for shape in ea.SHAPE_CLASSES}
    assert len({rows["row:windowed"], rows["row:short"], rows["row:long"]}) == 3
    args = sweep_blocks.parse_args(["--configs", "row:windowed", "--baseline", "row:long",
                                    "--head-dim", "256"])
    assert args.configs == {"row:long": ea.TUNED_BLOCKS[256, "long"],
                            "row:windowed": ea.TUNED_BLOCKS[256, "windowed"]}
    with pytest.raises(SystemExit):
        sweep_blocks.parse_args(["--configs", "row:long", "--baseline", "row:wide"])
    for bad, why in (("row:huge", "row:windowed, row:short, row:long"),
                     ("row:long", "no row at head dim None")):
        with pytest.raises(ValueError, match=why):
            sweep_blocks.parse_configs(bad)


def test_ncu_point_runs_variants_as_configurations_and_the_rest_as_providers():
    from tools import ncu_point
    peer = "flashinfer-0.7.2-fa3"
    args = ncu_point.parse_args(["--impls", f"{peer},default,m128n128w8s3:heads+ws+pg", "--windows", "-1"])
    assert args.order == [peer, "default", "m128n128w8s3:heads+ws+pg"]
    assert list(args.configs) == ["default", "m128n128w8s3:heads+ws+pg"] and args.peers == (peer,)
    assert ncu_point.parse_args(["--impls", peer]).configs == {}
    # a row of the sm_90 table at the point's head dim, as tools.sweep_blocks reads it
    rows = ncu_point.parse_args(["--impls", "row:windowed", "--head-dim", "64", "--windows", "-1"])
    assert rows.configs == {"row:windowed": ea.TUNED_BLOCKS[64, "windowed"]}
    with pytest.raises(SystemExit):
        ncu_point.parse_args(["--impls", "row:wide", "--windows", "-1"])


NCU_REPORT = """\
==PROF== Connected to process 470 (/usr/bin/python3.12)
ncu_point: default at 64/8 D=128 bf16 n_ctx=8192 window=-1 contiguous: relative error 2e-03; profiled call next
==PROF== Profiling "_extend_attention_ws_kernel" - 0: 0%....50%....100% - 8 passes
ncu_point: two-kernels at 64/8 D=128 bf16 n_ctx=8192 window=-1 contiguous: relative error 2e-03; profiled call next
==PROF== Profiling "plan" - 1: 0%....50%....100% - 8 passes
==PROF== Profiling "prefill" - 2: 0%....50%....100% - 8 passes
==PROF== Disconnected from process 470
  _extend_attention_ws_kernel (63232, 1, 1)x(384, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    Section: Command line profiler metrics
    Metric Name                                                  Metric Unit Metric Value
    gpu__time_duration.sum                                                ms    1,015.70
    smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio     inst        1.38
    smsp__average_warps_issue_stalled_wait_per_issue_active.ratio        inst        1.76
    smsp__average_warps_issue_stalled_sleeping_per_issue_active.ratio    inst           0
  plan (1, 1, 1)x(32, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    Section: Command line profiler metrics
    smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio     inst        0.01
  prefill (132, 1, 1)x(384, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    Section: Launch Statistics
    Block Size                                                                       384
    Section: Command line profiler metrics
    smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio     inst        0.22
    smsp__average_warps_issue_stalled_wait_per_issue_active.ratio        inst        1.42
==PROF== Connected to process 471 (/usr/bin/python3.12)
ncu_point: default at 64/8 D=128 bf16 n_ctx=2048 window=-1 contiguous: relative error 2e-03; profiled call next
==PROF== Profiling "_extend_attention_ws_kernel" - 0: 0%....50%....100% - 8 passes
  _extend_attention_ws_kernel (132, 1, 1)x(384, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    smsp__average_warps_issue_stalled_wait_per_issue_active.ratio        inst        1.46
"""


def test_clock_probe_times_each_implementation_alone_and_all_of_them_in_turns(monkeypatch):
    from tools import clock_probe
    args = clock_probe.parse_args(["--impls", "default,flashinfer-0.7.2-fa3"])
    assert args.order == ["default", "flashinfer-0.7.2-fa3"] and args.peers == ("flashinfer-0.7.2-fa3",)
    timed = []
    monkeypatch.setattr(clock_probe, "spaced_samples", lambda call: timed.append(("spaced", call())) or [1.0])
    monkeypatch.setattr(harness, "device_times", lambda call: timed.append(("back", call())) or [2.0])
    monkeypatch.setattr(harness, "timed_in_turns",
                        lambda launches: timed.append(("turns", tuple(launches))) or {n: [3.0] for n in launches})
    calls = {"a": lambda: "a", "b": lambda: "b"}
    for load, expected in ((clock_probe.SPACED, [("a",), ("b",)]), (clock_probe.BACK_TO_BACK, [("b",), ("a",)]),
                           (clock_probe.IN_TURNS, [("b", "a")])):
        order = [name for names in expected for name in names]
        schedule = clock_probe.timings(load, order, calls)
        assert [names for names, _ in schedule] == expected
        for names, timing in schedule:
            assert set(timing()) == set(names)
    assert timed == [("spaced", "a"), ("spaced", "b"), ("back", "b"), ("back", "a"), ("turns", ("b", "a"))]


def test_the_one_point_tools_check_every_implementation_before_anything_else(inputs, monkeypatch):
    from tools import ncu_point, sweep_blocks
    args = ncu_point.parse_args(["--impls", "baseline,cg", "--windows", str(WINDOW), "--n-ctx", "1024",
                                 "--heads", "4/2", "--head-dim", "64", "--dtype", "fp16"])
    assert (args.n_ctx, args.window) == (1024, WINDOW)
    monkeypatch.setattr(sweep_blocks.workloads, "make_inputs", lambda *shape, **kwargs: inputs)
    _, prepared, errors = sweep_blocks.checked_point(args)
    assert list(prepared) == ["baseline", "cg"] and all(error < 1e-2 for error in errors.values())
    monkeypatch.setattr(kernels, "extend_attention_fwd", _run_with(window_shift=1))
    with pytest.raises(harness.VariantIncorrect, match="baseline"):
        sweep_blocks.checked_point(args)


def test_clock_probe_speedups_are_the_median_over_rounds_of_the_first_ones():
    from tools.clock_probe import speedups
    medians = {(0, "spaced"): {"a": 1.0, "b": 1.1}, (1, "spaced"): {"b": 2.6, "a": 2.0},
               (2, "spaced"): {"a": 1.0, "b": 1.0}, (0, "in turns"): {"a": 1.0, "b": 0.9, "c": 2.0}}
    assert speedups(medians, "a") == {"spaced": {"b": pytest.approx(1.1)}, "in turns": {"b": 0.9, "c": 2.0}}


def test_clock_probe_without_nvml_times_all_the_same(monkeypatch):
    from tools import clock_probe
    with pytest.raises(clock_probe.NvmlUnavailable, match="libnvml-nowhere.so"):
        clock_probe.Board("libnvml-nowhere.so")
    assert clock_probe.metered(None, lambda: {"a": [1.0]}) == ({"a": [1.0]}, "n/a", "n/a", "n/a")


def test_ncu_stalls_names_each_kernel_by_its_implementation_and_sorts_the_stalls(tmp_path, capsys):
    from tools import ncu_stalls
    first, second = ncu_stalls.parse(NCU_REPORT)
    assert [kernel.label for kernel in first] == ["default", "two-kernels (plan)", "two-kernels (prefill)"]
    assert first[0].metrics["gpu__time_duration.sum"] == 1015.70
    assert "Block" not in first[2].metrics  # a --section's rows are not metrics
    assert [kernel.label for kernel in second] == ["default"]
    rows = ncu_stalls.table(first, minimum=0.05).splitlines()
    # largest stall first; sleeping (0 everywhere) left out; the other metrics after the stalls
    assert [row.split(" | ")[0] for row in rows[2:]] == ["| wait", "| barrier", "| gpu__time_duration.sum"]
    assert rows[2] == "| wait | 1.76 | – | 1.42 |"
    report = tmp_path / "ncu.txt"
    report.write_text(NCU_REPORT)
    assert ncu_stalls.main([str(report)]) == 0 and capsys.readouterr().out.count("| metric |") == 2
    report.write_text("==PROF== Connected to process 1\nno kernel profiled\n")
    assert ncu_stalls.main([str(report)]) == 2
    assert str(report) in capsys.readouterr().err
    assert ncu_stalls.main([str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_sweep_configs_parse_into_launch_configs():
    from tools import sweep_blocks
    configs = sweep_blocks.parse_configs("m128n32w4s3,m64n64w8s1")
    assert configs["m128n32w4s3"] == kernels.LaunchConfig(block_m=128, block_n=32, num_warps=4, num_stages=3)
    args = sweep_blocks.parse_args(["--configs", "m64n64w4s2", "--windows", "-1,127", "--n-ctx", "1024,2048"])
    assert args.windows == (-1, 127) and args.n_ctx == (1024, 2048)
    with pytest.raises(ValueError, match="m64x64"):
        sweep_blocks.parse_configs("m64x64")
    with pytest.raises(ValueError, match="block_m"):
        sweep_blocks.parse_configs("m48n64w4s2")
    ordered = sweep_blocks.parse_configs("m64n64w4s2:sequences")["m64n64w4s2:sequences"]
    assert ordered.grid_order == "sequences"
    prefetched = sweep_blocks.parse_configs("m64n64w4s2:heads+pf")["m64n64w4s2:heads+pf"]
    assert prefetched.prefetch_indices and prefetched.grid_order == "heads"
    capped = sweep_blocks.parse_configs("m128n32w8s3+r128")["m128n32w8s3+r128"]
    assert capped.max_registers == 128 and capped.prefetch_indices is None
    assert capped.overlap_softmax is None
    overlapped = sweep_blocks.parse_configs("m128n64w8s3:heads+pf+ov")["m128n64w8s3:heads+pf+ov"]
    assert overlapped.overlap_softmax and overlapped.prefetch_indices
    specialized = sweep_blocks.parse_configs("m128n128w8s3:heads+ws")["m128n128w8s3:heads+ws"]
    assert specialized.warp_specialize and not specialized.overlap_softmax
    assert specialized.persistent is None
    persistent = sweep_blocks.parse_configs("m128n64w8s4:heads+pf+ws+pe")["m128n64w8s4:heads+pf+ws+pe"]
    assert persistent.warp_specialize and persistent.persistent and persistent.prefetch_indices
    overlapped_pv = sweep_blocks.parse_configs("m128n64w8s4:heads+ws+pe+pg+pq+op")
    assert overlapped_pv["m128n64w8s4:heads+ws+pe+pg+pq+op"].overlap_pv
    assert persistent.overlap_pv is None and persistent.dynamic_items is None
    dynamic = sweep_blocks.parse_configs("m128n64w8s4:heads+pf+ws+pe+pg+pq+di")
    assert dynamic["m128n64w8s4:heads+pf+ws+pe+pg+pq+di"].dynamic_items
    with pytest.raises(ValueError, match="max_registers"):
        sweep_blocks.parse_configs("m128n32w8s3+r300")
    with pytest.raises(ValueError, match="grid_order"):
        sweep_blocks.parse_configs("m64n64w4s2:diagonal")


def test_ab_kernels_checks_another_commits_kernel_with_the_same_harness():
    from tools import ab_kernels
    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], capture_output=True,
                           text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__))).stdout.split()[0]
    old = ab_kernels.load_kernel_at(first)
    # HEAD's kernel imports its sibling modules (the Gluon kernels): the whole package loads
    head = ab_kernels.load_kernel_at("HEAD")
    assert head.__name__ == "kernels_at_HEAD.extend_attention" and head is not kernels.extend_attention
    inputs = make_inputs((9, 30), (12, 5), heads="4/2", head_dim=64, dtype="fp16", device=DEVICE)
    for fwd in (old.extend_attention_fwd, head.extend_attention_fwd, kernels.extend_attention_fwd):
        assert harness.check_variant(inputs, "default", 7, fwd=fwd) < harness.TOLERANCES[torch.float16]
    with pytest.raises(ValueError, match="--old 'no-such-rev'"):
        ab_kernels.load_kernel_at("no-such-rev")
    with pytest.raises(ValueError, match="--new 'no-such-rev'"):
        ab_kernels.load_kernel_at("no-such-rev", "--new")
    args = ab_kernels.parse_args(["--old", first, "--windows", "-1,127", "--variants", "baseline"])
    assert args.windows == (-1, 127) and args.variants == ("baseline",)
    assert args.new is None and ab_kernels.parse_args(["--old", first, "--new", "HEAD"]).new == "HEAD"


NCU_SOURCE_PAGE = """\
"Kernel Name","_extend_attention_ws_kernel",
"Address","Source","Warp Stall Sampling (All Samples)","Warp Stall Sampling (Not-issued Samples)","stall_barrier","stall_wait","stall_selected","stall_wait (Not Issued)"
"0x7f00a0","      UIADD3 UR11, UR44, UR58, URZ","10","8","0","8","2","8"
"0x7f00b0","      FMNMX R9, R24, R25, !PT","30","25","0","25","5","25"
"0x7f00c0","      FMNMX R8, R9, R28, !PT","20","15","0","15","5","15"
"0x7f00d0","@!P0  BRA 0x7f00a0","40","40","40","0","0","0"
"Kernel Name","another_kernel",
"Address","Source","Warp Stall Sampling (All Samples)","stall_wait"
"0x10","      EXIT","5","5"
"""


def test_ncu_source_sums_samples_by_opcode_over_an_address_range(tmp_path, capsys):
    import gzip
    from tools import ncu_source
    instructions = ncu_source.parse(NCU_SOURCE_PAGE)
    # the first kernel only, offsets from its first instruction, predicates stripped off opcodes
    assert [(i.offset, i.opcode, i.samples) for i in instructions] == [
        (0x0, "UIADD3", 10), (0x10, "FMNMX", 30), (0x20, "FMNMX", 20), (0x30, "BRA", 40)]
    assert instructions[1].stalls == {"barrier": 0, "wait": 25, "selected": 5}  # not-issued columns left out
    rows = ncu_source.table(instructions[1:], by="opcode", top=5).splitlines()
    assert rows[0].startswith("90 samples over 3 instructions, 0x10–0x30")
    assert rows[4] == "| FMNMX | 2 | 55.6% | wait 44.4%, selected 11.1% |"
    assert rows[5] == "| BRA | 1 | 44.4% | barrier 44.4% |"
    page = tmp_path / "source.csv.gz"
    with gzip.open(page, "wt") as f:
        f.write(NCU_SOURCE_PAGE)
    assert ncu_source.main([str(page), "--start", "0x10", "--end", "0x30", "--by", "instruction"]) == 0
    out = capsys.readouterr().out
    assert "| 0x10 FMNMX R9, R24, R25, !PT | 60.0% | wait 50.0%, selected 10.0% |" in out and "BRA" not in out
    with pytest.raises(SystemExit):  # a range that holds no instruction: argparse's error
        ncu_source.main([str(page), "--start", "0x100"])
    broken = tmp_path / "report.txt"
    broken.write_text("==PROF== not a source page\n")
    assert ncu_source.main([str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err
