"""ci/backfill.py: which kernel commits a machine's history still lacks, and the shards of that
list for jobs side by side, one per GPU."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ci import backfill, store
from synthetic_results import Series

MACHINE = "gpu-box"
PR = "bench_extend.PRMatrix.time_extend"
PEERS = "bench_peers.Peers.time_extend"
PR_MEMORY = "bench_extend.PRMatrix.track_peak_memory_mb"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path):
    """A git history of five commits; the 1st, 3rd, 4th and 5th change kernels/."""
    path = tmp_path / "repo"
    path.mkdir()

    def git(*args):
        return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    for n, folder in enumerate(["kernels", "docs", "kernels", "kernels", "kernels"]):
        (path / folder).mkdir(exist_ok=True)
        (path / folder / "f.txt").write_text(str(n))
        git("add", "-A")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"c{n}")
    return path


def _kernel_commits(repo):
    return backfill.kernel_commits(str(repo))


def test_kernel_commits_are_those_that_changed_kernels_oldest_first(repo):
    commits = _kernel_commits(repo)
    log = subprocess.run(["git", "-C", str(repo), "log", "--reverse", "--format=%H %s"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert commits == [line.split()[0] for line in log if line.split()[1] in ("c0", "c2", "c3", "c4")]


def _stored(synthetic_results, commits):
    """c0: the PR matrix; c2: Peers alone; c3: the PR matrix, every point skipped; c4 nothing."""
    synthetic_results.run(MACHINE, commits[0], {PR: Series([["1", "2"]], [[1e-3], [2e-3]]),
                                                PR_MEMORY: Series([["1", "2"]], [[9.0], [9.0]])})
    synthetic_results.run(MACHINE, commits[1], {PEERS: Series([["1"]], [[1e-3]])})
    synthetic_results.run(MACHINE, commits[2], {PR: Series([["1", "2"]], [[], []])})
    return store.load(synthetic_results.root).runs(MACHINE)


def _missing(commits, runs, bench, suite=()):
    """The commits lacking a benchmark ``bench`` selects, as main() finds them (with no suite
    given: the benchmarks stored)."""
    return list(backfill.lacking(commits, runs, backfill.needed(suite, runs, bench)))


def test_a_commit_stored_without_the_benchmarks_asked_about_is_missing(repo, synthetic_results):
    commits = _kernel_commits(repo)
    runs = _stored(synthetic_results, commits)
    # Peers alone is not the PR matrix; all points skipped (no GPU) is not a measurement
    assert _missing(commits, runs, backfill.DEFAULT_BENCH) == commits[1:]
    assert _missing(commits, runs, r"bench_peers\.") == [commits[0], commits[2], commits[3]]


def test_a_commit_lacking_one_benchmark_of_the_suite_named_is_missing(repo, synthetic_results, capsys):
    """c0: both PR-matrix benchmarks; c2: the time alone; c3: Peers alone; c4: nothing."""
    commits = _kernel_commits(repo)
    synthetic_results.run(MACHINE, commits[0], {PR: Series([["1"]], [[1e-3]]), PR_MEMORY: Series([["1"]], [[9.0]])})
    synthetic_results.run(MACHINE, commits[1], {PR: Series([["1"]], [[1e-3]])})
    synthetic_results.run(MACHINE, commits[2], {PEERS: Series([["1"]], [[1e-3]])})
    runs = store.load(synthetic_results.root).runs(MACHINE)
    suite = [PR, PR_MEMORY, PEERS]
    assert _missing(commits, runs, backfill.DEFAULT_BENCH, suite) == commits[1:]
    assert _missing(commits, runs, r"^(?!bench_peers\.)", suite) == commits[1:]
    assert _missing(commits, runs, r"PRMatrix\.time_extend$", suite) == [commits[2], commits[3]]
    # the command line's suite is the one asv finds in the checkout (both PR-matrix benchmarks)
    assert {PR, PR_MEMORY} <= set(backfill.suite(str(REPO / "benchmarks")))
    assert backfill.main(["--machine", MACHINE, "--repo", str(repo), "--results", str(synthetic_results.root),
                          "--benchmarks", str(REPO / "benchmarks")]) == 0
    assert capsys.readouterr().out.split() == commits[1:]


def test_the_plan_runs_each_commit_for_what_it_lacks_and_nothing_stored_again():
    lacked = {"c1": (PR, PR_MEMORY), "c2": (PR_MEMORY,), "c3": (PR, PR_MEMORY)}
    runs = backfill.plan(lacked, [PR, PR_MEMORY], backfill.DEFAULT_BENCH)
    assert runs == [(backfill.DEFAULT_BENCH, ["c1", "c3"]),
                    (r"^(?:bench_extend\.PRMatrix\.track_peak_memory_mb)(?:\(|$)", ["c2"])]
    exact = re.compile(runs[1][0])
    assert exact.search(PR_MEMORY) and exact.search(f"{PR_MEMORY}(1024, -1)") and not exact.search(PR)
    assert not exact.search(PR_MEMORY + "_per_call")


def test_since_keeps_the_kernel_commits_after_it_and_a_bad_one_is_named(repo, tmp_path, capsys):
    commits = _kernel_commits(repo)
    assert backfill.kernel_commits(str(repo), since=commits[1]) == commits[2:]
    argv = ["--machine", MACHINE, "--repo", str(repo), "--results", str(tmp_path / "none")]
    assert backfill.main([*argv, "--since", commits[1]]) == 0
    assert capsys.readouterr().out.split() == commits[2:]
    assert backfill.main([*argv, "--since", "no-such-revision"]) == 1
    assert "--since no-such-revision" in capsys.readouterr().err


def test_shards_split_the_missing_commits_oldest_first_and_lose_none(repo, synthetic_results):
    commits = _kernel_commits(repo)
    _stored(synthetic_results, commits)

    def listed(*args):
        done = subprocess.run([sys.executable, str(REPO / "ci" / "backfill.py"), "--machine", MACHINE,
                               "--repo", str(repo), "--results", str(synthetic_results.root), *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert listed() == commits[1:]
    shards = [listed("--shard", f"{i}/2") for i in range(2)]
    assert shards == [[commits[1], commits[3]], [commits[2]]]


@pytest.mark.parametrize("shard", ["2/2", "-1/2", "1", "a/b"])
def test_a_shard_out_of_range_is_refused_naming_the_argument(shard):
    with pytest.raises(SystemExit) as exit_:
        backfill.main(["--machine", MACHINE, "--shard", shard])
    assert exit_.value.code == 2


def test_a_broken_results_file_is_named_with_exit_2(repo, synthetic_results, capsys):
    commits = _kernel_commits(repo)
    _stored(synthetic_results, commits)
    broken = next((synthetic_results.root / MACHINE).glob(f"{commits[0][:8]}-*.json"))
    broken.write_text("{")
    assert backfill.main(["--machine", MACHINE, "--repo", str(repo), "--results",
                          str(synthetic_results.root)]) == 2
    assert broken.name in capsys.readouterr().err


def test_a_machine_with_nothing_stored_lacks_every_kernel_commit(repo, tmp_path, capsys):
    assert backfill.main(["--machine", MACHINE, "--repo", str(repo), "--results", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out.split() == _kernel_commits(repo)
