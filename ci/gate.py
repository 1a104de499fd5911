#!/usr/bin/env python
"""The regression gate: compare a candidate commit's benchmark results against a baseline's.

Two modes, one comparison (the rule lives in ``ci/rule.py``):

* ``--results-only``: compare results already stored in an asv results directory; no GPU.
      python ci/gate.py --results-only --results DIR --machine NAME --baseline REV --candidate REV
* otherwise, on the GPU machine: measure both commits in one session with ``asv run``,
  rounds interleaved across the two commits (as ``asv continuous`` does) and raw samples
  recorded, then compare what that run stored.
      python ci/gate.py --baseline REV --candidate REV [--bench REGEX] [--machine NAME]
  It registers the machine through ``ci/asv_machine.py`` first, as every asv job here does:
  a name whose stored history was measured on other hardware is refused (exit 2) before
  anything is written.

Exit 0: no regression (improvements are reported, never failed). Exit 1: some ``time_*``
point is slower than its threshold allows and the difference is significant, or it failed
on the candidate after working on the baseline. Exit 2: a usage or data error, named.
The markdown report goes to stdout; asv's log and the errors go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from asv import util
from asv.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ci import asv_machine, store  # noqa: E402
from ci.rule import (CI_99, DEFAULT_THRESHOLD, MANN_WHITNEY, P_THRESHOLD, Verdict, judge,  # noqa: E402
                     threshold_for)
from ci.store import FAILED, MEASURED, Key, Run, Stored, StoreError, git_commit  # noqa: E402

EXIT_PASS, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2
DEFAULT_MACHINE = "h100-sxm-80gb"  # --results-only's default: the stored H100 history
DEFAULT_CONFIG = "asv.conf.json"
DEFAULT_ROUNDS = 2  # asv then runs candidate, baseline, baseline, candidate
ASV_RUN_OK = (0, 2)  # asv run exits 2 when some benchmark failed: the comparison names it

REGRESSED = "regressed"
CANDIDATE_FAILED = "failed on candidate"
IMPROVED = "improved"
UNCHANGED = "pass"
BASELINE_FAILED = "failed on baseline"
FAILED_BOTH = "failed on both"
SKIPPED = "skipped"
ONLY_BASELINE = "only in baseline"
ONLY_CANDIDATE = "only in candidate"
FAILING = (REGRESSED, CANDIDATE_FAILED)
_ORDER = {status: rank for rank, status in enumerate(
    (REGRESSED, CANDIDATE_FAILED, IMPROVED, BASELINE_FAILED, FAILED_BOTH, SKIPPED,
     ONLY_BASELINE, ONLY_CANDIDATE, UNCHANGED))}


class GateError(Exception):
    """A usage or data error: the gate exits 2 with this message."""


# ---------------------------------------------------------------- comparison

@dataclasses.dataclass(frozen=True)
class Row:
    key: Key
    env: str  # "" when only one environment was compared
    baseline: Optional[float]  # None: failed; NaN: skipped
    candidate: Optional[float]
    threshold: float
    status: str
    verdict: Optional[Verdict] = None
    version_changed: bool = False  # the benchmark's asv version differs between the two results

    @property
    def name(self) -> str:
        return self.key.benchmark

    @property
    def label(self) -> str:
        return self.key.text


def is_gated(name: str) -> bool:
    """Only times are judged: asv stores no other kind where a rise is a slowdown."""
    return name.rsplit(".", 1)[-1].startswith("time_")


def _selected(key: Key, bench: Sequence[str]) -> bool:
    # asv's --bench semantics: a regex searched in "name(params)", or in the bare name
    # of a benchmark without parameters
    return not bench or any(re.search(regex, key.text) for regex in bench)


# (baseline's stored status, candidate's) -> the row's verdict; every other pair is skipped
_STATUS = {(FAILED, FAILED): FAILED_BOTH, (MEASURED, FAILED): CANDIDATE_FAILED,
           (store.SKIPPED, FAILED): CANDIDATE_FAILED, (FAILED, MEASURED): BASELINE_FAILED,
           (FAILED, store.SKIPPED): BASELINE_FAILED}


def compare_point(base: Stored, cand: Stored, threshold: float) -> Tuple[str, Optional[Verdict]]:
    """The point's status, and the rule's verdict where both sides hold a time."""
    if (base.status, cand.status) != (MEASURED, MEASURED):
        return _STATUS.get((base.status, cand.status), SKIPPED), None
    verdict = judge(base.point(), cand.point(), threshold)  # ValueError: not a time
    if verdict.regressed:
        return REGRESSED, verdict
    return (IMPROVED if verdict.improved else UNCHANGED), verdict


def compare_runs(baseline: Run, candidate: Run, env: str, default_threshold: float,
                 overrides: Sequence[Tuple[str, float]], bench: Sequence[str]) -> Tuple[List[Row], int]:
    """Rows for every gated point of one pair of runs, and the count of ungated points."""
    rows, ungated = [], 0
    for name in sorted(set(baseline.benchmarks()) | set(candidate.benchmarks())):
        base_points, cand_points = baseline.points(name), candidate.points(name)
        keys = [key for key in {**base_points, **cand_points} if _selected(key, bench)]
        if not is_gated(name):
            ungated += len(keys)
            continue
        version_changed = baseline.version(name) != candidate.version(name)
        rows += [_row(key, base_points.get(key), cand_points.get(key), env,
                      threshold_for(name, key.text, default_threshold, overrides), version_changed,
                      (baseline, candidate)) for key in sorted(keys, key=lambda key: key.label)]
    return rows, ungated


def _row(key: Key, base: Optional[Stored], cand: Optional[Stored], env: str, threshold: float,
         version_changed: bool, runs: Tuple[Run, Run]) -> Row:
    row = Row(key, env, None if base is None else base.value, None if cand is None else cand.value,
              threshold, "")
    if cand is None:
        return dataclasses.replace(row, status=ONLY_BASELINE)
    if base is None:
        return dataclasses.replace(row, status=ONLY_CANDIDATE)
    try:
        status, verdict = compare_point(base, cand, threshold)
    except ValueError as err:
        raise GateError(f"{key.text}: {err} (in {runs[0].path} and {runs[1].path})") from None
    return dataclasses.replace(row, status=status, verdict=verdict, version_changed=version_changed)


def pair_environments(base_envs: Dict[str, Run], cand_envs: Dict[str, Run]) -> List[Tuple[str, Run, Run]]:
    """Runs of the same environment side by side; two lone environments pair regardless."""
    common = sorted(base_envs.keys() & cand_envs.keys())
    if common:
        return [(env, base_envs[env], cand_envs[env]) for env in common]
    if len(base_envs) == len(cand_envs) == 1:
        (base_env, base), (cand_env, cand) = *base_envs.items(), *cand_envs.items()
        return [(f"{base_env} vs {cand_env}", base, cand)]
    raise GateError(f"no environment in common: baseline has {sorted(base_envs)}, "
                    f"candidate has {sorted(cand_envs)}")


@dataclasses.dataclass(frozen=True)
class Comparison:
    baseline: str  # full commit hashes
    candidate: str
    machine: str
    rows: List[Row]
    ungated: int
    default_threshold: float

    @property
    def failing(self) -> List[Row]:
        return [row for row in self.rows if row.status in FAILING]

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.failing else EXIT_PASS


def check_two_commits(baseline: str, candidate: str) -> None:
    """A commit against itself judges nothing (every ratio 1, whichever mode): a usage error."""
    if baseline == candidate:
        raise GateError(f"baseline and candidate are the same commit {baseline}; for an A/A "
                        "run compare it with an empty commit on top (see docs/GATE.md)")


def compare_stored(results_dir: str, machine: str, baseline_rev: str, candidate_rev: str, *,
                   repo: Optional[str] = ".", threshold: float = DEFAULT_THRESHOLD,
                   overrides: Sequence[Tuple[str, float]] = (), bench: Sequence[str] = ()
                   ) -> Comparison:
    stored = store.load(results_dir)
    baseline = stored.resolve(baseline_rev, machine, repo)
    candidate = stored.resolve(candidate_rev, machine, repo)
    check_two_commits(baseline, candidate)
    pairs = pair_environments(stored.at(machine, baseline), stored.at(machine, candidate))
    rows, ungated = [], 0
    for env, base, cand in pairs:
        pair_rows, pair_ungated = compare_runs(base, cand, env if len(pairs) > 1 else "", threshold,
                                               overrides, bench)
        rows += pair_rows
        ungated += pair_ungated
    matching = f" matching {list(bench)}" if bench else ""
    if not rows:
        raise GateError(f"no time_* benchmark to compare between {baseline[:8]} and "
                        f"{candidate[:8]} on {machine}{matching}")
    if not any(row.verdict or row.status in FAILING for row in rows):
        raise GateError(f"no time_* point{matching} was measured on both {baseline[:8]} and "
                        f"{candidate[:8]} on {machine} (all skipped or failed): nothing to judge")
    return Comparison(baseline, candidate, machine, rows, ungated, threshold)


# ---------------------------------------------------------------- report

def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _time(value: Optional[float]) -> str:
    return util.human_value(value, "seconds")


def _params(key: Key) -> str:
    if len(key.names) != len(key.label):
        return ", ".join(key.label)
    return ", ".join(f"{name}={value}" for name, value in zip(key.names, key.label))


def _significance(verdict: Optional[Verdict]) -> str:
    if verdict is None:
        return "-"
    if verdict.test == MANN_WHITNEY:
        verdict_text = "" if verdict.significant else ", not significant"
        return f"p={verdict.p_value:.2g} ({MANN_WHITNEY}){verdict_text}"
    if verdict.test == CI_99:
        return f"{CI_99}s {'disjoint' if verdict.significant else 'overlap'}"
    return "no statistics: not testable"


def _verdict(row: Row) -> str:
    if row.status == REGRESSED:
        return f"**REGRESSED** (> {row.threshold:.0%})"
    if row.status == CANDIDATE_FAILED:
        return "**FAILED on candidate**"
    return row.status


def _table(rows: Sequence[Row]) -> List[str]:
    lines = ["| benchmark | parameters | baseline | candidate | ratio | significance | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        name = row.name + (" †" if row.version_changed else "") + (f" [{row.env}]" if row.env else "")
        ratio = f"{row.verdict.ratio:.3f}" if row.verdict else "-"
        cells = [f"`{name}`", _params(row.key), _time(row.baseline), _time(row.candidate),
                 ratio, _significance(row.verdict), _verdict(row)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _headline(comparison: Comparison) -> List[str]:
    failing = comparison.failing
    improved = [row for row in comparison.rows if row.status == IMPROVED]
    if failing:
        lines = [f"**FAIL**: {len(failing)} of {_count(len(comparison.rows), 'point')} regressed:"]
        lines += [f"- `{row.label}`: " + (f"{row.verdict.ratio:.3f}x the baseline time, threshold "
                                          f"{row.threshold:.0%}, {_significance(row.verdict)}"
                                          if row.verdict else row.status) for row in failing]
        return lines
    return [f"**PASS**: no significant slowdown beyond its threshold in "
            f"{_count(len(comparison.rows), 'point')}; {len(improved)} improved."]


def report(comparison: Comparison) -> str:
    """The markdown for a pull-request comment or a job summary."""
    notable = sorted((row for row in comparison.rows if row.status != UNCHANGED),
                     key=lambda row: _ORDER[row.status])
    unchanged = [row for row in comparison.rows if row.status == UNCHANGED]
    lines = [f"### Benchmark gate on `{comparison.machine}`: baseline `{comparison.baseline[:8]}`, "
             f"candidate `{comparison.candidate[:8]}`", "", *_headline(comparison), ""]
    if notable:
        lines += [*_table(notable), ""]
    if unchanged:
        lines += [f"<details><summary>{_count(len(unchanged), 'point')} that pass</summary>", "",
                  *_table(unchanged),
                  "", "</details>", ""]
    lines.append(f"Rule: regressed when candidate/baseline > 1 + threshold (default "
                 f"{comparison.default_threshold:.0%}) and the difference is significant "
                 f"({MANN_WHITNEY} p < {P_THRESHOLD} on the raw samples, else disjoint {CI_99}s).")
    if any(row.version_changed for row in comparison.rows):
        lines.append("† the benchmark's asv version differs between the two results.")
    if comparison.ungated:
        lines.append(f"{comparison.ungated} non-time points (track_*) are not gated.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- GPU mode

def asv_base(args) -> List[str]:
    return [sys.executable, "-m", "asv"] + (["--config", args.config] if args.config else [])


def this_machine() -> str:
    """This machine's own asv name, from its GPU (``ci/asv_machine.py``)."""
    return asv_machine.default_name(asv_machine.gpu_fields()["gpu"])


