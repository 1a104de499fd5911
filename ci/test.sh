#!/usr/bin/env bash
# The test command: set up, then run the suite (interpreter on CPU, compiled on a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
python3 -m pytest -q "$@"
