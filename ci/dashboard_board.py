"""The board's state in the published dashboard's machine info, without splitting asv's graphs.

    python3 ci/dashboard_board.py [--config asv.conf.json]    # after `asv publish` (asv_publish does it)

asv's dashboard shows every key of ``results/<machine>/machine.json`` in the tooltip of the
machine's button, from the ``machines`` entry of the published ``index.json``. The keys of the
machine's registration also go into every results file's parameters, and asv draws a graph
per distinct set of parameters: a key added to the registration now (a power limit, the last
run's clocks) would part every benchmark's history into before and after, and a per-run value
into one graph per run. So the board's facts (power limit and memory size, from the stored
telemetry) and the newest sampled run's summary (ci/telemetry.py) are written into the
published ``index.json`` alone, after ``asv publish``; results/ and the graphs are untouched.
Exit 2 naming the file where stored telemetry cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ci import telemetry  # noqa: E402
from ci.asv_machine import REPO, results_dir  # noqa: E402
from ci.dashboard_js import html_dir  # noqa: E402
from ci.store import StoreError  # noqa: E402


def add_board_info(index_path: Path, results: Path) -> dict:
    """Add each machine's board info to the published index.json; the keys added, per machine."""
    index = json.loads(index_path.read_text())
    added = {}
    for machine, info in index.get("machines", {}).items():
        added[machine] = telemetry.machine_info(results, machine)
        info.update(added[machine])
    index_path.write_text(json.dumps(index, separators=(",", ":")))  # compact, as asv writes it
    return added


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "asv.conf.json",
                        help="the asv config whose html_dir was published (default %(default)s)")
    args = parser.parse_args(argv)
    index = html_dir(args.config) / "index.json"
    if not index.is_file():
        print(f"dashboard_board: {index} does not exist: run asv publish first", file=sys.stderr)
        return 1
    try:
        added = add_board_info(index, results_dir(args.config))
    except StoreError as err:
        print(f"dashboard_board: {err}", file=sys.stderr)
        return 2
    for machine, info in added.items():
        print(f"dashboard machine info of {machine}: " + (", ".join(info) if info else "no telemetry stored"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
