"""The peers' plumbing (benchmarks/providers/, peers_grid.py, bench_peers.py) without a GPU.

The Triton providers (ours, SGLang's by release and form) run under the interpreter on tiny
fp16 inputs and are checked against the float64 reference as the suite checks them; SGLang's
files are fetched by ci/test.sh (ci/fetch_providers.sh --sglang-only). FlashInfer and the dense
bound need a GPU: here they must say so, and their points must be skipped with that reason.
"""

import importlib
import io
import math
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap

import pytest
import torch

import kernels
from benchmarks import harness, peers_grid, workloads
from benchmarks.providers import USER_PROVIDERS_ENV, PROVIDERS, fetched, load_providers
from benchmarks.providers.base import PeerPoint, Provider, ProviderUnavailable
from benchmarks.providers.sglang import SGLangKernel, last_prefix_rows
from conftest import DEVICE, HAS_CUDA

PREFIX_LENS = (0, 5, 40, 9)
EXTEND_LENS = (7, 0, 3, 70)
WINDOW = 8
TRITON_PROVIDERS = [name for name in PROVIDERS if name in ("default", "baseline") or name.startswith("sglang")]


@pytest.fixture(scope="module")
def inputs():
    return workloads.make_inputs(PREFIX_LENS, EXTEND_LENS, heads="4/2", head_dim=64, dtype="fp16",
                                 pool="fragmented", pool_slack=5, device=DEVICE)


def test_the_provider_names_outside_checks_read():
    names = list(PROVIDERS)
    assert names[:2] == ["default", "baseline"]
    assert [n for n in names if "sglang" in n] == [
        "sglang-0.5.2", "sglang-0.5.2+cg", "sglang-0.5.2+stages2", "sglang-0.5.2+cg+stages2",
        "sglang-0.5.23", "sglang-0.5.23@server"]
    assert len([n for n in names if "flashinfer" in n]) == 1
    assert [PROVIDERS[n].kind for n in names if "dense" in n] == ["bound"]
    from benchmarks import bench_peers
    assert bench_peers.Peers.param_names == ["n_ctx", "window", "pool", "provider"]
    assert bench_peers.Peers.params == [list(workloads.PR_N_CTX), list(workloads.PR_WINDOWS),
                                        list(workloads.POOLS), names]
    assert bench_peers.PeersHeadDims.param_names == ["n_ctx", "window", "head_dim", "provider"]
    assert bench_peers.PeersHeadDims.params[2] == [64, 128, 256]
    assert bench_peers.PeersHeadDims.params[3] == ["default", "flashinfer-0.7.2-fa3"]


def test_sglang_is_fetched_for_these_tests():
    """ci/test.sh fetches it; a missing fetch fails here rather than skipping the checks below."""
    for release in fetched.SGLANG_RELEASES.values():
        assert fetched.missing_or_changed(release) == ""


@pytest.mark.parametrize("name", TRITON_PROVIDERS)
@pytest.mark.parametrize("window", [-1, WINDOW])
def test_every_triton_provider_is_checked_correct(inputs, name, window):
    provider = PROVIDERS[name]
    assert provider.why_not(PeerPoint(64, "fp16", window)) is None
    error = harness.check_call(inputs, name, window, provider.prepare(inputs, window),
                               sequences=range(len(EXTEND_LENS)))
    assert error < harness.tolerance(torch.float16)


def test_a_wrong_provider_fails_its_check(inputs):
    """The SGLang kernel called with a window one token too wide: the shared check catches it."""
    call = PROVIDERS["sglang-0.5.2"].prepare(inputs, WINDOW + 1)
    with pytest.raises(harness.VariantIncorrect, match="sglang-0.5.2"):
        harness.check_call(inputs, "sglang-0.5.2", WINDOW, call)


def test_the_server_form_passes_only_the_rows_a_window_sees(inputs):
    indptr, indices = last_prefix_rows(inputs, WINDOW)
    kept = [min(p, WINDOW) for p in PREFIX_LENS]
    assert torch.diff(indptr).tolist() == kept
    starts = inputs.kv_indptr.tolist()
    for i, k in enumerate(kept):  # the last k rows of each prefix, in order
        assert torch.equal(indices[indptr[i]:indptr[i + 1]], inputs.kv_indices[starts[i + 1] - k:starts[i + 1]])


