#!/usr/bin/env bash
# The test command: set up, run the suite (interpreter on CPU, compiled on a GPU), then the
# codegen gate (sm_90 compiles on the CPU against ci/codegen_baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
# the peers' Triton kernels run under the interpreter too (tests/test_peers.py): SGLang's, fetched
python3 -c "import sys; from benchmarks.providers import fetched as f
sys.exit(any(f.missing_or_changed(r) for r in f.SGLANG_RELEASES.values()))" || bash ci/fetch_providers.sh --sglang-only
python3 -m pytest -q "$@"
python3 ci/codegen_gate.py
bash ci/test_newest_triton.sh  # the same kernel on the newest Triton release
