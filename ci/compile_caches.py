"""The compile caches a GPU job carries to a fresh machine, so that it skips the JIT builds:
FlashInfer's JIT modules, one archive per head dim, and Triton's cache.

    python3 ci/compile_caches.py pack OUT          # from ~ into OUT (ci/gpu_job.sh, peers modes)
    python3 ci/compile_caches.py unpack DIR        # every archive in DIR into ~ (.device-cache/)

Packed with xz: a device call carries 64 MiB in all, and these caches hold near-identical
binaries (a module with a window and one without, a kernel per specialization) that gzip's
32 KiB window cannot share. On the H200's caches of 2026-11-29 that is 7.4 MB -> 1.3 MB for
a head dim's FlashInfer modules, and 10.3 MB -> 1.7 MB for Triton's cache; a cache over
``MAX_CACHE_BYTES`` is left out, and said so. Unpacking reads the
gzip archives (``.tgz``) packed before too. An archive that cannot be read is named, with exit
status 2.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import os
import re
import sys
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

# FlashInfer keeps a built module in <version>/<arch>/cached_ops/<name> and its sources in
# <version>/<arch>/generated/<name>; the name spells the head dim
FLASHINFER_OPS = ".cache/flashinfer/*/*/cached_ops"
_HEAD_DIM = re.compile(r"_head_dim_qk_(\d+)_")
TRITON_CACHE = ".triton/cache"
SUFFIXES = (".txz", ".tgz")
XZ_PRESET = 9
# A cache larger than this is left out: packed, it would not fit beside the tree in a device
# call (64 MiB in all; xz packs these caches about 6:1), and xz, at about 6 MB/s, would hold the
# job for minutes. A Triton cache that a test job on the same machine filled reaches that (on
# 2026-11-30 a PeersHeadDims job beside the GPU tests packed one too large to come back, and
# the call ran out before the tests' log was packed).
MAX_CACHE_BYTES = 64 * 2**20


class CacheError(Exception):
    """An archive that cannot be read."""


def flashinfer_modules(home: Path) -> Dict[int, List[str]]:
    """The JIT modules under ``home`` by head dim: each module's built and generated folders,
    as paths relative to ``home``."""
    by_head_dim: Dict[int, List[str]] = {}
    for ops in sorted(home.glob(FLASHINFER_OPS)):
        for module in sorted(path for path in ops.iterdir() if path.is_dir()):
            match = _HEAD_DIM.search(module.name)
            if match is None:
                continue
            paths = by_head_dim.setdefault(int(match.group(1)), [])
            for folder in (module, ops.parent / "generated" / module.name):
                if folder.exists():
                    paths.append(str(folder.relative_to(home)))
    return by_head_dim


def _bytes_under(home: Path, paths: List[str]) -> int:
    return sum(file.stat().st_size for path in paths for file in (home / path).rglob("*")
               if file.is_file())


def pack(home: Path, out: Path, max_bytes: int = MAX_CACHE_BYTES) -> Tuple[List[Path], Dict[str, int]]:
    """``flashinfer-jit-hdD.txz`` per head dim and ``triton-cache.txz`` in ``out``, from what
    ``home`` holds: the archives written, and the archives left out (their caches larger than
    ``max_bytes``) with their caches' sizes."""
    archives = {f"flashinfer-jit-hd{dim}.txz": paths
                for dim, paths in sorted(flashinfer_modules(home).items())}
    if (home / TRITON_CACHE).is_dir():
        archives["triton-cache.txz"] = [TRITON_CACHE]
    sizes = {name: _bytes_under(home, paths) for name, paths in archives.items()}
    left_out = {name: size for name, size in sizes.items() if size > max_bytes}
    archives = {name: paths for name, paths in archives.items() if name not in left_out}
    # xz packs about 6 MB/s on one core: the archives side by side, so that a peers job packs
    # within the time it keeps after its deadline
    with concurrent.futures.ProcessPoolExecutor() as pool:
        written = list(pool.map(_pack_one, [home] * len(archives),
                                [out / name for name in archives], archives.values()))
    return written, left_out


def _pack_one(home: Path, archive_path: Path, paths: List[str]) -> Path:
    with tarfile.open(archive_path, "w:xz", preset=XZ_PRESET) as archive:
        for path in paths:
            archive.add(home / path, arcname=path)
    return archive_path


def unpack(folder: Path, home: Path) -> List[Path]:
    """Every cache archive in ``folder`` into ``home``, each file's mtime a little earlier than
    packed (``_never_newer``); the archives read. CacheError naming one that cannot be read, or
    that reaches outside ``home``."""
    archives = sorted(path for path in folder.glob("*") if path.suffix in SUFFIXES)
    for path in archives:
        try:
            with tarfile.open(path) as archive:
                archive.extractall(home, filter="data")
                for member in archive.getmembers():
                    if member.isfile():
                        _never_newer(home / member.name, member.mtime)
        except (OSError, tarfile.TarError) as err:
            raise CacheError(f"{path}: not a readable cache archive ({err})") from None
    return archives


def _never_newer(path: Path, packed_mtime: float) -> None:
    """Set ``path``'s mtime to the whole second below ``packed_mtime`` less a microsecond.

    FlashInfer leaves a module's freshness to ninja, which records each object's mtime to the
    nanosecond (.ninja_deps) and rebuilds an object whose file is newer than that record. A tar
    member's mtime is a float, off the nanosecond by up to 240 ns at today's times, so about
    half the objects came back newer and every head dim's module was rebuilt, about 100 s each
    (sessions 19 and 20, with the caches carried). Moved down to the second below, no file is
    newer than ninja recorded, and none that was older than another is newer after: ninja finds
    nothing to rebuild."""
    seconds = math.floor(packed_mtime - 1e-6)
    os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("folder", type=Path, help="pack: where the archives go; unpack: where they are")
    parser.add_argument("--home", type=Path, default=Path.home(), help="where the caches live (default ~)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder}: not a folder")
    try:
        if args.action == "pack":
            written, left_out = pack(args.home, args.folder, MAX_CACHE_BYTES)
            for path in written:
                print(f"compile_caches: packed {path} ({path.stat().st_size / 1e6:.1f} MB)")
            for name, size in left_out.items():
                print(f"compile_caches: left out {name}: its cache holds {size / 1e6:.0f} MB, over "
                      f"the {MAX_CACHE_BYTES / 1e6:.0f} MB worth carrying")
        else:
            for path in unpack(args.folder, args.home):
                print(f"compile_caches: unpacked {path} into {args.home}")
    except CacheError as err:
        print(f"compile_caches: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
