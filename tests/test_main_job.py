"""`bash ci/main.sh` on a fresh clone, as a new user runs it: the checkout it leaves, and the
dashboard it built, opened offline in headless Chromium.

The job runs once, in a clone holding this working tree (tests/checkout.py), with HOME a
fresh folder and nvidia-smi answering "no GPU", so that it takes the CPU's path everywhere:
the codegen metrics only, as machine cpu-codegen (about 2 minutes). The clone's stored
cpu-codegen record is made another host's, as it is on a new user's machine. Checked:

- `git status` shows no modified tracked file, only new results files (the stored machine
  record and the committed pictures are as they were), and asv's machine registration did
  not go to ~/.asv-machine.json;
- the html/ it published, served from localhost with every other host unresolvable, loads
  all its scripts: the PR-matrix graph of the stored H100 history has flot's canvas, axes, a
  legend and points, and the machine info holds the GPU and software, and the board's state
  where telemetry is stored (a synthetic file, sampled through the stored H200 run);
- the README's dashboard links open the PR matrix with the five variants compared.

The job fetches the dashboard's scripts with npm (ci/dashboard_js.py); the browser tests need
Debian's chromium (.ci/run installs it). Without them the tests skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import datetime
import functools
import http.server
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

from benchmarks.workloads import VARIANT_NAMES
from ci import store, telemetry
from synthetic_results import BoardState, telemetry_lines, write_telemetry
from tests.checkout import REPO, clone_with_working_tree, commit_all, fake_nvidia_smi, modified_tracked_files

BENCHMARK = "bench_extend.PRMatrix.time_extend"
STORED_GPU_MACHINE = "h100-sxm-80gb"
H200_MACHINE = "nvidia-h200"
CPU_MACHINE = "cpu-codegen"
README_VIEW = re.compile(r"\(http://127\.0\.0\.1:8080/(#[^)\s]+)\)")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=20000",
                  # offline: no host resolves but the test's own server
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(f"{reason} (CI must install it: see this module's docstring)")
    pytest.skip(reason)


def _store_another_hosts_record(clone: Path) -> None:
    """The clone's stored cpu-codegen record, as measured on another host (same: no GPU), committed."""
    record = clone / "results" / CPU_MACHINE / "machine.json"
    stored = json.loads(record.read_text())
    stored.update(cpu="another CPU", num_cpu="64", ram="1", os="Linux 0.0")
    record.write_text(json.dumps(stored, indent=4))
    commit_all(clone, "another host's record")


