#!/usr/bin/env bash
# The kernel on the newest Triton release, beside the pinned one that ci/test.sh tests in the
# main environment: pyproject.toml declares triton>=3.6, so a release that breaks the kernel
# must fail CI. In a virtualenv of its own that sees the main environment's packages (torch,
# numpy, pytest) and has only triton newer:
#   the interpreter suite (tests/test_kernel.py, tests/test_validation.py),
#   the codegen tests (tests/test_codegen.py: sm_90, sm_80, sm_100 compiles and their findings),
#   the codegen gate without its baseline, which the pinned compiler wrote: every case
#   compiles and fits its target's shared memory.
#
#   bash ci/test_newest_triton.sh                       # the newest release on the index
#   TRITON_RELEASE=3.8.0 bash ci/test_newest_triton.sh  # one given release
set -euo pipefail
cd "$(dirname "$0")/.."
# the interpreter, also on a GPU machine: the GPU tests are verified on the pinned release
export CUDA_VISIBLE_DEVICES=""
PY=${PYTHON:-python3}
VENV=${TRITON_VENV:-${TMPDIR:-/tmp}/extend-attention-triton-${TRITON_RELEASE:-newest}}

$PY -m venv --system-site-packages "$VENV"
# --upgrade: the main environment's pinned triton would otherwise satisfy the requirement
"$VENV/bin/python" -m pip install -q --upgrade "triton${TRITON_RELEASE:+==$TRITON_RELEASE}"
tested=$("$VENV/bin/python" -c "import triton; print(triton.__version__)")
pinned=$($PY -c "import triton; print(triton.__version__)")
if [ "$tested" = "$pinned" ]; then
    echo "test_newest_triton: Triton $tested is the pinned release, which ci/test.sh tested"
    exit 0
fi
echo "test_newest_triton: Triton $tested (pinned: $pinned), in $VENV"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/test_kernel.py tests/test_validation.py \
    tests/test_codegen.py
"$VENV/bin/python" ci/codegen_gate.py --without-baseline
