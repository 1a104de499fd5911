"""The JavaScript and CSS that asv's dashboard loads from CDNs, fetched from the npm registry and
served from the published folder itself, so that the dashboard renders offline.

    python3 ci/dashboard_js.py             # npm pack into .dashboard-js/ (git-ignored), once per machine
    python3 ci/dashboard_js.py --publish   # after `asv publish`: the files into html/vendor/ and the
                                           # page pointed at them (fetched first where missing)

``asv publish`` writes an index.html that loads jQuery, flot, bootstrap and three small
plugins from CDNs: without a network the page shows asv's "Can not determine continental
origin of swallow" and nothing else. ``--publish`` (run by ``asv_publish`` in
ci/asv_env.sh, which ci/main.sh uses) copies local copies into the published folder and
points the page at them. The copies come from the npm packages of the same releases; five
are byte for byte what the CDNs serve (their SRI hashes match). The other three are not
published on npm as served: flot 0.8.3's plugins come unminified from the same release, and
stupidtable (table sorting, not graphs) as 1.1.3 instead of 1.0.1. A machine that reaches no
registry (the GPU machine) gets .dashboard-js/ carried (ci/prepare_device.sh fetches it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDOR_DIR = REPO / ".dashboard-js"
PUBLISHED_VENDOR = "vendor"  # beside the published index.html

# URL in asv 0.6.6's index.html -> (npm package, file in its tarball)
CDN_FILES = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": ("flot@0.8.3", "jquery.flot.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js": ("flot@0.8.3", "jquery.flot.time.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js":
        ("flot@0.8.3", "jquery.flot.selection.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js":
        ("flot@0.8.3", "jquery.flot.categories.js"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js":
        ("stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": ("blueimp-md5@2.19.0", "js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": ("bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
}
_CDN_TAG = re.compile(r'<script [^>]*src="(https://[^"]+)"[^>]*>|<link [^>]*href="(https://[^"]+)"[^>]*>')


def local_name(url: str) -> str:
    """The file a CDN URL is served from locally: the npm package's and file's names."""
    package, path = CDN_FILES[url]
    return f"{package.replace('@', '-')}-{os.path.basename(path)}"


def missing() -> list:
    return [url for url in CDN_FILES if not (VENDOR_DIR / local_name(url)).is_file()]


def fetch() -> None:
    """npm pack each package once and keep the files the dashboard loads."""
    VENDOR_DIR.mkdir(exist_ok=True)
    by_package = {}
    for url in missing():
        by_package.setdefault(CDN_FILES[url][0], []).append(url)
    for package, urls in by_package.items():
        with tempfile.TemporaryDirectory() as tmp:
            name = subprocess.run(["npm", "pack", "--silent", package], cwd=tmp, check=True,
                                  capture_output=True, text=True).stdout.split()[-1]
            with tarfile.open(os.path.join(tmp, name)) as tar:
                for url in urls:
                    member = tar.extractfile(f"package/{CDN_FILES[url][1]}")
                    with open(VENDOR_DIR / local_name(url), "wb") as out:
                        shutil.copyfileobj(member, out)


def localize(html: str, prefix: str) -> str:
    """``html`` with every CDN script and stylesheet loaded from ``prefix``/<local name> instead.

    Their ``integrity`` attributes go: three local files are not the CDN's bytes. A CDN URL
    that is not in CDN_FILES (a newer asv) raises KeyError naming it.
    """
    def local(match: re.Match) -> str:
        url = match.group(1) or match.group(2)
        tag = match.group(0).replace(url, f"{prefix}/{local_name(url)}")
        return re.sub(r'\s+integrity="[^"]*"', "", tag)
    return _CDN_TAG.sub(local, html)


class PublishError(Exception):
    """The published dashboard cannot be made to render offline; the message says why."""


def fetch_missing() -> None:
    try:
        fetch()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PublishError(f"the dashboard's scripts are not in {VENDOR_DIR} and npm could not fetch them ({exc}); "
                           "where no registry is reachable, carry .dashboard-js (ci/prepare_device.sh fetches it)"
                           ) from exc
    if missing():
        raise PublishError(f"still missing from {VENDOR_DIR}: {missing()}")


def publish(html_dir: Path) -> None:
    """The CDN files into ``html_dir``/vendor and its index.html pointed at them."""
    index = html_dir / "index.html"
    if not index.is_file():
        raise PublishError(f"{index} does not exist: run asv publish first")
    try:
        page = localize(index.read_text(), PUBLISHED_VENDOR)
    except KeyError as exc:
        raise PublishError(f"{index} loads {exc} from a CDN, and no local copy of it is known "
                           "(a newer asv? add it to CDN_FILES)") from exc
    fetch_missing()
    (html_dir / PUBLISHED_VENDOR).mkdir(exist_ok=True)
    for url in CDN_FILES:
        shutil.copyfile(VENDOR_DIR / local_name(url), html_dir / PUBLISHED_VENDOR / local_name(url))
    index.write_text(page)


def html_dir(config: Path) -> Path:
    """The asv config's html_dir (relative to the config's folder, as asv reads it)."""
    return config.parent / json.loads(config.read_text())["html_dir"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", action="store_true",
                        help="serve the scripts from the published dashboard (after asv publish)")
    parser.add_argument("--config", type=Path, default=REPO / "asv.conf.json",
                        help="the asv config whose html_dir was published (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.publish:
            publish(html_dir(args.config))
            print(f"dashboard in {html_dir(args.config)}: its scripts served from {PUBLISHED_VENDOR}/")
        else:
            fetch_missing()
            print(f"dashboard JavaScript in {VENDOR_DIR}: {len(CDN_FILES)} files")
    except PublishError as exc:
        print(f"dashboard_js: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
