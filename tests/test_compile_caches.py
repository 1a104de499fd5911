"""ci/compile_caches.py: the compile caches a GPU job carries, packed per head dim and back."""

import os
import subprocess
import sys
import tarfile

import pytest

from ci import compile_caches

MODULE = "batch_prefill_with_kv_cache_dtype_q_bf16_head_dim_qk_{dim}_head_dim_vo_{dim}_use_swa_{swa}_sm90"


def _caches(home):
    """A home holding two head dims' FlashInfer modules (built and generated) and a Triton cache."""
    version = home / ".cache" / "flashinfer" / "0.7.2" / "90a"
    files = {}
    for dim in (64, 128):
        for swa in (True, False):
            name = MODULE.format(dim=dim, swa=swa)
            files[f"{version.relative_to(home)}/cached_ops/{name}/{name}.so"] = bytes([dim]) * 5000
            files[f"{version.relative_to(home)}/generated/{name}/kernel.cu"] = f"// {dim} {swa}".encode()
    files[".triton/cache/ABC/kernel.cubin"] = b"\x7fELF" + b"\0" * 4000
    for path, content in files.items():
        (home / path).parent.mkdir(parents=True, exist_ok=True)
        (home / path).write_bytes(content)
    return files


def test_pack_writes_an_archive_per_head_dim_and_unpack_restores_every_file(tmp_path):
    home, out, fresh = tmp_path / "home", tmp_path / "out", tmp_path / "fresh"
    for folder in (home, out, fresh):
        folder.mkdir()
    files = _caches(home)
    written, left_out = compile_caches.pack(home, out)
    assert left_out == {}
    assert sorted(path.name for path in written) == [
        "flashinfer-jit-hd128.txz", "flashinfer-jit-hd64.txz", "triton-cache.txz"]
    with tarfile.open(out / "flashinfer-jit-hd64.txz") as archive:
        names = archive.getnames()
    assert names and all("head_dim_qk_64_" in name for name in names)
    assert any("/generated/" in name for name in names)  # the sources travel with the build
    assert sorted(compile_caches.unpack(out, fresh)) == sorted(written)
    for path, content in files.items():
        assert (fresh / path).read_bytes() == content


def test_a_cache_too_large_to_carry_is_left_out_and_said_so(tmp_path, monkeypatch, capsys):
    """A Triton cache a test job filled (2026-11-30): packing it would outlast the call."""
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    out.mkdir()
    _caches(home)
    (home / ".triton/cache/DEF/kernel.cubin").parent.mkdir()
    (home / ".triton/cache/DEF/kernel.cubin").write_bytes(b"\0" * 20000)
    written, left_out = compile_caches.pack(home, out, max_bytes=15000)
    assert sorted(path.name for path in written) == ["flashinfer-jit-hd128.txz", "flashinfer-jit-hd64.txz"]
    assert left_out == {"triton-cache.txz": 24004}
    assert not (out / "triton-cache.txz").exists()
    monkeypatch.setattr(compile_caches, "MAX_CACHE_BYTES", 15000)
    assert compile_caches.main(["pack", str(out), "--home", str(home)]) == 0
    assert "left out triton-cache.txz: its cache holds 0 MB" in capsys.readouterr().out


def test_unpack_reads_the_gzip_archives_packed_before(tmp_path):
    home, old, fresh = tmp_path / "home", tmp_path / "old", tmp_path / "fresh"
    for folder in (home, old, fresh):
        folder.mkdir()
    files = _caches(home)
    with tarfile.open(old / "triton-cache.tgz", "w:gz") as archive:
        archive.add(home / ".triton", arcname=".triton")
    assert compile_caches.unpack(old, fresh) == [old / "triton-cache.tgz"]
    assert (fresh / ".triton/cache/ABC/kernel.cubin").read_bytes() == files[".triton/cache/ABC/kernel.cubin"]


def test_a_broken_archive_is_named_with_exit_status_2(tmp_path, capsys):
    (tmp_path / "flashinfer-jit-hd128.txz").write_bytes(b"not an archive")
    with pytest.raises(compile_caches.CacheError, match="flashinfer-jit-hd128.txz"):
        compile_caches.unpack(tmp_path, tmp_path / "home")
    assert compile_caches.main(["unpack", str(tmp_path), "--home", str(tmp_path / "home")]) == 2
    assert "flashinfer-jit-hd128.txz" in capsys.readouterr().err


def test_an_archive_reaching_outside_home_is_refused(tmp_path):
    folder, home = tmp_path / "caches", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    (tmp_path / "outside").write_text("x")
    with tarfile.open(folder / "triton-cache.txz", "w:xz") as archive:
        archive.add(tmp_path / "outside", arcname="../outside-written")
    with pytest.raises(compile_caches.CacheError, match="triton-cache.txz"):
        compile_caches.unpack(folder, home)
    assert not (tmp_path / "outside-written").exists()


# an object file's mtime that comes back later from a tar member, whose mtime is a float
BUILT_NS = 1_796_021_595_363_458_520


def test_a_carried_flashinfer_module_is_not_rebuilt_by_ninja(tmp_path):
    """FlashInfer rebuilds a JIT module whenever ninja finds it out of date; ninja compares each
    object's mtime with the nanosecond it recorded. Unpacked as tar keeps mtimes, half the
    objects came back newer and the carried modules were all rebuilt (sessions 19 and 20)."""
    home, out, fresh = tmp_path / "home", tmp_path / "out", tmp_path / "fresh"
    for folder in (out, fresh):
        folder.mkdir()
    name = MODULE.format(dim=64, swa=False)
    version = home / ".cache" / "flashinfer" / "0.7.2" / "90a"
    build, source = version / "cached_ops" / name, version / "generated" / name / "kernel.cu"
    build.mkdir(parents=True)
    source.parent.mkdir(parents=True)
    source.write_text("// a kernel\n")
    os.utime(source, ns=(BUILT_NS - 60 * 10**9,) * 2)
    # a compile rule as FlashInfer's: a depfile in ninja's deps log; the object's mtime set
    # to BUILT_NS, which ninja records after the command
    seconds, nanos = divmod(BUILT_NS, 10**9)
    (build / "build.ninja").write_text(
        "rule compile\n"
        f"  command = cp $in $out && touch -d @{seconds}.{nanos:09d} $out && "
        "printf '%s: %s\\n' $out $in > $out.d\n"
        "  depfile = $out.d\n"
        "  deps = gcc\n"
        f"build kernel.o: compile ../../generated/{name}/kernel.cu\n")

    def ninja_plan(folder):
        done = subprocess.run([sys.executable, "-m", "ninja", "-n", "-d", "explain"], cwd=folder,
                              capture_output=True, text=True, check=True)
        return done.stdout + done.stderr

    subprocess.run([sys.executable, "-m", "ninja"], cwd=build, capture_output=True, check=True)
    assert (build / "kernel.o").stat().st_mtime_ns == BUILT_NS
    assert "no work to do" in ninja_plan(build)
    with tarfile.open(tmp_path / "plain.tar", "w") as plain:  # the fault, as tar has it
        plain.add(build / "kernel.o", arcname="kernel.o")
    with tarfile.open(tmp_path / "plain.tar") as plain:
        plain.extractall(tmp_path / "plain", filter="data")
    assert (tmp_path / "plain" / "kernel.o").stat().st_mtime_ns > BUILT_NS

    compile_caches.pack(home, out)
    compile_caches.unpack(out, fresh)
    unpacked = fresh / build.relative_to(home)
    assert (unpacked / "kernel.o").stat().st_mtime_ns < BUILT_NS
    assert "no work to do" in ninja_plan(unpacked)
