"""The asv dashboard, built by `asv publish` and opened in headless Chromium, draws the PR matrix.

The results are the repo's own (results/) when they hold PR-matrix times; until the first
GPU run brings some, a small synthetic set written through asv's Results API over this
repo's last commits. The page is served from localhost (file:// blocks the page's fetches),
with the scripts asv loads from CDNs served locally (ci/dashboard_js.py). Checked: the
graph of bench_extend.PRMatrix.time_extend has flot's canvas, axes and a legend entry per
series, the graph data it fetched holds points, and the machine's GPU and software are in
the machine info the dashboard shows.

Needs Debian's chromium (`apt-get install -y chromium`) and `python3 ci/dashboard_js.py`
(npm). Without them the test skips, except under CI=true, where it fails.
"""

import functools
import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

from asv import util
from asv.results import Results
from asv.runner import BenchmarkResult

from benchmarks.bench_extend import PRMatrix
from ci import asv_machine, dashboard_js

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = "bench_extend.PRMatrix.time_extend"
SYNTHETIC_MACHINE = "synthetic-h100"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=20000"]


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(f"{reason} (CI must install it: see this module's docstring)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if path is None:
        _unavailable("no chromium: apt-get install -y chromium")
    if dashboard_js.missing():
        _unavailable("the dashboard's JavaScript is not fetched: python3 ci/dashboard_js.py")
    return path


def _asv_env(home: Path) -> dict:
    env = dict(os.environ, HOME=str(home), ASV_PYTHONPATH=str(REPO))
    env.pop("TRITON_INTERPRET", None)  # set by conftest for the kernel tests; asv compiles nothing here
    return env


def _asv(config: Path, env: dict, *args) -> None:
    subprocess.run([sys.executable, "-m", "asv", "--config", str(config), *args], env=env, check=True,
                   capture_output=True, text=True)


def _stored_results():
    """(the repo's results folder, a machine in it with PR-matrix times), or (None, None)."""
    results_dir = REPO / "results"
    for path in sorted(results_dir.glob("*/*.json")):
        if path.name in ("machine.json", "benchmarks.json"):
            continue
        results = Results.load(str(path))
        if BENCHMARK in results.get_all_result_keys():
            values = results.get_result_value(BENCHMARK, results.get_result_params(BENCHMARK))
            if any(isinstance(v, float) and v == v for v in values):
                return results_dir, path.parent.name
    return None, None


def _recent_commits(count: int) -> list:
    lines = subprocess.run(["git", "-C", str(REPO), "log", "--first-parent", f"-{count}", "--format=%H %ct", "main"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    return [(line.split()[0], int(line.split()[1]) * 1000) for line in reversed(lines) if line]


def _write_synthetic(results_dir: Path, config: Path, env: dict) -> None:
    """benchmarks.json by asv's own discovery, then a few commits of made-up PR-matrix times."""
    _asv(config, env, "machine", "--yes", "--machine", SYNTHETIC_MACHINE)
    _asv(config, env, "run", "--bench", "just-discover", "-E", "existing:same", "--machine", SYNTHETIC_MACHINE)
    version = util.load_json(str(results_dir / "benchmarks.json"))[BENCHMARK]["version"]
    machine = asv_machine.machine_info(SYNTHETIC_MACHINE, asv_machine.gpu_fields())
    util.write_json(str(results_dir / SYNTHETIC_MACHINE / "machine.json"), machine, api_version=1)
    params = [[repr(value) for value in axis] for axis in PRMatrix.params]
    points = list(itertools.product(*PRMatrix.params))
    for step, (commit, date) in enumerate(_recent_commits(3)):
        results = Results({**machine, "python": "3.12"}, {}, commit, date, "3.12", "virtualenv-py3.12", {})
        seconds = [n_ctx / 1024 * 1e-3 * (1 - 0.05 * step) for n_ctx, *_ in points]
        results.add_result({"name": BENCHMARK, "version": version, "params": params},
                           BenchmarkResult(result=seconds, samples=[[s] * 10 for s in seconds],
                                           number=[1] * len(seconds), errcode=0, stderr="", profile=None),
                           record_samples=True)
        results.save(str(results_dir))


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requested: list

    def log_message(self, *args):  # the requests are recorded, not printed
        self.requested.append(self.path)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, chromium):
    """(html folder, machine with PR-matrix times) of a published dashboard, its CDN scripts
    served locally."""
    tmp = tmp_path_factory.mktemp("dashboard")
    results_dir, machine = _stored_results()
    if results_dir is None:
        results_dir, machine = tmp / "results", SYNTHETIC_MACHINE
    config = tmp / "asv.conf.json"
    conf = json.loads((REPO / "asv.conf.json").read_text())
    conf.update(repo=str(REPO), benchmark_dir=str(REPO / "benchmarks"), results_dir=str(results_dir),
                html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    config.write_text(json.dumps(conf))
    env = _asv_env(tmp)
    if results_dir == tmp / "results":
        _write_synthetic(results_dir, config, env)
    _asv(config, env, "publish")
    html = tmp / "html"
    shutil.copytree(dashboard_js.VENDOR_DIR, html / "vendor")
    index = html / "index.html"
    index.write_text(dashboard_js.localize(index.read_text(), "vendor"))
    assert not re.search(r'(src|href)="https://(?!github.com)', index.read_text()), "a CDN file left"
    return html, machine


@pytest.fixture(scope="module")
def served(dashboard):
    html, _ = dashboard
    requested = []
    handler = functools.partial(type("Handler", (_RecordingHandler,), {"requested": requested}), directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()
    server.server_close()


def _dump_dom(chromium: str, url: str, profile: Path) -> str:
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_pr_matrix_graph_renders_with_points(chromium, served, dashboard, tmp_path):
    base, requested = served
    html, machine = dashboard
    # other machines (e.g. cpu-codegen) have no PR-matrix times: show the one that has them
    dom = _dump_dom(chromium, f"{base}/#{BENCHMARK}?machine={machine}", tmp_path / "profile")

    assert "Can not determine continental origin of swallow" not in dom, "a script failed to load"
    main_graph = dom[dom.index('id="main-graph"'):]
    assert '<canvas class="flot-base"' in main_graph
    tick_labels = re.findall(r'class="flot-tick-label tickLabel"[^>]*>([^<]+)<', main_graph)
    assert len(tick_labels) >= 3, "no axis drawn"
    assert re.search(r'class="legendLabel"', main_graph), "no series in the legend"

    fetched = [path.split("?")[0] for path in requested if path.split("?")[0].endswith(f"/{BENCHMARK}.json")]
    graph_files = [html / urllib.parse.unquote(path.lstrip("/")) for path in fetched if "/summary/" not in path]
    assert graph_files, f"the page fetched no graph of {BENCHMARK}: {requested}"
    points = json.loads(graph_files[0].read_text())
    values = [v for _, per_param in points for v in (per_param if isinstance(per_param, list) else [per_param])]
    assert any(isinstance(v, (int, float)) and v > 0 for v in values), "the graph data has no points"


def test_the_machine_info_shows_the_gpu_and_software(dashboard):
    html, _ = dashboard
    machines = json.loads((html / "index.json").read_text())["machines"]
    described = [info for info in machines.values() if "gpu" in info]
    assert described, f"no machine with GPU details: {sorted(machines)}"
    for info in described:
        assert {"gpu", "cuda", "torch", "triton"} <= set(info)
