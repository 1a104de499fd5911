#!/usr/bin/env bash
# Before a job on the device machine: what the copy sent there lacks, as git-ignored folders
# that the device tool's call carries (`carry: [".whl", ".bundle", ".dashboard-js"]`):
#   .whl/            the wheels asv needs (once)
#   .bundle/         the git history, as a bundle (after every commit)
#   .dashboard-js/   the dashboard's scripts, for ci/main.sh's offline dashboard (once)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls .whl/*.whl >/dev/null 2>&1; then
    bash ci/fetch_wheels.sh
fi
python3 ci/dashboard_js.py
mkdir -p .bundle
git bundle create -q .bundle/repo.bundle --all
echo "carry .whl ($(du -sh .whl | cut -f1)), .bundle ($(du -sh .bundle | cut -f1)) and .dashboard-js" \
     "($(du -sh .dashboard-js | cut -f1)): HEAD is $(git rev-parse --short HEAD)"
