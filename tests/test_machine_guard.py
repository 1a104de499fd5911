"""A machine name whose stored history is other hardware's is refused before anything is written.

Planted in a fresh clone, with a fake nvidia-smi first on PATH: a CPU run under the H100's
name (`asv_prepare h100-sxm-80gb`, then `$ASV run`), the GPU job on an H200 under the
H100's name (the name it once hard-coded), and the gate's GPU mode under the H100's name on an
H200 and on a CPU (it once registered any name with `asv machine --yes`). Each must exit
non-zero naming the machine and the GPUs, with results/ byte for byte as it was and no
registration left anywhere. The names the
scripts derive from the GPU, and what may differ (software), are checked beside.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ci import asv_machine
from tests.checkout import (asv_config, clone_with_working_tree, commit_all, fake_nvidia_smi, git,
                            modified_tracked_files, tree_digest)

H100 = "NVIDIA H100 80GB HBM3, 580.159.04, 1980, 2619"
H100_NEWER_DRIVER = "NVIDIA H100 80GB HBM3, 590.10.01, 1980, 2619"
H200 = "NVIDIA H200, 570.86.15, 1980, 3201"
NO_GPU = None


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return clone_with_working_tree(tmp_path_factory.mktemp("guard") / "checkout")


def _run(clone: Path, tmp: Path, gpu: str | None, command: str, **env) -> subprocess.CompletedProcess:
    """``command`` in bash in the clone, nvidia-smi answering as ``gpu`` (None: no GPU)."""
    (tmp / "home").mkdir(exist_ok=True)
    environment = dict(os.environ, PATH=fake_nvidia_smi(tmp / "bin", gpu), HOME=str(tmp / "home"),
                       ASV_WORK=str(tmp / "work"), OUT=str(tmp / "out"))
    environment.pop("ASV_MACHINE", None)
    environment.update(env)
    return subprocess.run(["bash", "-c", command], cwd=clone, env=environment, capture_output=True, text=True,
                          timeout=600)


def _registered(tmp: Path) -> dict:
    """The machines registered in the work folder: {name: record}."""
    path = tmp / "work" / "home" / ".asv-machine.json"
    registrations = json.loads(path.read_text()) if path.exists() else {}
    registrations.pop("version", None)  # asv's file format version
    return registrations


GATE_AS_H100 = "python3 ci/gate.py --baseline HEAD~1 --candidate HEAD --machine h100-sxm-80gb --bench '\\.time_'"


@pytest.mark.parametrize("gpu, command, env", [
    (NO_GPU, "source ci/asv_env.sh && asv_prepare h100-sxm-80gb && $ASV run HEAD^! --machine h100-sxm-80gb", {}),
    (H200, "bash ci/gpu_job.sh asv HEAD^!", {"ASV_MACHINE": "h100-sxm-80gb"}),
    (H200, GATE_AS_H100, {}),
    (NO_GPU, GATE_AS_H100, {}),
], ids=["cpu-run-as-h100", "gpu-job-on-h200-as-h100", "gate-on-h200-as-h100", "gate-on-cpu-as-h100"])
def test_a_run_under_another_machines_name_is_refused_and_nothing_stored_changes(clone, tmp_path, gpu, command, env):
    results_before = tree_digest(clone / "results")

    done = _run(clone, tmp_path, gpu, command, **env)

    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    this_gpu = "none" if gpu is None else gpu.split(",")[0]
    assert (f"asv machine 'h100-sxm-80gb' refused" in output
            and f"gpu: stored 'NVIDIA H100 80GB HBM3', this machine '{this_gpu}'" in output), output
    assert tree_digest(clone / "results") == results_before
    assert modified_tracked_files(clone) == []
    assert _registered(tmp_path) == {}
    assert not (tmp_path / "home" / ".asv-machine.json").exists()


@pytest.mark.parametrize("gpu, name", [(H100, "h100-sxm-80gb"), (H200, "nvidia-h200"), (NO_GPU, "cpu-codegen")])
def test_asv_prepare_names_the_machine_after_its_gpu(clone, tmp_path, gpu, name):
    done = _run(clone, tmp_path, gpu, 'source ci/asv_env.sh && asv_prepare && echo "machine=$ASV_MACHINE"')

    assert done.returncode == 0, done.stderr
    assert f"machine={name}" in done.stdout.splitlines()
    assert list(_registered(tmp_path)) == [name]  # the one registration, in the work folder
    assert not (tmp_path / "home" / ".asv-machine.json").exists()


def test_asv_gets_a_home_of_its_own_but_the_compile_caches_stay_the_users(clone, tmp_path):
    # under asv's HOME every run rebuilt FlashInfer's JIT modules and Triton's kernels, and the
    # caches ci/gpu_job.sh unpacks into the user's HOME were never read (docs/PEERS.md)
    caches_unset = "unset TRITON_CACHE_DIR TRITON_HOME FLASHINFER_WORKSPACE_BASE EXTEND_BENCH_UNPACK_DIR; "
    done = _run(clone, tmp_path, H200, caches_unset + "source ci/asv_env.sh && asv_prepare && $ASV_ENV python3 -c "
                "'import os, pathlib; from benchmarks.providers import fetched; print(pathlib.Path.home()); "
                'print(os.environ["TRITON_CACHE_DIR"], os.environ["FLASHINFER_WORKSPACE_BASE"], fetched.UNPACK_DIR)\'')
    assert done.returncode == 0, done.stderr
    asv_home, caches = done.stdout.splitlines()[-2:]
    home = tmp_path / "home"
    assert asv_home == str(tmp_path / "work" / "home")
    assert caches.split() == [str(home / ".triton" / "cache"), str(home),
                              str(home / ".cache" / "extend-attention-bench")]


def test_the_gpu_job_files_an_h200_under_its_own_name(clone, tmp_path):
    results_before = tree_digest(clone / "results")
    # `find` without a range: the job prepares asv (registers the machine), then asv stops at its
    # usage error before measuring anything
    done = _run(clone, tmp_path, H200, "bash ci/gpu_job.sh find")

    assert done.returncode != 0
    registered = _registered(tmp_path)
    assert list(registered) == ["nvidia-h200"], done.stdout + done.stderr
    assert registered["nvidia-h200"]["gpu"] == "NVIDIA H200"
    assert tree_digest(clone / "results") == results_before


def test_the_gpu_jobs_peers_mode_names_its_pools_and_refuses_another(clone, tmp_path):
    done = _run(clone, tmp_path, H200, "bash ci/gpu_job.sh peers paged HEAD^!")
    assert done.returncode == 2
    assert "usage: bash ci/gpu_job.sh peers contiguous|fragmented|all [ASV RUN ARGS]; got 'paged'" in done.stderr
    assert not (tmp_path / "work").exists()  # refused before asv was prepared


def test_gpu_jobs_side_by_side_keep_their_own_peers_trace(clone, tmp_path):
    """A job on GPU 1 leaves the peers' setup-cache logs of other jobs alone (one on GPU 0, one
    on the whole host): with one file for all, on 2026-11-30 the second of two jobs side by side
    deleted the first's log, and both asv.logs ended with the same mix."""
    (tmp_path / "tmp").mkdir()
    others = [tmp_path / "tmp" / name for name in ("peers-setup-trace-gpu0.log", "peers-setup-trace.log")]
    for trace in others:
        trace.write_text("  window=-1: checked and timed\n")
    done = _run(clone, tmp_path, H200, "GPU_JOB_GPU=1 bash ci/gpu_job.sh peers paged HEAD^!",
                TMPDIR=str(tmp_path / "tmp"))
    assert done.returncode == 2
    assert [trace.read_text() for trace in others] == ["  window=-1: checked and timed\n"] * 2