def test_each_upstream_knob_edits_the_source_once_or_the_form_is_refused(tmp_path, monkeypatch):
    release = fetched.SGLANG_RELEASES["0.5.2"]
    source = release.path(release.kernel).read_text()
    from benchmarks.providers import sglang
    assert sglang._edited_source(release, "cg").count('cache_modifier=".cg"') == \
        source.count('cache_modifier=".cg"') + 2
    assert "num_stages = 2\n" in sglang._edited_source(release, "stages2")
    # a release whose source moved: the edit no longer matches once, the form is not measured
    moved = tmp_path / f"sglang-{release.version}" / release.kernel
    moved.parent.mkdir(parents=True)
    moved.write_text(source.replace("num_stages = 1", "num_stages = pick_stages()"))
    monkeypatch.setattr(fetched, "PROVIDERS_DIR", tmp_path)
    monkeypatch.setitem(release.sha256, release.kernel, fetched.sha256_of(moved))
    assert "matches 0 times" in SGLangKernel("0.5.2", "stages2").unavailable()
    assert SGLangKernel("0.5.2", "shipped").unavailable() is None
    # a file that is not the pinned one is refused by its sha256
    monkeypatch.setitem(release.sha256, release.kernel, "0" * 64)
    assert "sha256 differs" in SGLangKernel("0.5.2").unavailable()
    shutil.rmtree(tmp_path / f"sglang-{release.version}")
    assert "is not fetched" in SGLangKernel("0.5.2").unavailable()