def _store_telemetry_of_the_first_h200_run(clone: Path) -> str:
    """The board sampled through the stored H200 run of the first kernel commit, stored as the
    import stores it, in place of the telemetry stored for real (whose numbers are not this
    test's to fix); that run's short hash."""
    run = next(r for r in store.load(clone / "results").history(H200_MACHINE) if r.measured(BENCHMARK))
    shutil.rmtree(telemetry.folder(clone / "results", H200_MACHINE), ignore_errors=True)
    start = min(start for start, _ in run.intervals().values()) - 10_000
    end = max(end for _, end in run.intervals().values()) + 10_000
    lines = telemetry_lines(datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc),
                            (end - start) / 1000, lambda t: BoardState(sm_mhz=1755, power_w=690, reasons=0x4))
    sampled = write_telemetry(clone / "telemetry.csv", lines)
    write_telemetry(telemetry.folder(clone / "results", H200_MACHINE) / telemetry.read_file(sampled).stored_name,
                    lines)
    sampled.unlink()
    commit_all(clone, "telemetry of the first H200 run")
    return run.short


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """(the clone, the job's HOME) after `bash ci/main.sh` ran there and exited 0."""
    if shutil.which("npm") is None:
        _unavailable("no npm: the main job fetches the dashboard's scripts with it")
    tmp = tmp_path_factory.mktemp("main-job")
    clone = clone_with_working_tree(tmp / "checkout")
    _store_another_hosts_record(clone)
    _store_telemetry_of_the_first_h200_run(clone)
    home = tmp / "home"
    home.mkdir()
    real_home = Path.home()
    env = dict(os.environ, HOME=str(home), ASV_WORK=str(tmp / "work"), PYTHON=sys.executable,
               PATH=fake_nvidia_smi(tmp / "bin", None),
               # the caches stay the user's, as they would for a user: only asv's registration is checked
               PIP_CACHE_DIR=str(real_home / ".cache" / "pip"),
               TRITON_CACHE_DIR=os.environ.get("TRITON_CACHE_DIR", str(real_home / ".triton" / "cache")))
    for name in ("TRITON_INTERPRET", "ASV_MACHINE"):  # conftest's switch for the kernel tests; a name override
        env.pop(name, None)
    done = subprocess.run(["bash", "ci/main.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return clone, home


def test_the_main_job_leaves_no_tracked_file_modified(main_job):
    clone, _ = main_job
    modified = modified_tracked_files(clone)
    # asv's discovery rewrites benchmarks.json on every run; committed, it must be what discovery
    # writes for this commit (a setup_cache key is a line number: an edit above one moves it)
    assert modified == [], (f"{modified}: for results/benchmarks.json, commit the one the job wrote "
                            f"({clone / 'results' / 'benchmarks.json'})")
    new = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert new, "the job stored no results"
    assert all(re.fullmatch(r"\?\? results/[\w.-]+/[0-9a-f]{8}-[\w.-]+\.json", line) for line in new), new


def test_the_main_job_keeps_asvs_machine_registration_in_its_work_folder(main_job):
    _, home = main_job
    assert not (home / ".asv-machine.json").exists()


@pytest.fixture(scope="module")
def chromium() -> str:
    path = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if path is None:
        _unavailable("no chromium: apt-get install -y chromium")
    return path


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requested: list

    def log_message(self, *args):  # the requests are recorded, not printed
        self.requested.append(self.path)


@pytest.fixture(scope="module")
def served(main_job):
    """(base URL, requested paths, html folder): the job's html/ on localhost, as `asv preview` serves it."""
    html = main_job[0] / "html"
    requested = []
    handler = functools.partial(type("Handler", (_RecordingHandler,), {"requested": requested}), directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested, html
    server.shutdown()
    server.server_close()


def _open(chromium: str, url: str, profile: Path) -> str:
    """The main graph's part of the page's DOM, after its scripts ran."""
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Can not determine continental origin of swallow" not in done.stdout, "a script failed to load"
    return done.stdout[done.stdout.index('id="main-graph"'):]


def _points_fetched(requested: list, html: Path) -> list:
    """The values in the graph files of BENCHMARK that the page fetched."""
    fetched = [path.split("?")[0] for path in requested if path.split("?")[0].endswith(f"/{BENCHMARK}.json")]
    graph_files = [html / urllib.parse.unquote(path.lstrip("/")) for path in fetched if "/summary/" not in path]
    assert graph_files, f"the page fetched no graph of {BENCHMARK}: {requested}"
    return [v for path in graph_files for _, per_param in json.loads(path.read_text())
            for v in (per_param if isinstance(per_param, list) else [per_param])]


def test_the_published_page_loads_nothing_from_elsewhere(main_job):
    index = (main_job[0] / "html" / "index.html").read_text()
    assert not re.search(r'(src|href)="https?://(?!github.com)', index), "a script or stylesheet left on a CDN"


def test_the_pr_matrix_graph_renders_offline_with_points(chromium, served, tmp_path):
    base, requested, html = served
    requested.clear()
    # other machines (the CPU's) have no PR-matrix times: show the stored H100 history
    main_graph = _open(chromium, f"{base}/#{BENCHMARK}?machine={STORED_GPU_MACHINE}", tmp_path / "profile")

    assert '<canvas class="flot-base"' in main_graph
    tick_labels = re.findall(r'class="flot-tick-label tickLabel"[^>]*>([^<]+)<', main_graph)
    assert len(tick_labels) >= 3, "no axis drawn"
    assert re.search(r'class="legendLabel"', main_graph), "no series in the legend"
    values = _points_fetched(requested, html)
    assert any(isinstance(v, (int, float)) and v > 0 for v in values), "the graph data has no points"


def test_the_readme_views_compare_the_five_variants(chromium, served, tmp_path):
    base, requested, html = served
    views = README_VIEW.findall((REPO / "README.md").read_text())
    assert len(views) >= 2, "the README links no dashboard view"
    for number, view in enumerate(views):
        requested.clear()
        main_graph = _open(chromium, base + "/" + view, tmp_path / f"profile{number}")

        legend = re.findall(r'class="legendLabel">([^<]+)<', main_graph)
        shown = sorted(re.search(r"variant-(\w+)", label).group(1) for label in legend)
        assert shown == sorted(VARIANT_NAMES), f"{view}: {legend}"
        assert any(isinstance(v, (int, float)) and v > 0 for v in _points_fetched(requested, html)), view


def test_the_machine_info_shows_the_gpu_and_software(main_job):
    machines = json.loads((main_job[0] / "html" / "index.json").read_text())["machines"]
    assert STORED_GPU_MACHINE in machines
    for name, info in machines.items():
        assert {"gpu", "cuda", "torch", "triton"} <= set(info), name


def test_the_machine_info_shows_the_boards_state_where_telemetry_is_stored(main_job):
    machines = json.loads((main_job[0] / "html" / "index.json").read_text())["machines"]
    info = machines[H200_MACHINE]
    assert (info["gpu_power_limit"], info["gpu_memory"]) == ("700 W", "140 GiB")
    assert re.fullmatch(r"commit 248c14b9, measured 2026-11-29 \d\d:\d\d UTC: SM 1755 MHz median \(1755 min\), "
                        r"power 690 W median of a 700 W limit, 50 °C max, throttled in 100% of \d+ samples "
                        r"\(SW power cap 100%\)", info["telemetry_newest_run"]), info["telemetry_newest_run"]
    assert "telemetry_newest_run" not in machines[STORED_GPU_MACHINE]
    assert (main_job[0] / "html" / "plots" / f"telemetry-{H200_MACHINE}.png").is_file()
