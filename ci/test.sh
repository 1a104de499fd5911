#!/usr/bin/env bash
# The test command: set up, run the suite (interpreter on CPU, compiled on a GPU), then the
# codegen gate (sm_90 compiles on the CPU against ci/codegen_baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
python3 -m pytest -q "$@"
python3 ci/codegen_gate.py
