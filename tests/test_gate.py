"""The regression gate, fed genuine asv results files written through asv's own Results API.

The fixture is a slice of the PR matrix on the H100 machine name: 20 samples a point with
0.4% noise, as an interleaved asv run with --record-samples stores them. Copies with a
planted change are made the way an outside check would make them: by editing the JSON.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci import gate, store
from synthetic_results import Series, SyntheticResults
from tests.checkout import fake_nvidia_smi

REPO = Path(__file__).resolve().parents[1]
GATE = REPO / "ci" / "gate.py"
MACHINE = "h100-sxm-80gb"
ENV = "virtualenv-py3.11-torch"
TIME = "bench_extend.PRMatrix.time_extend"
TRACK = "bench_extend.PRMatrix.track_peak_memory_mb"
PARAM_NAMES = ["n_ctx", "window", "heads", "head_dim", "dtype", "pool", "variant"]
PARAMS = [["1024", "4096"], ["-1", "256"], ["'64/8'"], ["128"], ["'bf16'"],
          ["'contiguous'", "'fragmented'"], ["'baseline'", "'cg'"]]
POINTS = list(itertools.product(*PARAMS))
# the point the planted slowdown hits, and how the report names it
PLANTED = POINTS.index(("4096", "256", "'64/8'", "128", "'bf16'", "'fragmented'", "'cg'"))
PLANTED_PARAMS = ("n_ctx=4096, window=256, heads='64/8', head_dim=128, dtype='bf16', "
                  "pool='fragmented', variant='cg'")


def commit(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


BASE, CAND = commit("baseline"), commit("candidate")


def true_time(point) -> float:
    n_ctx, window, *_, pool, variant = point
    return (40e-6 * int(n_ctx) / 1024 * (0.5 if window == "256" else 1.0)
            * (1.1 if pool == "'fragmented'" else 1.0) * (0.99 if variant == "'cg'" else 1.0))


def write_results(results_dir: Path, commit_hash: str, seed: int, *, record_samples: bool = True,
                  failed=(), env: str = ENV) -> Path:
    """One asv results file of the slice, 20 samples a point with 0.4% noise."""
    store = SyntheticResults(results_dir)
    store.benchmark_list({TIME: (PARAMS, PARAM_NAMES, "seconds"), TRACK: (PARAMS, PARAM_NAMES, "MB")})
    rng = random.Random(seed)
    samples = [None if i in failed else [true_time(p) * (1 + rng.gauss(0, 0.004)) for _ in range(20)]
               for i, p in enumerate(POINTS)]
    memory = [None if s is None else 64.0 for s in samples]
    return store.run(MACHINE, commit_hash, {TIME: Series(PARAMS, samples), TRACK: Series(PARAMS, values=memory)},
                     env=env, record_samples=record_samples)


def copy_results(src: Path, commit_hash: str, edit=None) -> Path:
    """A copy of a results file under another commit, edited as raw JSON."""
    data = json.loads(src.read_text())
    data["commit_hash"] = commit_hash
    if edit is not None:
        edit(data)
    dst = src.parent / f"{commit_hash[:8]}-{data['env_name']}.json"
    dst.write_text(json.dumps(data))
    return dst


def scale(factor: float, points=None, benchmark=TIME, stats=False):
    """An edit that multiplies value and samples (and optionally the stats) of some points."""
    def edit(data):
        row = data["results"][benchmark]
        column = {name: j for j, name in enumerate(data["result_columns"])}
        for i in (range(len(POINTS)) if points is None else points):
            row[column["result"]][i] *= factor
            if len(row) > column["samples"] and row[column["samples"]] is not None:
                row[column["samples"]][i] = [x * factor for x in row[column["samples"]][i]]
            if stats:
                for key in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75"):
                    row[column[key]][i] *= factor
    return edit


@pytest.fixture
def results(tmp_path) -> Path:
    write_results(tmp_path / "results", BASE, seed=1)
    return tmp_path / "results"


def run_gate(results_dir, baseline=BASE, candidate=CAND, *extra, capsys=None):
    argv = ["--results-only", "--results", str(results_dir), "--machine", MACHINE,
            "--baseline", baseline, "--candidate", candidate, *extra]
    code = gate.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def source(results_dir: Path) -> Path:
    return results_dir / MACHINE / f"{BASE[:8]}-{ENV}.json"


# ---------------------------------------------------------------- the done-criteria

def test_a_planted_ten_percent_slowdown_at_one_point_fails_and_is_named(results, capsys):
    copy_results(source(results), CAND, scale(1.10, [PLANTED]))
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 1
    assert "**FAIL**: 1 of 16 points regressed" in out
    failing = [line for line in out.splitlines() if "REGRESSED" in line]
    assert len(failing) == 1 and TIME in failing[0] and PLANTED_PARAMS in failing[0]
    assert "| 1.100 |" in failing[0] and "Mann-Whitney" in failing[0]
    assert store.point_label(TIME, POINTS[PLANTED]) in out  # the headline names it as asv does


def test_an_identical_copy_passes(results, capsys):
    copy_results(source(results), CAND)
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "**PASS**" in out and "REGRESSED" not in out


def test_a_faster_copy_passes_and_reports_the_improvement(results, capsys):
    copy_results(source(results), CAND, scale(1 / 1.10, [PLANTED]))
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "1 improved" in out
    improved = [line for line in out.splitlines() if line.endswith("| improved |")]
    assert len(improved) == 1 and PLANTED_PARAMS in improved[0]


def test_everything_faster_passes(results, capsys):
    copy_results(source(results), CAND, scale(0.8))
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "16 improved" in out


def test_an_independent_rerun_of_the_same_kernel_passes(results, capsys):
    """A/A: new noise, same true times."""
    write_results(results, CAND, seed=2)
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "REGRESSED" not in out


def test_the_command_line_that_outside_checks_call(results):
    copy_results(source(results), CAND, scale(1.10, [PLANTED]))
    command = [sys.executable, str(GATE), "--results-only", "--results", str(results), "--machine",
               MACHINE, "--baseline", BASE[:7], "--candidate", CAND, "--threshold", "0.05"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1, done.stderr
    assert PLANTED_PARAMS in done.stdout and done.stdout.startswith("### Benchmark gate")
    assert done.stderr == ""  # stdout is the markdown, and only it


# ---------------------------------------------------------------- the rule, applied

def test_a_slowdown_within_the_threshold_passes(results, capsys):
    copy_results(source(results), CAND, scale(1.03, [PLANTED]))
    assert run_gate(results, capsys=capsys)[0] == 0


def test_the_threshold_option(results, capsys):
    copy_results(source(results), CAND, scale(1.10, [PLANTED]))
    assert run_gate(results, BASE, CAND, "--threshold", "0.15", capsys=capsys)[0] == 0
    assert run_gate(results, BASE, CAND, "--threshold", "0.08", capsys=capsys)[0] == 1


def test_thresholds_per_benchmark(results, capsys):
    copy_results(source(results), CAND, scale(1.10, [PLANTED]))
    code, out, _ = run_gate(results, BASE, CAND, "--threshold-for", "*'fragmented'*=0.15", capsys=capsys)
    assert code == 0
    code, out, _ = run_gate(results, BASE, CAND, "--threshold-for", "*'contiguous'*=0.15", capsys=capsys)
    assert code == 1 and "REGRESSED** (> 5%)" in out


def test_without_samples_the_stored_intervals_decide(tmp_path, capsys):
    results = tmp_path / "results"
    write_results(results, BASE, seed=1, record_samples=False)
    copy_results(source(results), CAND, scale(1.10, [PLANTED], stats=True))
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 1 and "99% CIs disjoint" in out and PLANTED_PARAMS in out


def test_without_any_statistics_nothing_can_fail(tmp_path, capsys):
    results = tmp_path / "results"
    write_results(results, BASE, seed=1, record_samples=False)

    def strip_stats(data):
        row = data["results"][TIME]
        del row[data["result_columns"].index("stats_ci_99_a"):]
    copy_results(source(results), CAND, lambda data: (scale(1.5)(data), strip_stats(data)))
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "no statistics: not testable" in out


def test_a_point_that_fails_on_the_candidate_fails_the_gate(tmp_path, capsys):
    results = tmp_path / "results"
    write_results(results, BASE, seed=1)
    write_results(results, CAND, seed=2, failed={PLANTED})
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 1 and "FAILED on candidate" in out and PLANTED_PARAMS in out
    code, out, _ = run_gate(results, CAND, BASE, capsys=capsys)  # and fixed the other way round
    assert code == 0 and "failed on baseline" in out


def test_nothing_measured_on_both_sides_is_not_a_pass(results, capsys):
    def skip_all(data):  # what asv stores for a point it skipped (no GPU, variant absent)
        column = data["result_columns"]
        data["results"][TIME] = data["results"][TIME][:column.index("version") + 1]
        data["results"][TIME][column.index("result")] = [float("nan")] * len(POINTS)
    copy_results(source(results), CAND, skip_all)
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and "nothing to judge" in err


def test_track_benchmarks_are_not_gated(results, capsys):
    copy_results(source(results), CAND, scale(2.0, benchmark=TRACK))  # twice the memory
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and TRACK not in out and "16 non-time points (track_*) are not gated" in out


def test_bench_selects_points_as_asv_does(results, capsys):
    copy_results(source(results), CAND, scale(1.10, [PLANTED]))
    code, out, _ = run_gate(results, BASE, CAND, "--bench", "'contiguous'", capsys=capsys)
    assert code == 0 and "in 8 points" in out
    code, _, err = run_gate(results, BASE, CAND, "--bench", "nothing_matches", capsys=capsys)
    assert code == 2 and "no time_* benchmark" in err


def test_a_changed_benchmark_version_is_flagged(results, capsys):
    def new_version(data):
        data["results"][TIME][data["result_columns"].index("version")] = "2"
    copy_results(source(results), CAND, new_version)
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0 and "† the benchmark's asv version differs" in out


def test_environments_pair_by_name_or_alone(tmp_path, capsys):
    results = tmp_path / "results"
    write_results(results, BASE, seed=1)
    write_results(results, CAND, seed=2, env="virtualenv-py3.11-torch2.14")
    code, out, _ = run_gate(results, capsys=capsys)
    assert code == 0  # two lone environments still compare
    write_results(results, BASE, seed=3, env="other")
    write_results(results, CAND, seed=4, env="third")
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and "no environment in common" in err


# ---------------------------------------------------------------- commits

def test_revs_may_be_prefixes_or_full_hashes(results, capsys):
    copy_results(source(results), CAND)
    for base, cand in ((BASE[:4], CAND[:12]), (BASE, CAND), (BASE.upper()[:10], CAND[:8])):
        assert run_gate(results, base, cand, capsys=capsys)[0] == 0


def test_an_unknown_or_ambiguous_commit_is_a_usage_error(results, capsys):
    twin = BASE[:6] + ("0" if BASE[6] != "0" else "1") + BASE[7:]
    copy_results(source(results), twin)
    code, _, err = run_gate(results, BASE, "feedface", capsys=capsys)
    assert code == 2 and "unknown commit 'feedface'" in err
    code, _, err = run_gate(results, BASE[:6], twin, capsys=capsys)
    assert code == 2 and "ambiguous commit" in err and BASE in err and twin in err
    code, _, err = run_gate(results, BASE, "no-such-branch", capsys=capsys)
    assert code == 2 and "no-such-branch" in err


class GitRepo(type(Path())):
    def rev(self, name: str) -> str:
        return subprocess.run(["git", "-C", str(self), "rev-parse", name], check=True,
                              capture_output=True, text=True).stdout.strip()


@pytest.fixture
def git_repo(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for message in ("first", "second"):
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", message],
                       check=True, env=env)

    def rev(name):
        return subprocess.run(["git", "-C", str(repo), "rev-parse", name], check=True,
                              capture_output=True, text=True).stdout.strip()
    repo.rev = rev
    return repo


def test_git_refs_resolve_in_the_repo(results, git_repo, capsys):
    first, second = git_repo.rev("HEAD~1"), git_repo.rev("main")
    write_results(results, first, seed=1)
    copy_results(results / MACHINE / f"{first[:8]}-{ENV}.json", second, scale(1.10, [PLANTED]))
    code, out, _ = run_gate(results, "HEAD~1", "main", "--repo", str(git_repo), capsys=capsys)
    assert code == 1 and f"baseline `{first[:8]}`" in out
    code, _, err = run_gate(results, "HEAD~1", BASE, "--repo", str(git_repo), capsys=capsys)
    assert code == 0  # a hash git does not know still names a stored commit
    write_results(results, BASE, seed=1)
    os.remove(results / MACHINE / f"{second[:8]}-{ENV}.json")
    code, _, err = run_gate(results, BASE, "main", "--repo", str(git_repo), capsys=capsys)
    assert code == 2 and f"no results for commit 'main' ({second})" in err


# ---------------------------------------------------------------- data errors

def test_a_corrupt_results_file_is_named(results, capsys):
    bad = copy_results(source(results), CAND)
    bad.write_text(bad.read_text()[:500])
    code, out, err = run_gate(results, capsys=capsys)
    assert code == 2 and str(bad) in err and out == ""


def test_json_nested_100000_deep_is_named_not_a_traceback(results):
    bad = copy_results(source(results), CAND)
    bad.write_text("[" * 100_000 + "]" * 100_000)
    command = [sys.executable, str(GATE), "--results-only", "--results", str(results), "--machine", MACHINE,
               "--baseline", BASE, "--candidate", CAND]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and f"corrupt results file {bad}" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def _stats_column(data, name: str) -> list:
    return data["results"][TIME][data["result_columns"].index(name)]


@pytest.mark.parametrize("damage", [
    lambda data: data["results"][TIME][0].pop(),  # a point short
    lambda data: data["results"][TIME][0].__setitem__(3, "fast"),  # not a number
    lambda data: data.pop("result_columns"),  # missing key
    lambda data: data["results"][TIME].__setitem__(0, 7),  # not a list
    lambda data: _stats_column(data, "stats_ci_99_b").__setitem__(PLANTED, "0.001"),  # a bound as a string
    lambda data: data.__setitem__("env_name", [ENV]),  # an environment name that is a list
], ids=["a point short", "not a number", "missing key", "not a list", "a string bound", "a list env_name"])
def test_a_damaged_results_file_is_named(results, capsys, damage):
    bad = copy_results(source(results), CAND, damage)
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and f"corrupt results file {bad}" in err


def test_a_file_of_another_machine_is_a_data_error(results, capsys):
    def move(data):
        data["params"]["machine"] = "a100"
    bad = copy_results(source(results), CAND, move)
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and str(bad) in err and "machine name" in err


def test_missing_results_are_named(results, tmp_path, capsys):
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and "unknown commit" in err and CAND in err
    code, _, err = run_gate(tmp_path / "nowhere", capsys=capsys)
    assert code == 2 and "no results for machine 'h100-sxm-80gb'" in err
    code = gate.main(["--results-only", "--results", str(results), "--machine", "h200",
                      "--baseline", BASE, "--candidate", CAND])
    err = capsys.readouterr().err
    assert code == 2 and "'h200'" in err and "machines there: h100-sxm-80gb" in err


def test_a_corrupt_benchmark_list_is_named(results, capsys):
    copy_results(source(results), CAND)
    (results / "benchmarks.json").write_text("{")
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and "benchmarks.json" in err


def test_a_zero_time_is_a_data_error_naming_both_files(results, capsys):
    bad = copy_results(source(results), CAND, scale(0.0, [PLANTED]))
    code, _, err = run_gate(results, capsys=capsys)
    assert code == 2 and "expected a finite time > 0" in err
    assert str(source(results)) in err and str(bad) in err


def test_a_commit_against_itself_is_a_usage_error_in_both_modes(results, git_repo, capsys):
    """It judges nothing (every ratio is 1): a pass would say nothing, as in the GPU mode."""
    code, out, err = run_gate(results, BASE, BASE[:7], capsys=capsys)
    assert code == 2 and "same commit" in err and out == ""
    assert gate.main(gpu_argv(git_repo, "--dry-run")[:1] + ["main", "--candidate", "main",
                                                             "--repo", str(git_repo)]) == 2
    assert "same commit" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--threshold", "-0.1"], "fraction >= 0"),
    (["--threshold", "nan"], "fraction >= 0"),
    (["--threshold-for", "0.1"], "GLOB=FRACTION"),
    (["--bench", "time_extend("], "not a regular expression"),
    (["--dry-run"], "--results-only runs nothing"),
    (["--config", "asv.conf.json"], "--results-only runs nothing"),
    (["--rounds", "3"], "--results-only runs nothing"),
    (["--rounds", "1"], "2 or more rounds"),
    (["-a", "rounds=4"], "--rounds N"),
])
def test_usage_errors_exit_2(results, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        run_gate(results, BASE, CAND, *argv, capsys=capsys)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_results_only_needs_a_results_dir(capsys):
    with pytest.raises(SystemExit) as exit_:
        gate.main(["--results-only", "--baseline", BASE, "--candidate", CAND])
    assert exit_.value.code == 2 and "--results DIR" in capsys.readouterr().err


# ---------------------------------------------------------------- measuring (GPU mode), on CPU

REAL_RUN = subprocess.run


def fake_subprocess(asv):
    """subprocess.run with asv replaced by ``asv(command, stdin) -> exit code``; git is real."""
    def run(command, **kwargs):
        if command[0] == "git":
            return REAL_RUN(command, **kwargs)
        return subprocess.CompletedProcess(command, asv(command, kwargs.get("input")))
    return run


def gpu_argv(repo, *extra):
    return ["--baseline", "HEAD~1", "--candidate", "main", "--repo", str(repo), "--machine", MACHINE, *extra]


def test_measuring_registers_through_the_guard_runs_asv_interleaved_then_compares(git_repo, tmp_path,
                                                                                   monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    first, second = git_repo.rev("HEAD~1"), git_repo.rev("main")
    results = tmp_path / "results"
    calls = []

    def asv(command, stdin):
        calls.append((command, stdin))
        if "run" in command:  # what asv run would store for the two commits
            write_results(results, first, seed=1)
            write_results(results, second, seed=2)
        return 2 if "run" in command else 0

    monkeypatch.setattr(subprocess, "run", fake_subprocess(asv))
    code = gate.main(gpu_argv(git_repo, "--results", str(results), "--bench", "time_extend",
                              "--config", "asv.conf.json", "-E", "virtualenv", "--rounds", "3",
                              "-a", "repeat=20"))
    out = capsys.readouterr().out
    assert code == 0 and "**PASS**" in out  # asv's exit 2 (a benchmark failed) is judged, not fatal
    (register, _), (run, stdin) = calls
    # ci/asv_machine.py, never `asv machine --yes`: it refuses a name whose stored history is
    # other hardware's (tests/test_machine_guard.py) and records the GPU
    assert register == [sys.executable, str(REPO / "ci" / "asv_machine.py"), "--machine", MACHINE,
                        "--config", "asv.conf.json"]
    asv = [sys.executable, "-m", "asv", "--config", "asv.conf.json"]
    assert run == asv + ["run", "HASHFILE:-", "--interleave-rounds", "--record-samples", "--machine",
                         MACHINE, "--attribute", "rounds=3", "--bench", "time_extend",
                         "--environment", "virtualenv", "--attribute", "repeat=20"]
    assert stdin == f"{first}\n{second}\n"


def test_measuring_stops_when_asv_cannot_run(git_repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", fake_subprocess(lambda command, stdin: 1))
    code = gate.main(gpu_argv(git_repo, "--results", str(tmp_path)))
    assert code == 2 and "exited 1" in capsys.readouterr().err


def test_dry_run_prints_the_commands_and_runs_nothing(git_repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    code = gate.main(gpu_argv(git_repo, "--dry-run", "--bench", r"time_extend\(4096"))
    register, feed_and_run = capsys.readouterr().out.splitlines()
    assert code == 0 and not (tmp_path / ".asv-machine.json").exists()
    assert shlex.split(register)[1:] == [str(REPO / "ci" / "asv_machine.py"), "--machine", MACHINE,
                                         "--config", "asv.conf.json"]
    feed, run = feed_and_run.split(" | ")
    assert shlex.split(feed) == ["printf", "%s\\n", git_repo.rev("HEAD~1"), git_repo.rev("main")]
    assert shlex.split(run)[3:] == ["run", "HASHFILE:-", "--interleave-rounds", "--record-samples",
                                    "--machine", MACHINE, "--attribute", "rounds=2",
                                    "--bench", r"time_extend\(4096"]


@pytest.mark.parametrize("gpu, name", [("NVIDIA H200, 570.86.15, 1980, 3201", "nvidia-h200"),
                                       (None, "cpu-codegen")])
def test_measuring_takes_this_machines_own_name_by_default(git_repo, tmp_path, monkeypatch, capsys, gpu, name):
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path / "bin", gpu))
    argv = ["--baseline", "HEAD~1", "--candidate", "main", "--repo", str(git_repo), "--dry-run"]
    assert gate.main(argv) == 0
    register, feed_and_run = capsys.readouterr().out.splitlines()
    for command in (shlex.split(register), shlex.split(feed_and_run.split(" | ")[1])):
        assert command[command.index("--machine") + 1] == name


def test_measuring_needs_two_commits_git_knows(git_repo, capsys):
    argv = ["--baseline", "nope", "--candidate", "main", "--repo", str(git_repo), "--dry-run"]
    assert gate.main(argv) == 2
    assert "unknown commit 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- the stored H100 history

STORED = REPO / "results"
STORED_HEAD = "683692db93589059ef085280ad84025b57af7c12"  # full suite, recorded samples


def stored_copy(tmp_path) -> Path:
    """The repo's stored H100 results, copied so that planted files never touch them."""
    if not (STORED / MACHINE / "machine.json").exists():
        pytest.fail(f"no stored results for {MACHINE} under {STORED}: they are part of the repo")
    dst = tmp_path / "stored"
    shutil.copytree(STORED, dst)
    return dst


