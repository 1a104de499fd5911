#!/usr/bin/env bash
# One GPU job, end to end, in one call of the device tool (or on any CUDA machine):
#   bash ci/gpu_job.sh tests            the correctness suite, compiled, bf16 + fp16, larger shapes
#   bash ci/gpu_job.sh bench [ARGS]     ci/quick_bench.py over the PR matrix (ARGS passed through)
# What must be kept is written under $OUT (default: ./gpu-out); commit it from there.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

machine_info() {
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv 2>&1
    $PY -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
}

mode=${1:-tests}
shift || true
machine_info | tee "$OUT/machine.txt"
case "$mode" in
    tests)
        REQUIRE_GPU=1 $PY -m pytest -q -p no:cacheprovider tests/test_kernel.py tests/test_validation.py \
            "$@" 2>&1 | tee "$OUT/gpu_tests.log"
        exit "${PIPESTATUS[0]}" ;;
    bench)
        $PY ci/quick_bench.py --json "$OUT/quick_bench.json" "$@" 2>&1 | tee "$OUT/quick_bench.log"
        exit "${PIPESTATUS[0]}" ;;
    *)
        echo "usage: bash ci/gpu_job.sh tests|bench [ARGS]" >&2
        exit 2 ;;
esac
