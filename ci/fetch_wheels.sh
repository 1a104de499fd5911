#!/usr/bin/env bash
# Download the wheels of ci/wheels.txt for the H100 machine (Python 3.12, x86-64) into the
# git-ignored .whl/, to be carried to it: the device tool's `carry: [".whl", ...]`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -d .whl -r ci/wheels.txt
ls .whl