def test_the_gpu_jobs_peers_mode_refuses_an_unknown_provider(clone, tmp_path):
    done = _run(clone, tmp_path, H200,
                "PEERS_PROVIDERS=default,flashinfer bash ci/gpu_job.sh peers all HEAD^!")
    assert done.returncode == 2
    assert "PEERS_PROVIDERS='default,flashinfer': unknown providers ['flashinfer']" in done.stderr
    assert not (tmp_path / "work").exists()


def test_other_software_on_the_same_gpu_is_the_same_machine(clone, tmp_path):
    done = _run(clone, tmp_path, H100_NEWER_DRIVER, "source ci/asv_env.sh && asv_prepare h100-sxm-80gb")

    assert done.returncode == 0, done.stderr
    assert _registered(tmp_path)["h100-sxm-80gb"]["gpu_driver"] == "590.10.01"


def test_an_unreadable_stored_record_exits_2_naming_it(tmp_path, capsys):
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"results_dir": "results"}))
    record = tmp_path / "results" / "some-machine" / "machine.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"gpu": ')

    status = asv_machine.main(["--machine", "some-machine", "--config", str(config),
                               "--machine-file", str(tmp_path / "registrations.json")])

    assert status == 2
    assert str(record) in capsys.readouterr().err
    assert not (tmp_path / "registrations.json").exists()


@pytest.mark.parametrize("gpu, name", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm-80gb"), ("NVIDIA H200", "nvidia-h200"),
    ("NVIDIA H100 PCIe", "nvidia-h100-pcie"), ("NVIDIA GeForce RTX 4090", "nvidia-geforce-rtx-4090"),
    ("none", "cpu-codegen"),
])
def test_default_names(gpu, name):
    assert asv_machine.default_name(gpu) == name


def test_asv_reads_the_bundles_history_only_where_it_holds_the_working_trees_kernels(tmp_path):
    """A checkout whose HEAD is not the carried bundle's HEAD has asv read the bundle's history
    (a copy's .git can be stale) and says so, naming both commits, while the two hold the same
    kernels/ and benchmarks/. Where they differ asv would measure the bundle's commit under this
    one's name, as session 20's first two calls did: refused, naming the files."""
    checkout = clone_with_working_tree(tmp_path / "checkout")
    bundled = git("rev-parse", "HEAD", cwd=checkout).strip()
    (checkout / ".bundle").mkdir(exist_ok=True)
    git("bundle", "create", "-q", ".bundle/repo.bundle", "HEAD", "--all", cwd=checkout)

    with open(checkout / "README.md", "a") as readme:
        readme.write("\nA line the measurement does not read.\n")
    commit_all(checkout, "README only")
    head = git("rev-parse", "HEAD", cwd=checkout).strip()
    done = asv_config(checkout, tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert (f"this checkout's HEAD {head[:8]} is not the carried bundle's {bundled[:8]}, which holds "
            "the same kernels/ and benchmarks/") in " ".join(done.stderr.split())
    assert done.stdout.strip() == str(tmp_path / "work" / "repo.git")

    with open(checkout / "kernels" / "__init__.py", "a") as kernels:
        kernels.write("# a kernel change the bundle lacks\n")
    (checkout / "benchmarks" / "bench_new.py").write_text("")
    commit_all(checkout, "a kernel change")
    done = asv_config(checkout, tmp_path / "work")
    assert done.returncode != 0
    assert (f"the carried bundle's HEAD {bundled[:8]} is not this working tree, which differs in "
            "benchmarks/bench_new.py, kernels/__init__.py") in " ".join(done.stderr.split())
    assert done.stdout == ""
