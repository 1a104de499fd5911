"""Where the peers' fetched files live, and their pins: the one place both the fetch script and
the providers read.

``ci/fetch_providers.sh`` downloads each pinned release with pip into the git-ignored
``.providers/`` (``python -m benchmarks.providers.fetched`` does the work) and keeps only what
the providers load: SGLang's kernel source files, and a pruned FlashInfer with the headers its
prefill JIT compiles against, packed small enough to carry to a GPU machine that reaches no
registry. Nothing fetched is committed. Every file is checked against its sha256 here before
it is used, so a provider's ``version`` names exactly what ran.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import pathlib
import shutil
import tarfile
import zipfile
from typing import Mapping, Tuple

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
# EXTEND_BENCH_PROVIDERS_DIR moves the fetched files (e.g. to a shared cache).
PROVIDERS_DIR = pathlib.Path(os.environ.get("EXTEND_BENCH_PROVIDERS_DIR", REPO_ROOT / ".providers"))
# Unpacked packages are large (FlashInfer's headers: ~140 MB), so they live outside the carried
# folder, unpacked on first use from the archive inside it.
UNPACK_DIR = pathlib.Path(os.environ.get(
    "EXTEND_BENCH_UNPACK_DIR", pathlib.Path.home() / ".cache" / "extend-attention-bench"))


@dataclasses.dataclass(frozen=True)
class SGLangRelease:
    """The files of one SGLang release that its extend-attention kernel needs, by wheel path."""

    version: str
    wheel: str  # the wheel pip downloads (any platform tag will do: only .py files are read)
    kernel: str  # the module that defines extend_attention_fwd
    companions: Tuple[str, ...]  # sglang modules it imports that are loaded from the release too
    sha256: Mapping[str, str]  # of every file above

    def path(self, member: str) -> pathlib.Path:
        return PROVIDERS_DIR / f"sglang-{self.version}" / member

    @property
    def files(self) -> Tuple[str, ...]:
        return (*self.companions, self.kernel)


SGLANG_RELEASES = {
    # the release the upstream change (".cg" + num_stages=2) was proposed against
    "0.5.2": SGLangRelease(
        version="0.5.2", wheel="sglang==0.5.2",
        kernel="sglang/srt/layers/attention/triton_ops/extend_attention.py", companions=(),
        sha256={"sglang/srt/layers/attention/triton_ops/extend_attention.py":
                "798838c50a07e6006433b6e3ce9048a5375c7a5bd42b706e8c9fbc7974429bbd"}),
    # the newest on the registry on 2026-11-29; its kernel moved to sglang/kernels/ops/attention/
    "0.5.23": SGLangRelease(
        version="0.5.23", wheel="sglang==0.5.23",
        kernel="sglang/kernels/ops/attention/extend_attention.py",
        companions=("sglang/kernels/ops/attention/score_mod.py",
                    "sglang/kernels/ops/attention/decode_attention.py"),
        sha256={"sglang/kernels/ops/attention/extend_attention.py":
                "be3baffc80ef9fe484d0b896842522b02bf671785088e05a66ca4dcdb2e8a9b3",
                "sglang/kernels/ops/attention/score_mod.py":
                "127e2e6466bbfac3c2189cc4f2a9d7751fd819b30d25de65378d66ae63bbafa6",
                "sglang/kernels/ops/attention/decode_attention.py":
                "7a3b66ce3daabbb027efd860411cd9abe4b399b1f2cfc3ed5c6c01731eb9fa0a"}),
}


@dataclasses.dataclass(frozen=True)
class FlashInferRelease:
    version: str
    wheel_sha256: str
    tvm_ffi: str  # the apache-tvm-ffi its JIT bindings import (cp312 on the GPU machine)

    @property
    def archive(self) -> pathlib.Path:
        """The pruned package, packed: the Python modules and the prefill JIT's headers."""
        return PROVIDERS_DIR / f"flashinfer-{self.version}.tar.xz"

    @property
    def site(self) -> pathlib.Path:
        """Where the archive and the tvm-ffi wheel are unpacked: a folder for sys.path."""
        return UNPACK_DIR / f"flashinfer-{self.version}"


FLASHINFER = FlashInferRelease(
    version="0.7.2",
    wheel_sha256="770550a0aa92b2f10e6c9a1f048dd43713f0f3bb6a12710186fcf8e4e9c99bd8",
    tvm_ffi="apache-tvm-ffi==0.1.15.post2")
