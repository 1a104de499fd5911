#!/usr/bin/env bash
# The main command: benchmark the current commit, then build the dashboard and the plots.
#   bash ci/main.sh [ASV RUN OPTIONS]
# With a GPU: the whole suite but the peers (below); without one: the codegen metrics alone (compiled for sm_90 on the
# CPU). How long it takes, measured: README ("The two commands"). The machine is ASV_MACHINE, else
# this machine's own name (ci/asv_machine.py: h100-sxm-80gb on an H100 80GB HBM3, the GPU's name
# on another GPU, cpu-codegen without one); a name whose stored history is other hardware's is
# refused before anything is written.
#
# It leaves the checkout as it found it but for new files, all git-ignored except the results:
#   results/<machine>/   this commit's results, unless they are stored already (nothing stored
#                        is overwritten: --skip-existing-commits)
#   html/                the dashboard (`python3 -m asv preview` serves it), its scripts in
#                        html/vendor/ so that it renders offline
#   html/plots/          the pictures of every machine's results; the committed ones in
#                        plots/out/ are redrawn by hand: `python3 plots/render.py`
# asv's machine registration stays in the work folder (ci/asv_env.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# a fresh CPU machine installs the stack first; a GPU machine has torch and triton already
# (and may reach no registry), so it only takes asv from .whl/ below
$PY -c "import torch, triton, matplotlib" 2>/dev/null || bash ci/setup.sh || exit 1
source ci/asv_env.sh

if nvidia-smi -L >/dev/null 2>&1; then
    # all but the peers: both pools of bench_peers take ~11 minutes with the peers' JIT builds
    # on top (docs/PEERS.md), more than the rest of the suite; `bash ci/gpu_job.sh peers POOL`
    # runs them (one pool per device call); `bash ci/main.sh --bench bench_peers` adds them here
    selection=(--bench '^(?!bench_peers\.)')
else
    selection=(--bench bench_codegen)
fi
asv_prepare || exit 1

# asv rewrites results/<machine>/machine.json with this host's record on every run. A stored
# record stays as it is: it describes the host the stored history came from (the guard in
# asv_prepare has checked that this one has the same GPU), and this run's own record goes
# into its results file's parameters, where the dashboard and the gate read it.
record="results/$ASV_MACHINE/machine.json" stored_record="$ASV_WORK/stored-machine.json"
keep_stored_record() {
    [ ! -f "$stored_record" ] || cp "$stored_record" "$record"
}
rm -f "$stored_record"
if [ -f "$record" ]; then
    cp "$record" "$stored_record" || exit 1
fi
trap keep_stored_record EXIT  # also when interrupted

$ASV run HEAD^! --skip-existing-commits --machine "$ASV_MACHINE" --record-samples "${selection[@]}" "$@"
status=$?
keep_stored_record || exit 1
if [ "$status" -eq 2 ]; then
    echo "main: some benchmarks failed; asv stored them as failed and the rest as measured" >&2
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
asv_publish || exit 1
$PY plots/render.py --out html/plots || exit 1
exit "$status"
