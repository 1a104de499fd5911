#!/usr/bin/env bash
# Fetch the peers at their pinned versions into the git-ignored .providers/ (nothing fetched is
# committed): SGLang's extend-attention kernel source by release, and FlashInfer pruned to what
# its prefill JIT needs plus the apache-tvm-ffi wheel it imports, packed to ~13 MiB so that it
# can be carried to a GPU machine that reaches no registry (`carry: [".providers", ...]`).
# The pins (versions and sha256) live in benchmarks/providers/fetched.py.
#   bash ci/fetch_providers.sh [--sglang-only]   (--sglang-only: what the CPU tests need)
#   PROVIDERS_PYTHON_VERSION  the Python of the machine the peers run on (default 3.12, the H200's)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
pyver=${PROVIDERS_PYTHON_VERSION:-3.12}
only=${1:-}
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
pins=$($PY -c "from benchmarks.providers import fetched as f
print(' '.join(r.wheel for r in f.SGLANG_RELEASES.values()))")
if [ "$only" != "--sglang-only" ]; then
    pins="$pins $($PY -c "from benchmarks.providers import fetched as f; print('flashinfer-python==' + f.FLASHINFER.version)")"
    tvm_ffi=$($PY -c "from benchmarks.providers import fetched as f; print(f.FLASHINFER.tvm_ffi)")
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        -d "$wheels" "$tvm_ffi"
fi
# only the .py files of SGLang's wheels are read, so any of its platform tags will do
for pin in $pins; do
    $PY -m pip download -q --no-deps -d "$wheels" "$pin" 2>/dev/null ||
        $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 -d "$wheels" "$pin"
done
$PY -c "import sys; from benchmarks.providers.fetched import main; sys.exit(main(sys.argv[1:]))" \
    --wheels "$wheels" $only
echo "carry .providers ($(du -sh .providers | cut -f1))"
