"""The JavaScript and CSS that asv's dashboard loads from CDNs, fetched from the npm registry.

    python ci/dashboard_js.py          # once per machine: npm pack into .dashboard-js/ (git-ignored)

``asv publish`` writes an index.html that loads jQuery, flot, bootstrap and three small
plugins from CDNs. A machine that reaches only package registries cannot load them, so the
dashboard test (tests/test_dashboard.py) serves them itself: ``localize`` points the
published page at local copies. The copies come from the npm packages of the same
releases; five are byte for byte what the CDNs serve (their SRI hashes match). The other
three are not published on npm as served: flot 0.8.3's plugins come unminified from the same
release, and stupidtable (table sorting, not graphs) as 1.1.3 instead of 1.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parents[1] / ".dashboard-js"

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


if __name__ == "__main__":
    fetch()
    left = missing()
    if left:
        sys.exit(f"still missing: {left}")
    print(f"dashboard JavaScript in {VENDOR_DIR}: {len(CDN_FILES)} files")