def register_command(args) -> List[str]:
    """``ci/asv_machine.py``: the machine guard, then asv's registration of ``args.machine`` with
    this machine's GPU and software, so that asv run does not prompt. A name whose stored
    history (in the config's results_dir) is other hardware's is refused there, before asv
    writes anything."""
    return [sys.executable, os.path.abspath(asv_machine.__file__), "--machine", args.machine,
            "--config", args.config or DEFAULT_CONFIG]


def run_command(args) -> List[str]:
    """asv run over both commits: rounds interleaved across them, raw samples kept."""
    # Interleaving alternates the commits between rounds; the benchmarks may ask for one
    # round only (each costs a process and a setup_cache), so the gate sets the count.
    command = asv_base(args) + ["run", "HASHFILE:-", "--interleave-rounds", "--record-samples",
                                "--machine", args.machine,
                                "--attribute", f"rounds={args.rounds or DEFAULT_ROUNDS}"]
    for regex in args.bench:
        command += ["--bench", regex]
    for env in args.environment:
        command += ["--environment", env]
    if args.python:
        command += ["--python", args.python]
    for attribute in args.attribute:
        command += ["--attribute", attribute]
    if args.launch_method:
        command += ["--launch-method", args.launch_method]
    if args.show_stderr:
        command.append("--show-stderr")
    return command


