#!/usr/bin/env bash
# Before a job on the device machine: what the copy sent there lacks, as git-ignored folders
# that the device tool's call carries (`carry: [".whl", ".bundle", ".dashboard-js"]`):
#   .whl/            the wheels asv needs (once)
#   .bundle/         the git history, as a bundle (after every commit)
#   .dashboard-js/   the dashboard's scripts, for ci/main.sh's offline dashboard (once)
# and what one call's copy comes to with them, against the device's 64 MiB.
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

# One call's copy (the working tree git does not ignore, plus the carried folders) may hold
# 64 MiB. The tree and the bundle grow with every commit of results, logs and plots, so say
# which carries still fit rather than let a call be refused. What does not fit cold can go in
# a second call on the warm machine, where the first call's carried folders stay.
limit_mib=64
mib() {  # the size of the NUL-separated paths on stdin, in MiB (a path deleted here counts 0)
    { du -cb --files0-from=- 2>/dev/null || true; } | tail -n 1 | awk '{printf "%.1f", $1 / 1048576}'
}
tree=$(git ls-files -z --cached --others --exclude-standard | mib)
report() {  # report NAME PATH...: the copy's size with these folders carried
    local total
    total=$(awk -v a="$tree" -v b="$(printf '%s\0' "${@:2}" | mib)" 'BEGIN {printf "%.1f", a + b}')
    if awk -v t="$total" -v limit="$limit_mib" 'BEGIN {exit !(t > limit)}'; then
        echo "  $1: $total MiB, over the device's $limit_mib MiB: does not fit in one call"
    else
        echo "  $1: $total MiB"
    fi
}
echo "one call's copy: the tree $tree MiB, and with"
report "the asv jobs (.whl .bundle .dashboard-js)" .whl .bundle .dashboard-js
if [ -d .providers ]; then
    report "the peers jobs (.whl .bundle .providers; FlashInfer's JIT then takes ~110 s)" \
        .whl .bundle .providers
    if [ -d .device-cache ]; then
        report "  and .device-cache (the compile caches: ci/compile_caches.py)" .whl .bundle .providers \
            .device-cache
    fi
fi
