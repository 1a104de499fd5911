#!/usr/bin/env bash
# The main command: benchmark the current commit, then build the dashboard and the plots.
#   bash ci/main.sh [ASV RUN OPTIONS]
# With a GPU: the whole suite (8.5 minutes on an H100, measured), as machine ASV_MACHINE (default:
# h100-sxm-80gb on an H100 80GB HBM3, else the GPU's name). Without one: the codegen
# metrics alone (compiled for sm_90 on the CPU), as machine ASV_MACHINE (default
# cpu-codegen). Results go to results/, the dashboard to html/ (`python3 -m asv preview`
# serves it), the plots to plots/out/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# a fresh CPU machine installs the stack first; a GPU machine has torch and triton already
# (and may reach no registry), so it only takes asv from .whl/ below
$PY -c "import torch, triton, matplotlib" 2>/dev/null || bash ci/setup.sh || exit 1
source ci/asv_env.sh

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
if [ -n "$gpu" ]; then
    case "$gpu" in
        *"H100 80GB HBM3"*) default_machine=h100-sxm-80gb ;;
        *) default_machine=$(echo "$gpu" | tr '[:upper:] ' '[:lower:]-' | tr -cd 'a-z0-9-') ;;
    esac
    selection=()
else
    default_machine=cpu-codegen
    selection=(--bench bench_codegen)
fi
MACHINE=${ASV_MACHINE:-$default_machine}

asv_prepare "$MACHINE" || exit 1
$ASV run HEAD^! --machine "$MACHINE" --record-samples "${selection[@]}" "$@"
status=$?
if [ "$status" -eq 2 ]; then
    echo "main: some benchmarks failed; asv stored them as failed and the rest as measured" >&2
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
$ASV publish || exit 1
$PY plots/render.py || exit 1
exit "$status"
