"""A fresh clone of this repository, as a new user gets it, but holding this working tree, and
the GPU that the commands run there see.

Tests that run the project's own commands (ci/main.sh, the README's asv commands) run them
there: they measure commits, so the working tree is committed on top of the history, and
whatever the commands write lands in the clone, not in the checkout under test. A fake
nvidia-smi first on PATH makes them see another GPU, or none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@localhost"]


def git(*args, cwd: Path) -> str:
    """`git ARGS` in ``cwd``: its standard output; CalledProcessError when it fails."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def clone_with_working_tree(dest: Path) -> Path:
    """``git clone`` of this repository at ``dest``, its working tree (tracked and untracked,
    not ignored) committed on top, so that ``git status`` there starts clean."""
    git("clone", "-q", str(REPO), str(dest), cwd=REPO)
    files = git("ls-files", "-co", "--exclude-standard", "-z", cwd=REPO).split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for name in git("ls-files", "-d", "-z", cwd=REPO).split("\0"):  # deleted in the working tree
        if name:
            (dest / name).unlink(missing_ok=True)
    commit_all(dest, "the working tree under test")
    return dest


def commit_all(checkout: Path, message: str) -> None:
    """Commit every change in ``checkout``."""
    git("add", "-A", cwd=checkout)
    git(*IDENTITY, "commit", "-q", "--allow-empty", "-m", message, cwd=checkout)


def asv_config(checkout: Path, work: Path) -> subprocess.CompletedProcess:
    """``asv_config`` of ``checkout``'s ci/asv_env.sh, run there with ASV_WORK ``work``: on
    success its standard output is the repository asv reads (ASV_REPO)."""
    return subprocess.run(["bash", "-c", 'source ci/asv_env.sh && asv_config && echo "$ASV_REPO"'],
                          cwd=checkout, env=dict(os.environ, ASV_WORK=str(work)), capture_output=True,
                          text=True, timeout=120)


def tree_digest(folder: Path) -> str:
    """One hash of every file's path and bytes under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def modified_tracked_files(checkout: Path) -> list:
    """``git status --porcelain`` lines of tracked files that changed (untracked ones excluded)."""
    return [line for line in git("status", "--porcelain", cwd=checkout).splitlines() if not line.startswith("??")]


def fake_nvidia_smi(bin_dir: Path, gpu: str | None) -> str:
    """A PATH with, first, an nvidia-smi that prints ``gpu`` (its CSV line) or, for None, fails as
    it does without a GPU."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\n" + (f"echo '{gpu}'\n" if gpu else "exit 9\n"))
    fake.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
