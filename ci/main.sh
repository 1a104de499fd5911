#!/usr/bin/env bash
# The main command: benchmark the current commit, then build the dashboard and the plots.
#   bash ci/main.sh [ASV RUN OPTIONS]
# With a GPU: the whole suite (8.5 minutes on an H100, measured); without one: the codegen
# metrics alone (compiled for sm_90 on the CPU). The machine is ASV_MACHINE, else this
# machine's own name (ci/asv_machine.py: h100-sxm-80gb on an H100 80GB HBM3, the GPU's name
# on another GPU, cpu-codegen without one); a name whose stored history is other hardware's
# is refused before anything is written. Results go to results/, the dashboard to html/
# (`python3 -m asv preview` serves it), the plots to plots/out/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# a fresh CPU machine installs the stack first; a GPU machine has torch and triton already
# (and may reach no registry), so it only takes asv from .whl/ below
$PY -c "import torch, triton, matplotlib" 2>/dev/null || bash ci/setup.sh || exit 1
source ci/asv_env.sh

if nvidia-smi -L >/dev/null 2>&1; then
    selection=()
else
    selection=(--bench bench_codegen)
fi
asv_prepare || exit 1
$ASV run HEAD^! --machine "$ASV_MACHINE" --record-samples "${selection[@]}" "$@"
status=$?
if [ "$status" -eq 2 ]; then
    echo "main: some benchmarks failed; asv stored them as failed and the rest as measured" >&2
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
$ASV publish || exit 1
$PY plots/render.py || exit 1
exit "$status"
