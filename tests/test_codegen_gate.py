"""The codegen gate: the occupancy arithmetic, the rules, the baseline file, and a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import triton

from ci import codegen_gate as cg
from kernels import SUPPORTED_HEAD_DIMS, VARIANTS
from kernels import extend_attention as ea

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "ci" / "codegen_gate.py"


def entry(registers=200, num_warps=8, shared_bytes=50176, stack_bytes=0, ld_global_cg=0, ld_global=36):
    return dict(registers=registers, num_warps=num_warps, shared_bytes=shared_bytes,
                stack_bytes=stack_bytes, ld_global_cg=ld_global_cg, ld_global=ld_global)


# ---------------------------------------------------------------- occupancy on sm_90

@pytest.mark.parametrize("registers, num_warps, warps", [
    (255, 8, 8),  # 255 -> 256 per thread, 8192 per warp: 8 warps fit, one block of 8
    (128, 4, 16),  # 4096 per warp: 16 warps, 4 blocks of 4
    (129, 4, 12),  # 136 per thread after rounding: 4352 per warp, 15 warps -> 3 blocks
    (64, 8, 32),
    (32, 4, 64),  # the 64-warp ceiling
    (24, 1, 32),  # the 32-block ceiling
    (168, 8, 8),  # 12 warps fit, but only one block of 8
])
def test_resident_warps_by_registers(registers, num_warps, warps):
    assert cg.register_warps(entry(registers, num_warps)) == warps
    assert cg.resident_warps(entry(registers, num_warps, shared_bytes=0)) == warps


@pytest.mark.parametrize("shared_bytes, blocks", [
    (0, 228), (100_000, 2), (113_664, 2), (115_713, 1), (164_864, 1), (232_448, 1), (232_449, 0),
])
def test_blocks_by_shared_memory(shared_bytes, blocks):
    # 228 KiB per SM, 1 KiB reserved per block, allocated in 128-byte units
    assert cg.blocks_by_shared(shared_bytes) == blocks


def test_occupancy_is_the_tightest_limit():
    assert cg.resident_warps(entry(64, 4, shared_bytes=100_000)) == 8  # shared: 2 blocks
    assert cg.resident_warps(entry(255, 4, shared_bytes=0)) == 8  # registers: 2 blocks


# ---------------------------------------------------------------- the rules

def failures(variant, old, new):
    return cg.compare(cg.Case(variant, 128), old, new).failures


def test_spills_appearing_or_growing_fail():
    assert "stack 0 → 8 bytes" in failures("baseline", entry(), entry(stack_bytes=8))[0]
    assert "stack 152 → 224 bytes" in failures("cg", entry(stack_bytes=152), entry(stack_bytes=224))[0]
    shrunk = cg.compare(cg.Case("cg", 256), entry(stack_bytes=224), entry(stack_bytes=152))
    assert not shrunk.failures and "--update" in shrunk.notes[0]


def test_registers_fail_only_when_crossing_an_occupancy_step():
    assert not failures("baseline", entry(236), entry(255))  # 8 warps/SM either way
    (message,) = failures("baseline", entry(128, 4), entry(129, 4))
    assert message == ("occupancy dropped from 16 to 12 warps/SM: registers 128 → 129 per thread "
                       "(16 → 12 warps/SM by registers)")
    assert not failures("baseline", entry(129, 4), entry(128, 4))


def test_shared_memory_crossing_an_occupancy_step_fails():
    (message,) = failures("stages2", entry(64, 4, shared_bytes=100_000),
                          entry(64, 4, shared_bytes=120_000))
    assert message.startswith("occupancy dropped from 8 to 4 warps/SM: shared memory 100000 → 120000")


def test_a_step_that_another_limit_hides_is_noted_not_failed():
    # shared memory holds this kernel at 8 warps/SM whatever the registers do
    finding = cg.compare(cg.Case("stages2", 128), entry(128, 4, shared_bytes=100_000),
                         entry(129, 4, shared_bytes=100_000))
    assert not finding.failures
    assert finding.notes == ("registers 128 → 129 per thread (16 → 12 warps/SM by registers), "
                             "hidden by another limit: occupancy stays 8 warps/SM",)


def test_an_occupancy_drop_of_a_persistent_configuration_is_noted_not_failed():
    # `default` at head dim 128 runs the persistent warp-specialized kernel on sm_90: one program
    # per SM, so fewer resident blocks cost nothing (step 17 moved a row there: 16 -> 12 warps/SM)
    persistent = cg.Case("default", 128)
    assert cg.resolve_config("default", 128, "long", arch=cg.SM90).persistent
    finding = cg.compare(persistent, entry(128, 4), entry(129, 4))
    assert not finding.failures
    assert finding.notes == ("occupancy dropped from 16 to 12 warps/SM: registers 128 → 129 per thread "
                             "(16 → 12 warps/SM by registers); not a failure: a persistent grid runs "
                             "one program per SM",)
    # the same drop elsewhere, on `default` as it runs off sm_90, or on the `tl` kernel, fails
    assert failures("baseline", entry(128, 4), entry(129, 4))
    assert not cg.resolve_config("default", 128, "long", arch=80).persistent


def test_cg_vanishing_from_a_variant_that_asks_for_it_fails():
    assert cg.asks_for_cg("cg") and cg.asks_for_cg("cg_stages2") and not cg.asks_for_cg("stages2")
    (message,) = failures("cg", entry(ld_global_cg=8), entry(ld_global_cg=0))
    assert "ld.global.cg 8 → 0" in message
    assert failures("cg", entry(ld_global_cg=16), entry(ld_global_cg=8))  # fewer also fails
    assert not failures("baseline", entry(ld_global_cg=8), entry(ld_global_cg=0))  # never asked


def test_a_pipelined_cg_variant_without_ld_global_cg_is_reported_not_failed():
    finding = cg.compare(cg.Case("cg_stages2", 128), entry(ld_global_cg=0), entry(ld_global_cg=0))
    assert not finding.failures
    assert finding.notes == ("asks for .cg but carries no ld.global.cg (pipelined into cp.async.cg)",)


def test_new_variants_and_compile_errors():
    new = cg.compare(cg.Case("cg", 128, shape="windowed"), None, entry())
    assert not new.failures and "not in the baseline" in new.notes[0]
    broken = cg.compare(cg.Case("cg", 128), entry(), None, "out of resources")
    assert broken.failures == ("does not compile: out of resources",)


def test_the_report_is_a_readable_diff():
    findings = [cg.compare(cg.Case("cg", 128), entry(236, ld_global_cg=8), entry(249, ld_global_cg=0)),
                cg.compare(cg.Case("stages2", 64, "windowed"), entry(), entry())]
    text = cg.report(findings, cg.toolchain())
    assert "| cg | 128 | none | sm_90 | 236 → 249 | 8 | 8 | 0 | 50176 | 8 → 0 | **FAIL** |" in text
    assert "| stages2 | 64 | sliding | sm_90 | 200 | 8 | 8 | 0 | 50176 | 0 | ok |" in text
    assert "- **FAIL** cg head_dim 128: ld.global.cg 8 → 0" in text
    assert text.rstrip().endswith("**FAIL**: 1 of 2 compiles regressed.")
    assert "written with" in cg.report(findings, {"triton": "0.0"})  # a compiler change is named


# ---------------------------------------------------------------- the baseline file

def test_the_checked_in_baseline_covers_every_variant_head_dim_window_and_target():
    data = cg.load_baseline(cg.BASELINE_PATH)
    assert set(data["variants"]) == set(VARIANTS)
    for variant in VARIANTS:
        assert set(data["variants"][variant]) == {case.key for case in cg.selection([variant], [], [])}
        # long extends and a window everywhere; short extends only where they get other blocks
        # (on sm_90 `default`'s at head dim 64, three consumer warpgroups since step 18; head
        # dims 128 and 256 run one row since steps 30 and 31)
        short = {f"{head_dim}-short" for head_dim in SUPPORTED_HEAD_DIMS
                 if ea.resolve_config(variant, head_dim, "short", arch=ea.SM90)
                 != ea.resolve_config(variant, head_dim, "long", arch=ea.SM90)}
        assert short == ({"64-short"} if variant == "default" else set())
        assert {key for key in data["variants"][variant] if "-sm" not in key} == short | {
            f"{head_dim}{window}" for head_dim in SUPPORTED_HEAD_DIMS for window in ("", "-window")}
    # `default` also as it runs on the other GPUs, where its D=128 short row has other blocks
    for arch in (80, 100):
        keys = {key for key in data["variants"]["default"] if key.endswith(f"-sm{arch}")}
        assert keys == {"64-sm%d" % arch, "64-window-sm%d" % arch, "128-sm%d" % arch,
                        "128-short-sm%d" % arch, "128-window-sm%d" % arch, "256-sm%d" % arch,
                        "256-window-sm%d" % arch}
    assert data["toolchain"] == cg.toolchain()
    # the finding the baseline records: pipelining drops .cg from the PTX
    for case in cg.selection(["cg", "cg_stages2"], [], []):
        count = cg.baseline_entry(data, case)["ld_global_cg"]
        assert count > 0 if case.variant == "cg" else count == 0


@pytest.mark.parametrize("content, message", [
    (None, "no codegen baseline"),
    ("{", "corrupt codegen baseline"),
    ("[]", "no 'variants' object"),
    ('{"variants": {"cg": {"128": {"registers": "many"}}}}', "needs integer"),
    ('{"variants": {"cg": {"128": {"registers": -1, "stack_bytes": 0, "shared_bytes": 0, '
     '"ld_global_cg": 0, "ld_global": 0, "num_warps": 4}}}}', "needs integer"),
])
def test_a_missing_or_corrupt_baseline_exits_2(tmp_path, capsys, content, message):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    assert cg.main(["--baseline", str(path)]) == cg.EXIT_ERROR
    err = capsys.readouterr().err
    assert message in err and str(path) in err


# ---------------------------------------------------------------- a real run (compiles for sm_90)

def run_gate(*args):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    command = [sys.executable, str(SCRIPT), "--variant", "cg", "--variant", "cg_stages2",
               "--head-dim", "128", "--window", "none", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)


def test_update_then_gate_then_catch_a_tampered_baseline(tmp_path):
    baseline = tmp_path / "baseline.json"
    done = run_gate("--update", "--baseline", str(baseline))
    assert done.returncode == 0, done.stderr
    data = json.loads(baseline.read_text())
    assert set(data["variants"]) == {"cg", "cg_stages2"} and set(data["variants"]["cg"]) == {"128"}
    assert data["toolchain"]["triton"] == triton.__version__

    # an update of a subset keeps the other cases the gate compiles and drops those it no
    # longer does (the short class of a variant whose short and long blocks are one)
    kept = dict(data["variants"]["cg"]["128"])
    data["variants"]["cg"].update({"64": kept, "128-short": kept})
    baseline.write_text(json.dumps(data))
    done = run_gate("--update", "--baseline", str(baseline))
    assert done.returncode == 0, done.stderr
    data = json.loads(baseline.read_text())
    assert set(data["variants"]["cg"]) == {"64", "128"}

    done = run_gate("--baseline", str(baseline))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cg_stages2 head_dim 128: asks for .cg but carries no ld.global.cg" in done.stdout

    # a baseline that had more .cg loads, fewer registers and less shared memory than now
    cg_128 = data["variants"]["cg"]["128"]
    cg_128.update(ld_global_cg=cg_128["ld_global_cg"] + 4, registers=64)
    data["variants"]["cg_stages2"]["128"].update(registers=64, shared_bytes=40_000)
    baseline.write_text(json.dumps(data))
    done = run_gate("--baseline", str(baseline))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "- **FAIL** cg head_dim 128: occupancy dropped" in done.stdout
    assert "- **FAIL** cg head_dim 128: ld.global.cg" in done.stdout
    (line,) = [line for line in done.stdout.splitlines() if "FAIL** cg_stages2" in line]
    assert "occupancy dropped" in line and "registers 64 →" in line and "shared memory 40000 →" in line


# ---------------------------------------------------------------- the other targets

def test_only_default_compiles_for_the_other_targets_and_a_case_names_its_target():
    other = [case for case in cg.selection([], [], []) if case.arch != cg.SM90]
    assert other and {case.variant for case in other} == {"default"}
    assert {case.arch for case in other} == {80, 100}
    case = cg.Case("default", 128, "short", 80)
    assert case.key == "128-short-sm80" and str(case) == "default head_dim 128 short sm_80"
    assert cg.Case("default", 128).key == "128" and str(cg.Case("default", 128)) == "default head_dim 128"


def test_a_case_that_outgrows_its_targets_shared_memory_fails_with_or_without_a_baseline():
    limit = cg.MAX_SHARED_BYTES[80]
    case = cg.Case("default", 256, arch=80)
    (message,) = cg.compare(case, entry(shared_bytes=limit), entry(shared_bytes=limit + 1)).failures
    assert message == f"needs {limit + 1} bytes of shared memory per block; sm_80 GPUs may have {limit}"
    assert cg.compare(case, None, entry(shared_bytes=limit + 1)).failures == (message,)
    assert cg.check_without_baseline(case, entry(shared_bytes=limit + 1)).failures == (message,)
    assert not cg.check_without_baseline(case, entry(shared_bytes=limit)).failures
    assert cg.check_without_baseline(case, None, "boom").failures == ("does not compile: boom",)


def test_occupancy_is_judged_on_sm90_only():
    # sm_90's occupancy arithmetic does not hold on other GPUs: a register step there is no failure
    assert not cg.compare(cg.Case("default", 256, arch=100), entry(128, 4), entry(129, 4)).failures
    # the upstream variants run the `tl` kernel on sm_90 too (not persistent)
    assert cg.compare(cg.Case("baseline", 256), entry(128, 4), entry(129, 4)).failures
    text = cg.report([cg.compare(cg.Case("default", 64, "windowed", 80), entry(), entry())], cg.toolchain())
    assert "| default | 64 | sliding | sm_80 | 200 | – | – | 0 | 50176 | 0 | ok |" in text


def test_the_gate_without_a_baseline_compiles_and_checks_the_fit(tmp_path):
    done = run_gate("--without-baseline", "--baseline", str(tmp_path / "absent.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no baseline: compiles and fits" in done.stdout and "**PASS**: 0 of 2" in done.stdout