def stored_point(results_dir: Path, index: int):
    data = json.loads((results_dir / MACHINE / f"{STORED_HEAD[:8]}-virtualenv-py3.12.json").read_text())
    params = data["results"][PR_TIME][data["result_columns"].index("params")]
    return store.point_label(PR_TIME, tuple(itertools.product(*params))[index])


PR_TIME = "bench_extend.PRMatrix.time_extend"
PLANTED_STORED = 57  # one point of the PR matrix


def plant_stored(factor):
    """Scale one stored PR-matrix point's value and samples, as a 10% slower kernel would."""
    def edit(data):
        row = data["results"][PR_TIME]
        column = {name: j for j, name in enumerate(data["result_columns"])}
        row[column["result"]][PLANTED_STORED] *= factor
        row[column["samples"]][PLANTED_STORED] = [x * factor for x in row[column["samples"]][PLANTED_STORED]]
    return edit


def test_stored_h100_results_with_a_planted_slowdown_fail_and_name_it(tmp_path, capsys):
    stored = stored_copy(tmp_path)
    source_file = stored / MACHINE / f"{STORED_HEAD[:8]}-virtualenv-py3.12.json"
    copy_results(source_file, CAND, plant_stored(1.10))
    code, out, _ = run_gate(stored, STORED_HEAD, CAND, capsys=capsys)
    assert code == 1
    assert "**FAIL**: 1 of" in out
    assert stored_point(stored, PLANTED_STORED) in out


