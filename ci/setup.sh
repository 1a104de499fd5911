#!/usr/bin/env bash
# Install what the tests, the codegen metrics and the plots need on a CPU machine.
# torch first, pinned, so that pip takes the local CPU wheel instead of pulling a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[dev]"