def test_flashinfer_unpacks_once_when_processes_start_together(tmp_path):
    """A job per GPU of one host unpacks the carried archive at the same moment: every process
    gets the whole folder. Unlocked, two extractions raced to "File exists" where tarfile
    makes a file's missing folders (the archive, as ci/fetch_providers.sh packs it, holds
    files only)."""
    providers, unpack, flags = tmp_path / "providers", tmp_path / "unpack", tmp_path / "flags"
    providers.mkdir()
    flags.mkdir()
    with tarfile.open(providers / "flashinfer-race.tar.xz", "w:xz") as archive:
        for i in range(2000):
            member = tarfile.TarInfo(f"flashinfer/d{i % 50}/e{i // 50 % 10}/f{i}.h")
            member.size = 0
            archive.addfile(member, io.BytesIO())
    env = {**os.environ, "EXTEND_BENCH_PROVIDERS_DIR": str(providers),
           "EXTEND_BENCH_UNPACK_DIR": str(unpack), "PYTHONPATH": str(fetched.REPO_ROOT)}
    # each process imports, says it is ready, and waits for the others: the unpacks overlap
    unpack_it = textwrap.dedent("""
        import os, sys, time
        from benchmarks.providers import fetched
        open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
        while len(os.listdir(sys.argv[1])) < 6:
            time.sleep(0.001)
        print(fetched.unpack_flashinfer(fetched.FlashInferRelease("race", "", "")))
        """)
    runs = [subprocess.Popen([sys.executable, "-c", unpack_it, str(flags)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(6)]
    results = [run.communicate(timeout=120) + (run.returncode,) for run in runs]
    assert [rc for _, _, rc in results] == [0] * 6, [err for _, err, _ in results]
    site = unpack / "flashinfer-race"
    assert {out.strip() for out, _, _ in results} == {str(site)}
    assert len(list((site / "flashinfer").rglob("*.h"))) == 2000
    assert (site / ".unpacked").read_text() == "race"


@pytest.mark.skipif(HAS_CUDA, reason="on a GPU FlashInfer and the dense bound run (bash ci/gpu_job.sh)")
def test_gpu_only_peers_are_skipped_with_their_reason():
    for name in ("flashinfer-0.7.2-fa3", "dense-fa2-bound"):
        reason = PROVIDERS[name].why_not(PeerPoint(128, "bf16", -1))
        assert reason.startswith("needs a CUDA device")
        with pytest.raises(NotImplementedError, match="needs a CUDA device"):
            peers_grid.point_result({"points": {(1024, -1): {name: {"skipped": reason}}}}, (1024, -1), name)
    grid = peers_grid.PeersGrid(n_ctx=[64], window=[-1], heads=["4/2"], head_dim=[64], dtype=["fp16"],
                                pool=["contiguous"], providers=list(PROVIDERS))
    measured = peers_grid.measure_peers(grid, workloads.pr_lengths)
    with pytest.raises(NotImplementedError, match="needs a CUDA device"):
        peers_grid.point_result(measured, (64, -1, "4/2", 64, "fp16", "contiguous"), "default")


class ReferenceKernel(Provider):
    """A user's own provider: this repository's float64 reference, rounded to the output dtype."""

    name = "users-reference"
    version = "test"
    deterministic = False

    def prepare(self, inputs, window):
        def call():
            inputs.o_extend.copy_(kernels.extend_attention_reference(
                *inputs.reference_args, sliding_window_size=window, dtype=torch.float64))
        return call


class OffByOne(ReferenceKernel):
    name = "users-off-by-one"

    def prepare(self, inputs, window):
        return super().prepare(inputs, window + 1 if window > 0 else window)


def test_a_users_provider_is_picked_up_and_checked(inputs, monkeypatch):
    monkeypatch.setenv(USER_PROVIDERS_ENV, "test_peers:ReferenceKernel, test_peers:OffByOne")
    import benchmarks.bench_peers as bench_peers
    import benchmarks.providers as registry
    try:
        importlib.reload(registry)
        importlib.reload(bench_peers)
        assert bench_peers.Peers.params[3][-2:] == ["users-reference", "users-off-by-one"]
        assert harness.check_call(inputs, "users-reference", WINDOW,
                                  registry.PROVIDERS["users-reference"].prepare(inputs, WINDOW)) < 1e-3
        with pytest.raises(harness.VariantIncorrect, match="users-off-by-one"):
            harness.check_call(inputs, "users-off-by-one", WINDOW,
                               registry.PROVIDERS["users-off-by-one"].prepare(inputs, WINDOW))
    finally:
        monkeypatch.delenv(USER_PROVIDERS_ENV)
        importlib.reload(registry)
        importlib.reload(bench_peers)
        importlib.reload(peers_grid)


@pytest.mark.parametrize("spec, message", [
    ("no_colon", "is not of the form"),
    ("test_peers:Missing", "cannot be loaded"),
    ("no_such_module_here:X", "cannot be loaded"),
    ("test_peers:WRONG_KIND", "kind='gpu'"),
    ("test_peers:ReferenceKernel,test_peers:ReferenceKernel", "already taken"),
    ("benchmarks.providers.project:PROVIDERS", "already taken"),
])
def test_bad_provider_specs_are_refused_naming_the_variable(spec, message):
    with pytest.raises(ValueError, match=message) as refused:
        load_providers(spec)
    assert USER_PROVIDERS_ENV in str(refused.value)


class _WrongKind(ReferenceKernel):
    kind = "gpu"


WRONG_KIND = _WrongKind()


def test_measure_peers_keeps_skips_failures_and_in_run_ratios(monkeypatch, tmp_path):
    """The setup cache's bookkeeping, with the device timing faked: each provider twice as slow
    as the one before; one that finds it cannot run here is skipped with its reason; one whose
    prepare breaks, or that is wrong, fails. Its progress goes to the trace file."""
    class Unpreparable(ReferenceKernel):
        name = "users-unpreparable"

        def prepare(self, inputs, window):
            raise ProviderUnavailable("JIT build failed")

    class Broken(ReferenceKernel):
        name = "users-broken"

        def prepare(self, inputs, window):
            raise TypeError("extend_attention_fwd() got an unexpected keyword argument")

    providers = {"default": PROVIDERS["default"], "users-off-by-one": OffByOne(),
                 "users-unpreparable": Unpreparable(), "users-broken": Broken(),
                 "users-reference": ReferenceKernel()}
    slowness = {}

    def fake_time_calls(launches, sequence, flush):
        for name in sequence:
            slowness.setdefault(name, 2.0 ** len(slowness))
        return [(name, 1e-3 * slowness[name]) for name in sequence]
    monkeypatch.setattr(peers_grid, "PROVIDERS", providers)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(peers_grid, "make_inputs",
                        lambda *args, **kwargs: workloads.make_inputs(*args, **{**kwargs, "device": DEVICE}))
    monkeypatch.setattr(harness, "_require_cuda", lambda inputs=None: None)
    monkeypatch.setattr(harness, "l2_flush_buffer", lambda: None)
    monkeypatch.setattr(harness, "_time_calls", fake_time_calls)
    monkeypatch.setattr(harness, "_peak_memory_mb", lambda fn: 0.0)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setenv(peers_grid.TRACE_ENV, str(tmp_path / "trace.log"))
    grid = peers_grid.PeersGrid(n_ctx=[48], window=[WINDOW], heads=["4/2"], head_dim=[64], dtype=["fp16"],
                                pool=["fragmented"], providers=list(providers))
    measured = peers_grid.measure_peers(grid, workloads.pr_lengths)
    shape = (48, WINDOW, "4/2", 64, "fp16", "fragmented")
    assert measured["points"][shape]["users-unpreparable"] == {"skipped": "prepare: JIT build failed"}
    with pytest.raises(NotImplementedError, match="JIT build failed"):
        peers_grid.point_result(measured, shape, "users-unpreparable")
    with pytest.raises(AssertionError, match="prepare raised TypeError: extend_attention_fwd"):
        peers_grid.point_result(measured, shape, "users-broken")
    with pytest.raises(AssertionError, match="users-off-by-one"):
        peers_grid.point_result(measured, shape, "users-off-by-one")
    assert peers_grid.point_result(measured, shape, "default")["default_time_ratio"] == 1.0
    # the reference was timed second of the two correct ones: twice default's time
    assert peers_grid.point_result(measured, shape, "users-reference")["default_time_ratio"] == 0.5
    assert math.isfinite(peers_grid.point_result(measured, shape, "users-reference")["error"])
    trace = [line.split(" s  ", 1)[1] for line in (tmp_path / "trace.log").read_text().splitlines()]
    assert trace == ["inputs n_ctx=48 heads=4/2 head_dim=64 fp16 fragmented",
                     f"  window={WINDOW}: 3 providers prepared",
                     f"  window={WINDOW}: checked and timed"]


def test_a_run_of_one_pool_measures_that_pool_and_skips_the_other(monkeypatch):
    """ci/gpu_job.sh peers POOL: the setup cache spends no time on the points the run skips."""
    measured_shapes = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(peers_grid, "make_inputs", lambda *args, **kwargs: None)
    monkeypatch.setattr(peers_grid, "_measure_point",
                        lambda inputs, window, point, *rest: measured_shapes.append(window) or
                        {"default": {"correct": True, "default_time_ratio": 1.0}})
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    grid = peers_grid.PeersGrid(n_ctx=[48], window=[-1, 16], heads=["4/2"], head_dim=[64],
                                dtype=["fp16"], pool=list(workloads.POOLS), providers=["default"])
    monkeypatch.setenv(peers_grid.POOLS_ENV, "contiguous")
    measured = peers_grid.measure_peers(grid, workloads.pr_lengths)
    assert len(measured_shapes) == 2 and measured["pools"] == ("contiguous",)
    assert peers_grid.point_result(measured, (48, 16, "4/2", 64, "fp16", "contiguous"), "default")
    with pytest.raises(NotImplementedError, match="pool 'fragmented' not measured in this run"):
        peers_grid.point_result(measured, (48, 16, "4/2", 64, "fp16", "fragmented"), "default")
    monkeypatch.setenv(peers_grid.POOLS_ENV, "contiguous,paged")
    with pytest.raises(ValueError, match="BENCH_PEERS_POOLS='contiguous,paged': unknown pools"):
        peers_grid.measure_peers(grid, workloads.pr_lengths)