@pytest.mark.parametrize("factor", [1.0, 1 / 1.10])
def test_stored_h100_results_identical_or_faster_pass(tmp_path, capsys, factor):
    stored = stored_copy(tmp_path)
    source_file = stored / MACHINE / f"{STORED_HEAD[:8]}-virtualenv-py3.12.json"
    copy_results(source_file, CAND, plant_stored(factor))
    code, out, _ = run_gate(stored, STORED_HEAD, CAND, capsys=capsys)
    assert code == 0 and "REGRESSED" not in out


def test_the_protocol_measures_every_pair_in_one_session_checking_only_the_named_variants(
        git_repo, tmp_path, monkeypatch):
    from benchmarks.extend_grid import VARIANTS_ENV
    from tools import gate_protocol
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(VARIANTS_ENV, "")  # recorded, so that the variable main sets is undone
    first, second = git_repo.rev("HEAD~1"), git_repo.rev("main")
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"version": 1, "repo": str(git_repo),
                                      "results_dir": str(tmp_path / "results")}))
    sessions = []

    def asv(command, stdin):
        if "run" in command:
            sessions.append((stdin, os.environ.get(VARIANTS_ENV)))
            write_results(tmp_path / "results", first, seed=1)
            write_results(tmp_path / "results", second, seed=2)
        return 0

    monkeypatch.setattr(subprocess, "run", fake_subprocess(asv))
    out = tmp_path / "reports"
    code = gate_protocol.main(["--pair", "aa=HEAD~1:main", "--pair", "back=main:HEAD~1",
                               "--repo", str(git_repo), "--machine", MACHINE, "--config", str(config),
                               "--variants", "default", "--out", str(out)])
    assert code == 0
    assert sessions == [(f"{first}\n{second}\n", "default")]  # one session, both commits once
    table = (out / "protocol.md").read_text()
    assert table.count("| aa |") == 3 and table.count("| back |") == 3  # one row per threshold
    assert (out / "gate-aa.md").exists() and (out / "gate-back.md").exists()


def test_the_protocol_refuses_a_variant_the_grid_lacks(capsys):
    from tools import gate_protocol
    with pytest.raises(SystemExit) as exit_:
        gate_protocol.main(["--pair", "aa=A:B", "--variants", "default,fast"])
    assert exit_.value.code == 2 and "--variants 'default,fast': unknown ['fast']" in capsys.readouterr().err
