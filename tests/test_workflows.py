"""The GitHub workflows, checked here because nobody can run them here.

The files must validate against the GitHub workflow schema (SchemaStore's, as vendored by
check-jsonschema), every shell step must parse as bash, the scripts they call must exist,
and the gate's command line must be one that ci/gate.py accepts.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci import gate

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


CI, GPU = load("ci.yml"), load("gpu.yml")


def steps(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_name, step


def run_scripts(workflow: dict):
    return [(job, step["run"]) for job, step in steps(workflow) if "run" in step]


OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "("}


def commands(script: str):
    """The simple commands of a step's script, split as the shell would (expressions blanked)."""
    joined = EXPRESSION.sub("EXPR", script.replace("\\\n", " "))
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for token in [*lexer, ";"]:
            if token in OPERATORS or token.startswith((">", "|", "&", ";")):
                if words:
                    yield words
                words = []
            else:
                words.append(token)


def test_the_workflows_validate_against_the_github_schema():
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, sorted(WORKFLOWS.glob("*.yml")))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", [CI, GPU], ids=["ci.yml", "gpu.yml"])
def test_every_step_does_one_thing_and_every_script_is_bash(workflow, tmp_path):
    for job, step in steps(workflow):
        assert ("uses" in step) != ("run" in step), f"{job}: {step}"
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
        else:
            assert step["run"].strip(), f"{job}: an empty run step"
            script = tmp_path / "step.sh"
            script.write_text(EXPRESSION.sub("EXPR", step["run"]))
            done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
            assert done.returncode == 0, f"{job}: {done.stderr}\n{step['run']}"


@pytest.mark.parametrize("workflow", [CI, GPU], ids=["ci.yml", "gpu.yml"])
def test_the_scripts_they_call_exist(workflow):
    called = [word for _, script in run_scripts(workflow) for words in commands(script)
              for word in words if re.fullmatch(r"\.?[\w/.-]+\.(py|sh)|\.ci/run", word)]
    assert called
    for path in called:
        assert (REPO / path).is_file(), f"{path} is called but not in the repository"


def test_cpu_ci_runs_the_project_ci_on_pushes_and_pull_requests():
    assert {"push", "pull_request"} <= set(CI["on"])
    (job,) = CI["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("actions/checkout@") for u in uses)
    setup = next(step for step in job["steps"]
                 if step.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert [step["run"].strip() for step in job["steps"] if "run" in step] == ["bash .ci/run"]


def machines(job: dict):
    return job["strategy"]["matrix"]["include"]


def test_the_gpu_jobs_run_on_self_hosted_runners_over_one_matrix_of_machines():
    gate_job, record = GPU["jobs"]["gate"], GPU["jobs"]["record"]
    assert machines(gate_job) == machines(record)
    # the machine this project measures on now; the H100's stored history is read, never written
    assert [entry["machine"] for entry in machines(gate_job)] == ["nvidia-h200"]
    for job in (gate_job, record):
        assert job["runs-on"] == ["self-hosted", "${{ matrix.runner }}"]
        assert all(entry["runner"].startswith("gpu-") for entry in machines(job))
        assert job["strategy"]["fail-fast"] is False  # one machine's failure hides no other's
    assert "pull_request" in GPU["on"] and GPU["on"]["push"]["branches"] == ["main"]
    assert "github.event_name == 'pull_request'" in gate_job["if"]
    assert "head.repo.full_name == github.repository" in gate_job["if"]  # no fork code on the runner
    assert record["if"] == "github.event_name == 'push'"


def gate_command(script: str):
    return next(words for words in commands(script) if words[:2] == ["python3", "ci/gate.py"])


def test_the_pull_request_gate_calls_the_documented_command_against_the_merge_base():
    (script,) = [s for job, s in run_scripts(GPU) if job == "gate" and "ci/gate.py" in s]
    words = gate_command(script)
    args = gate.parse_args(words[2:])  # what the gate accepts, exit 2 otherwise
    assert not args.results_only and args.baseline == "$base" and args.candidate == "$HEAD_SHA"
    assert args.machine == "$MACHINE" and args.bench == [r"bench_extend\..*\.time_"]  # never a peer's time
    assert 'base=$(git merge-base "origin/$BASE_REF" "$HEAD_SHA")' in script
    assert '>> "$GITHUB_STEP_SUMMARY"' in script and 'exit "$status"' in script
    step = next(step for _, step in steps(GPU) if step.get("run") == script)
    assert step["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
    checkout = GPU["jobs"]["gate"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0


def test_main_records_results_on_the_results_branch_and_publishes_the_dashboard():
    record = "\n".join(s for job, s in run_scripts(GPU) if job == "record")
    assert 'asv run "${GITHUB_SHA}^!" --machine "$MACHINE" --record-samples' in record
    assert "git push -q origin HEAD:results" in record
    assert GPU["jobs"]["record"]["permissions"]["contents"] == "write"
    publish = GPU["jobs"]["publish"]
    assert publish["needs"] == "record" and publish["runs-on"] == "ubuntu-latest"
    assert any("asv publish" in s for job, s in run_scripts(GPU) if job == "publish")
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert publish["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def _runs_asv(words: list) -> bool:
    return words[:4] == ["python3", "-m", "asv", "run"] or words[:2] == ["python3", "ci/gate.py"]


def _registers_through_the_guard(words: list) -> bool:
    # ci/gate.py registers through ci/asv_machine.py itself (tests/test_gate.py)
    return words[:2] in (["python3", "ci/asv_machine.py"], ["python3", "ci/gate.py"])


@pytest.mark.parametrize("job", ["gate", "record"])
def test_the_gpu_jobs_register_the_machine_through_the_guard_before_asv_runs(job):
    # ci/asv_machine.py refuses a machine name whose stored history is other hardware's
    # (tests/test_machine_guard.py); a registration by asv itself would not
    words = [words for _, script in run_scripts({"jobs": {job: GPU["jobs"][job]}}) for words in commands(script)]
    register = next(i for i, w in enumerate(words) if _registers_through_the_guard(w))
    measure = next(i for i, w in enumerate(words) if _runs_asv(w))
    assert register <= measure
    assert "--machine" in words[register]
    assert not any(w[:4] == ["python3", "-m", "asv", "machine"] for w in words)
