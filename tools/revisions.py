"""A commit's ``kernels`` package, from git or from the bundle a device call carries.

    folder = kernels_tree_at("9dea780", "--old")   # <folder>/kernels is that commit's package

``tools.ab_kernels`` imports it beside this checkout's to time both; ``tools.sass_diff`` compiles
it in a process of its own to compare their machine code.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ci/prepare_device.sh's bundle: the history a copy of the checkout without it can lack
BUNDLE = os.path.join(REPO_ROOT, ".bundle", "repo.bundle")


def _archive(rev: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", REPO_ROOT, "archive", "--format=tar", rev, "kernels"],
                          capture_output=True)


def kernels_tree_at(rev: str, flag: str) -> str:
    """A new temporary folder holding ``rev``'s ``kernels`` package as ``kernels/``. ValueError,
    naming ``flag``, for a rev git cannot find."""
    done = _archive(rev)
    if done.returncode and os.path.exists(BUNDLE):
        # the device's copy of .git can stop at an older commit than the carried bundle
        subprocess.run(["git", "-C", REPO_ROOT, "fetch", "-q", BUNDLE, "+refs/heads/*:refs/bundle/*"],
                       capture_output=True)
        done = _archive(rev)
    if done.returncode:
        raise ValueError(f"{flag} {rev!r}: {done.stderr.decode(errors='replace').strip()}")
    folder = tempfile.mkdtemp(prefix="kernels_at_")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(folder, filter="data")
    return folder