def config_results_dir(config: Optional[str]) -> str:
    """The results_dir of the asv configuration, as asv resolves it (beside the config)."""
    path = config or DEFAULT_CONFIG
    try:
        conf = Config.load(path)
    except util.UserError as err:
        raise GateError(f"cannot read the asv configuration {path}: {err}") from None
    return os.path.join(os.path.dirname(os.path.abspath(path)), conf.results_dir)


def _run(command: List[str], stdin: Optional[str], ok: Tuple[int, ...]) -> None:
    # asv's log goes to stderr, so that stdout carries only the report
    done = subprocess.run(command, input=stdin, text=True, stdout=sys.stderr)
    if done.returncode not in ok:
        raise GateError(f"{shlex.join(command)} exited {done.returncode}")


def commits_to_measure(args) -> Tuple[str, str]:
    baseline = git_commit(args.baseline, args.repo)
    candidate = git_commit(args.candidate, args.repo)
    for rev, full in ((args.baseline, baseline), (args.candidate, candidate)):
        if full is None:
            raise GateError(f"unknown commit {rev!r}: git cannot resolve it in {args.repo}")
    check_two_commits(baseline, candidate)
    return baseline, candidate


def measure(args) -> Optional[Comparison]:
    """Mode (a): run both commits interleaved in one asv session, then compare. None: dry run."""
    baseline, candidate = commits_to_measure(args)
    args.machine = args.machine or this_machine()
    register = register_command(args)
    run = run_command(args)
    if args.dry_run:
        print(shlex.join(register))
        print(f"printf '%s\\n' {baseline} {candidate} | {shlex.join(run)}")
        return None
    results_dir = args.results or config_results_dir(args.config)
    _run(register, None, (0,))
    # asv reads the commits from stdin (HASHFILE:-), in this order
    _run(run, f"{baseline}\n{candidate}\n", ASV_RUN_OK)
    return compare_stored(results_dir, args.machine, baseline, candidate, repo=args.repo,
                          threshold=args.threshold, overrides=args.threshold_for, bench=args.bench)


