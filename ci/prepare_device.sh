#!/usr/bin/env bash
# Before an asv job on the device machine: the wheels (.whl/, once) and the git history
# (.bundle/repo.bundle, after every commit) that the copy sent there lacks. Both folders are
# git-ignored; the device tool's call carries them: `carry: [".whl", ".bundle"]`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls .whl/*.whl >/dev/null 2>&1; then
    bash ci/fetch_wheels.sh
fi
mkdir -p .bundle
git bundle create -q .bundle/repo.bundle --all
echo "carry .whl ($(du -sh .whl | cut -f1)) and .bundle ($(du -sh .bundle | cut -f1)): HEAD is $(git rev-parse --short HEAD)"