# What the prefill JIT reads from the wheel besides the Python modules: its own headers, the
# vendored CUTLASS/CuTe, CCCL and spdlog include folders, and csrc's top-level sources and
# templates (csrc's subfolders hold other families' kernels). 11 MiB packed, 140 MB unpacked.
FLASHINFER_DATA = ("flashinfer/data/include/", "flashinfer/data/cutlass/include/",
                   "flashinfer/data/cutlass/tools/util/include/", "flashinfer/data/spdlog/include/",
                   "flashinfer/data/cccl/")
FLASHINFER_CSRC = "flashinfer/data/csrc/"


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_or_changed(release: SGLangRelease) -> str:
    """Why the fetched files of ``release`` cannot be used, or "" when they can."""
    for member in release.files:
        path = release.path(member)
        if not path.is_file():
            return f"{path} is not fetched (run ci/fetch_providers.sh)"
        if sha256_of(path) != release.sha256[member]:
            return f"{path}: sha256 differs from the pin in benchmarks/providers/fetched.py"
    return ""


def unpack_flashinfer(release: FlashInferRelease = FLASHINFER) -> pathlib.Path:
    """The unpacked FlashInfer site folder, unpacking the carried archive the first time.

    Processes that start at once (a job per GPU of one host) take turns on a lock beside the
    folder: one unpacks, the others wait and find it done. Unlocked, two extractions into one
    folder failed with "File exists" (session 18's call 8)."""
    done = release.site / ".unpacked"
    if done.is_file():
        return release.site
    if not release.archive.is_file():
        raise FileNotFoundError(f"{release.archive} is not fetched (run ci/fetch_providers.sh)")
    release.site.parent.mkdir(parents=True, exist_ok=True)
    with open(release.site.parent / f"{release.site.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            shutil.rmtree(release.site, ignore_errors=True)  # what an interrupted unpack left
            with tarfile.open(release.archive) as archive:
                archive.extractall(release.site, filter="data")
            done.write_text(release.version)
    return release.site


def _extract_sglang(wheel: pathlib.Path, release: SGLangRelease) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for member in release.files:
            target = release.path(member)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    problem = missing_or_changed(release)
    if problem:
        raise SystemExit(f"sglang {release.version}: {problem}")


def _pack_flashinfer(wheel: pathlib.Path, tvm_ffi_wheel: pathlib.Path,
                     release: FlashInferRelease = FLASHINFER) -> None:
    if sha256_of(wheel) != release.wheel_sha256:
        raise SystemExit(f"{wheel}: sha256 differs from the pin in benchmarks/providers/fetched.py")

    def wanted(name: str) -> bool:
        if name.startswith(FLASHINFER_CSRC):
            return "/" not in name[len(FLASHINFER_CSRC):]
        if name.startswith("flashinfer/data/"):
            return name.startswith(FLASHINFER_DATA) and not name.endswith(".py")
        return name.startswith("flashinfer/") and name.endswith(".py")

    release.archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(release.archive, "w:xz") as packed:
        for source in (wheel, tvm_ffi_wheel):
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and (source == tvm_ffi_wheel or wanted(info.filename)):
                        entry = tarfile.TarInfo(info.filename)
                        entry.size = info.file_size
                        entry.mode = 0o644
                        packed.addfile(entry, archive.open(info))


def main(argv=None) -> int:
    """Extract and pack what the providers load from the wheels in ``--wheels`` (ci/fetch_providers.sh)."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--wheels", required=True, type=pathlib.Path,
                        help="a folder holding the pinned wheels, as pip downloaded them")
    parser.add_argument("--sglang-only", action="store_true",
                        help="SGLang alone (what the CPU tests need), not FlashInfer")
    args = parser.parse_args(argv)

    def one(pattern: str) -> pathlib.Path:
        found = sorted(args.wheels.glob(pattern))
        if len(found) != 1:
            raise SystemExit(f"--wheels {args.wheels}: expected one {pattern}, found {len(found)}")
        return found[0]

    for release in SGLANG_RELEASES.values():
        _extract_sglang(one(f"sglang-{release.version}-*.whl"), release)
        print(f"sglang {release.version}: {', '.join(release.files)}")
    if args.sglang_only:
        return 0
    tvm_ffi_version = FLASHINFER.tvm_ffi.split("==")[1]
    _pack_flashinfer(one(f"flashinfer_python-{FLASHINFER.version}-*.whl"),
                     one(f"apache_tvm_ffi-{tvm_ffi_version}-*.whl"))
    print(f"flashinfer {FLASHINFER.version}: {FLASHINFER.archive} "
          f"({FLASHINFER.archive.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