# ---------------------------------------------------------------- command line

def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a fraction >= 0, e.g. 0.05")
    return value


def pattern_threshold(text: str) -> Tuple[str, float]:
    pattern, sep, value = text.rpartition("=")
    if not sep or not pattern:
        raise argparse.ArgumentTypeError(f"{text!r}: expected GLOB=FRACTION, e.g. '*fragmented*=0.08'")
    return pattern, fraction(value)


def rounds(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: interleaving needs 2 or more rounds")
    return int(text)


def regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as err:
        raise argparse.ArgumentTypeError(f"{text!r}: not a regular expression: {err}") from None
    return text


GPU_ONLY = ("config", "environment", "python", "rounds", "attribute", "launch_method", "show_stderr",
            "dry_run")


def parser() -> argparse.ArgumentParser:
    # no abbreviations: the workflow and outside checks must spell the options out
    p = argparse.ArgumentParser(prog="ci/gate.py", description=__doc__.split("\n\n")[0],
                                allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", required=True, metavar="REV")
    p.add_argument("--candidate", required=True, metavar="REV")
    p.add_argument("--results-only", action="store_true",
                   help="compare stored results; run nothing")
    p.add_argument("--results", metavar="DIR",
                   help="asv results directory (default: the asv config's results_dir)")
    p.add_argument("--machine", help=f"asv machine name (default: with --results-only {DEFAULT_MACHINE}, "
                                     "the stored H100 history; measuring, this machine's own, "
                                     "ci/asv_machine.py)")
    p.add_argument("--threshold", type=fraction, default=DEFAULT_THRESHOLD,
                   help="allowed slowdown as a fraction (default %(default)s)")
    p.add_argument("--threshold-for", type=pattern_threshold, action="append", default=[],
                   metavar="GLOB=FRACTION",
                   help="per-benchmark threshold; the glob matches the name or name(params); "
                        "first match wins; repeatable")
    p.add_argument("--bench", "-b", type=regex, action="append", default=[], metavar="REGEX",
                   help="only benchmarks matching (asv's --bench semantics); repeatable")
    p.add_argument("--repo", default=".", help="git repository to resolve REVs in (default .)")
    gpu = p.add_argument_group("measuring (without --results-only)")
    gpu.add_argument("--config", help="asv configuration file, passed to asv")
    gpu.add_argument("--environment", "-E", action="append", default=[], help="passed to asv run")
    gpu.add_argument("--python", help="passed to asv run")
    gpu.add_argument("--rounds", type=rounds,
                     help=f"asv rounds, alternating the two commits (default {DEFAULT_ROUNDS})")
    gpu.add_argument("--attribute", "-a", action="append", default=[], metavar="KEY=VALUE",
                     help="passed to asv run, e.g. repeat=20 (rounds: use --rounds)")
    gpu.add_argument("--launch-method", choices=("auto", "spawn", "forkserver"))
    gpu.add_argument("--show-stderr", action="store_true")
    gpu.add_argument("--dry-run", action="store_true", help="print the asv commands, run nothing")
    return p


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    if any(attribute.startswith("rounds=") for attribute in args.attribute):
        p.error("set the rounds with --rounds N")
    if args.results_only:
        misplaced = [name for name in GPU_ONLY if getattr(args, name) not in (None, False, [])]
        if misplaced:
            p.error(f"--results-only runs nothing: drop --{misplaced[0].replace('_', '-')}")
        if not args.results:
            p.error("--results-only needs --results DIR")
        args.machine = args.machine or DEFAULT_MACHINE
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        if args.results_only:
            comparison = compare_stored(args.results, args.machine, args.baseline, args.candidate,
                                        repo=args.repo, threshold=args.threshold,
                                        overrides=args.threshold_for, bench=args.bench)
        else:
            comparison = measure(args)
            if comparison is None:
                return EXIT_PASS
    except (GateError, StoreError) as err:
        print(f"gate: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.write(report(comparison))
    return comparison.exit_code


if __name__ == "__main__":
    sys.exit(main())
