"""The README's asv and gate commands run as printed, and its gate figures are what the gate prints.

The asv block runs in a fresh clone holding this working tree (tests/checkout.py), line by
line after its first (`source ci/asv_env.sh && asv_prepare`), each expected to exit 0. The
lines that measure (`run`, `continuous`: the whole suite, a GPU's work) and the server
(`preview`) are not run here, and the test names them, so that a new line cannot go untested
unnoticed. The gate's table is checked against the gate itself, run over every pair of
consecutive stored H100 commits: the pairs it fails are the table's rows, with the point and
ratio the table quotes. The H100-to-H200 table is the one plots/render.py generates from the
stored results.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ci.gate import DEFAULT_MACHINE
from plots import machines
from plots.history import load_histories
from tests.checkout import REPO, clone_with_working_tree

README = (REPO / "README.md").read_text()
SECTION = README[README.index("## asv, the gate, bisection"):]
NOT_RUN_HERE = {"$ASV run HEAD^!", "$ASV run --skip-existing-commits 248c14b..HEAD", "$ASV continuous HEAD~1 HEAD",
                "$ASV preview"}


def _blocks(text: str) -> list:
    """The commands of each ```bash block: continuation lines joined, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [[re.sub(r"\s+#.*$", "", line).strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]
            for block in blocks]


ASV_BLOCK, GATE_BLOCK = _blocks(SECTION)[:2]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return clone_with_working_tree(tmp_path_factory.mktemp("readme") / "checkout")


def test_the_asv_block_leaves_only_measuring_and_serving_lines_out():
    prepare, *commands = ASV_BLOCK
    assert prepare == "source ci/asv_env.sh && asv_prepare"
    assert NOT_RUN_HERE <= set(commands)


@pytest.mark.parametrize("command", [c for c in ASV_BLOCK[1:] if c not in NOT_RUN_HERE])
def test_the_asv_commands_run_as_printed(clone, tmp_path, command):
    env = dict(os.environ, HOME=str(tmp_path), ASV_WORK=str(tmp_path / "work"), PYTHON=sys.executable)
    env.pop("ASV_MACHINE", None)
    done = subprocess.run(["bash", "-c", f"{ASV_BLOCK[0]} && {command}"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _gate(baseline: str, candidate: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "ci/gate.py", "--results-only", "--results", "results",
                           "--machine", DEFAULT_MACHINE, "--baseline", baseline, "--candidate", candidate],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_gate_command_exits_as_its_comment_says():
    [printed] = [line for line in GATE_BLOCK if line.startswith("python3 ci/gate.py")]
    expected = int(re.search(r"# exit (\d)", SECTION[SECTION.index("python3 ci/gate.py"):]).group(1))
    done = subprocess.run(printed, shell=True, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == expected, done.stdout[-2000:] + done.stderr[-2000:]


def _stored_commits() -> list:
    """The stored H100 commits, oldest first (the order of the history)."""
    stored = {path.name[:8] for path in (REPO / "results" / DEFAULT_MACHINE).glob("*-*.json")}
    history = subprocess.run(["git", "log", "--reverse", "--format=%H"], cwd=REPO, check=True, capture_output=True,
                             text=True).stdout.split()
    return [commit[:7] for commit in history if commit[:8] in stored]


def test_the_gate_fails_exactly_the_steps_the_readme_names():
    rows = re.findall(r"^\| `(\w+)→(\w+)`[^|]*\| (\d) \| `([^`]+)`: ([\d.]+x) \|", SECTION, re.M)
    assert len(rows) == 3, "the README's table of flagged steps"
    named = {(baseline, candidate): (int(code), point, ratio) for baseline, candidate, code, point, ratio in rows}

    commits = _stored_commits()
    failed = {}
    for baseline, candidate in zip(commits, commits[1:]):
        done = _gate(baseline, candidate)
        assert done.returncode in (0, 1), done.stderr
        if done.returncode:
            failed[(baseline, candidate)] = done.stdout
    assert set(failed) == set(named)
    for pair, (code, point, ratio) in named.items():
        assert code == 1
        assert f"`{point}`: {ratio} the baseline time" in failed[pair], failed[pair][:2000]


def test_the_h100_to_h200_table_is_the_one_generated_from_the_stored_results():
    histories = {h.machine: h for h in load_histories(REPO / "results")}
    comparison = machines.compare(histories[machines.BEFORE], histories[machines.AFTER])
    table = README[README.index("| " + " | ".join(machines.summary_header(comparison)) + " |"):].split("\n\n")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert rows == machines.summary_rows(comparison)
    generated = REPO / "plots" / "out" / f"{machines.BEFORE}-to-{machines.AFTER}.md"
    assert generated.read_text() == machines.comparison_table(comparison)
    assert f"]({generated.with_suffix('.png').relative_to(REPO)})" in README
