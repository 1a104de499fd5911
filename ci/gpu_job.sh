#!/usr/bin/env bash
# One GPU job, end to end, in one call of the device tool (or on any CUDA machine):
#   bash ci/gpu_job.sh tests            the correctness suite, compiled, bf16 + fp16, larger shapes
#   bash ci/gpu_job.sh bench [ARGS]     tools/quick_bench.py over the PR matrix (ARGS passed through)
#   bash ci/gpu_job.sh asv ARGS         `asv run ARGS` on this machine, e.g. `asv HEAD^!` (the
#                                       current commit) or `asv --skip-existing-commits
#                                       HEAD~8..HEAD` (history)
#   bash ci/gpu_job.sh agreement        `asv run HEAD^!`, then the PR matrix's times checked
#                                       against triton.testing.do_bench (tools/timing_agreement.py)
#   bash ci/gpu_job.sh protocol ARGS    the gate's A/A and A/B pairs in one interleaved session
#                                       (tools/gate_protocol.py ARGS: --pair NAME=A:B ... --bench RE);
#                                       its results stay apart, in $OUT/protocol-results.tgz
#   bash ci/gpu_job.sh find RANGE RE    `asv find RANGE RE`: bisection, nothing saved
#   bash ci/gpu_job.sh peers POOL [ARGS] `asv run` of bench_peers.Peers at one pool's points, or
#                                       at both pools' with POOL `all` (every provider: 9.7
#                                       minutes, past the deadline; PEERS_PROVIDERS=a,b times
#                                       those providers' points only: docs/PEERS.md), e.g.
#                                       `peers contiguous HEAD^!`; needs .providers
#                                       (ci/fetch_providers.sh); packs the FlashInfer JIT cache (a
#                                       file per head dim) and Triton's cache into $OUT for
#                                       .device-cache/
#   bash ci/gpu_job.sh peers-head-dims [ARGS]  `asv run` of bench_peers.PeersHeadDims, likewise.
#                                       Each class is an asv run of its own: asv saves a commit's
#                                       results only when its run ends, so a deadline that stops a
#                                       second class's setup loses the first class's results too
#                                       (seen on 2026-11-29: 9 device-minutes of Peers lost)
#   bash ci/gpu_job.sh backfill [RE]    this machine's history: the PR matrix (or the benchmarks RE
#                                       names) at every commit that changed kernels/, oldest first,
#                                       skipping the commits that have it stored (ci/backfill.py);
#                                       stopped by the deadline, it resumes where it stopped once the
#                                       results are imported. On a host of N GPUs it runs N jobs side
#                                       by side, one per GPU, each every Nth missing commit, each in
#                                       gpuI/ with its own results archive and telemetry, packed
#                                       together as $OUT/backfill.tgz. BACKFILL_SINCE=REV keeps
#                                       the kernel commits after REV: issue 17's whole suite at
#                                       every kernel commit since it was filed is `BACKFILL_SINCE=
#                                       ecbba5d bash ci/gpu_job.sh backfill '^(?!bench_peers\.)'`.
#                                       On a machine kept warm between calls it first adds what
#                                       earlier calls measured there (GPU_JOB_KEEP_DIR, below)
# GPU_JOB_GPU=I runs any job on GPU I alone (nvidia-smi's index), beside jobs on the other GPUs:
# its telemetry samples that GPU, and asv works in folders of its own (ci/asv_env.sh,
# ASV_ISOLATED). Import each job's archive with its own telemetry file.
# Every asv mode files its results archive in GPU_JOB_KEEP_DIR too (default ~/.gpu-job-keep),
# which outlives the call where the machine stays warm: the device tool releases a machine 30 s
# after a call, too soon to import one call's archive here before the next.
# Compile caches carried in .device-cache/ (flashinfer-jit-hdD.txz, triton-cache.txz: what a
# peers job packed, ci/compile_caches.py) are unpacked into ~ first, so that a fresh machine
# skips the JIT builds.
# The asv modes file results under this machine's own name (ci/asv_machine.py: h100-sxm-80gb on
# an H100 80GB HBM3, the GPU's name on another GPU) unless ASV_MACHINE names one; a name whose
# stored history is other hardware's is refused before anything is written.
# What must be kept is written under $OUT (default: ./gpu-out); commit it from there.
# The asv modes need asv (else the wheels in .whl/: ci/fetch_wheels.sh) and the git history
# (else .bundle/repo.bundle: ci/prepare_device.sh); they stop asv in time to pack the results
# into $OUT/asv-results.tgz before the device tool's 10 minutes are up, and
# ci/import_gpu_results.py merges that file into results/ here.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
if [ -n "${GPU_JOB_GPU:-}" ]; then
    # CUDA numbers the GPUs fastest first unless told to follow the PCI order nvidia-smi uses
    export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$GPU_JOB_GPU ASV_ISOLATED=1
    export ASV_WORK=${ASV_WORK:-/tmp/asv-job}-gpu$GPU_JOB_GPU
fi
# The device tool stops a command at 600 s; what is left after this is for packing (the
# results, and after a peers job the compile caches: about 20 s).
DEADLINE_S=${ASV_DEADLINE_S:-540}

machine_info() {
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv 2>&1
    $PY -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
}

# asv with the time left before the deadline; interrupted, it keeps the commits it finished
run_asv() {
    local left=$((DEADLINE_S - SECONDS))
    if [ "$left" -lt 60 ]; then
        echo "gpu_job: ${left}s left before the deadline, not starting asv $*" >&2
        return 124
    fi
    timeout -s INT -k 20 "$left" $ASV "$@"
}

asv_job() {
    source ci/asv_env.sh
    asv_prepare || return 1
    run_asv run --machine "$ASV_MACHINE" --record-samples --show-stderr --durations all "$@"
}

protocol_job() {
    source ci/asv_env.sh
    asv_prepare || return 1
    # its own results folder: the protocol's scratch commits stay out of results/. Emptied
    # first: on a machine held across calls, an earlier session's files were packed with the
    # next one's (2026-11-29), and a session's pairs must be judged on its own measurements.
    rm -rf "$ASV_WORK/protocol-results"
    asv_config_copy "$ASV_CONFIG" asv.side.conf.json results_dir "$ASV_WORK/protocol-results" || return 1
    local left=$((DEADLINE_S - SECONDS)) status
    # the reports travel inside the archive: the device tool brings back 8 files at most
    timeout -s INT -k 20 "$left" $ASV_ENV $PY -m tools.gate_protocol --config asv.side.conf.json \
        --repo "$ASV_REPO" --machine "$ASV_MACHINE" --out "$ASV_WORK/protocol-results/reports" "$@"
    status=$?
    cp "$ASV_WORK/protocol-results/reports/protocol.md" "$OUT/" 2>/dev/null
    tar -czf "$OUT/protocol-results.tgz" -C "$ASV_WORK" protocol-results || status=1
    return "$status"
}

# Results kept on this machine between device calls (see the header): every asv mode files its
# archive here (pack_results); the backfill adds what they hold to its results folder before
# it plans (restore_kept_results), merged as ci/import_gpu_results.py merges them here, nothing
# replaced, so that its shards skip the commits an earlier call measured. Merged, not copied:
# two jobs of one call at one commit (the suite's and the peers', 2026-11-30) each leave a file
# of that name, and a copy kept only the first, so the backfill measured the PR matrix again.
# Import every call's archive as ever: the restored results come back unchanged, and a
# telemetry file claims only the runs it sampled.
KEEP_DIR=${GPU_JOB_KEEP_DIR:-$HOME/.gpu-job-keep}

pack_results() {
    source ci/asv_env.sh && asv_pack_results "$OUT" || return 1
    mkdir -p "$KEEP_DIR" &&
        cp "$OUT/asv-results.tgz" "$KEEP_DIR/$(date -u +%Y%m%dT%H%M%S)-gpu${GPU_JOB_GPU:-all}-$$.tgz"
}

restore_kept_results() {
    local into=$1 archive before status=0
    ls "$KEEP_DIR"/*.tgz >/dev/null 2>&1 || return 0
    mkdir -p "$into" || return 1
    before=$(find "$into" -type f | wc -l)
    for archive in "$KEEP_DIR"/*.tgz; do
        $PY ci/import_gpu_results.py "$archive" --results "$into" >/dev/null || { status=1; break; }
    done
    echo "gpu_job: $(( $(find "$into" -type f | wc -l) - before )) results files added from $KEEP_DIR"
    return "$status"
}

backfill_job() {
    source ci/asv_env.sh
    asv_prepare || return 1
    restore_kept_results "$(asv_results_dir)" || return 1
    local commits="$ASV_WORK/kernel-commits.txt" plan="$ASV_WORK/backfill-plan.tsv"
    local bench=${1:-bench_extend\.PRMatrix\.} selection hashes group=0 code status=0
    $PY ci/backfill.py --repo "$ASV_REPO" --results "$(asv_results_dir)" --machine "$ASV_MACHINE" \
        --bench "$bench" --shard "${BACKFILL_SHARD:-0/1}" ${BACKFILL_SINCE:+--since "$BACKFILL_SINCE"} \
        --plan "$plan" > "$commits" || return 1
    if [ ! -s "$commits" ]; then
        echo "gpu_job: no kernel commit lacks $bench on $ASV_MACHINE"
        return 0
    fi
    # an asv run per set of benchmarks lacked (ci/backfill.py --plan): a commit that holds some
    # of them runs the others alone. Not --skip-existing-commits: a commit stored with other
    # benchmarks (Peers) still lacks these.
    while IFS=$'\t' read -r selection hashes; do
        group=$((group + 1))
        tr ' ' '\n' <<< "$hashes" > "$ASV_WORK/backfill-group-$group.txt"
        echo "gpu_job: backfill run $group: --bench '$selection' at $(wc -l < "$ASV_WORK/backfill-group-$group.txt") commits"
        run_asv run --machine "$ASV_MACHINE" --record-samples --show-stderr --bench "$selection" \
            "HASHFILE:$ASV_WORK/backfill-group-$group.txt" < /dev/null
        code=$?
        [ "$status" -ne 0 ] || status=$code
    done < "$plan"
    return "$status"
}

# backfill on a host of several GPUs: one job per GPU, side by side, each every Nth missing commit
backfill_each_gpu() {
    local gpus=$1 i status=0 pids=()
    shift
    restore_caches  # once: jobs unpacking the same files at once would read each other's halves
    for ((i = 0; i < gpus; i++)); do
        mkdir -p "$OUT/gpu$i"
        GPU_JOB_GPU=$i BACKFILL_SHARD=$i/$gpus GPU_JOB_CACHES_RESTORED=1 OUT=$OUT/gpu$i \
            ASV_DEADLINE_S=$((DEADLINE_S - SECONDS)) bash ci/gpu_job.sh backfill "$@" > "$OUT/gpu$i/job.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || status=$?
        echo "gpu_job: GPU $i's backfill ended"
        tail -3 "$OUT/gpu$i/job.log"
    done
    # one file: the device tool brings back 8 at most, and each GPU's job leaves five
    rm -f "$OUT"/gpu*/{flashinfer-jit-*,triton-cache}.txz
    tar -czf "$OUT/backfill.tgz" -C "$OUT" --remove-files $(cd "$OUT" && ls -d gpu*/) &&
        echo "gpu_job: every GPU's folder packed: $OUT/backfill.tgz" || status=1
    return "$status"
}

find_job() {
    source ci/asv_env.sh
    asv_prepare || return 1
    run_asv find --machine "$ASV_MACHINE" --skip-save --show-stderr "$@"
}

agreement_job() {
    asv_job HEAD^!
    local status=$? commit src="$ASV_WORK/commit-src"
    commit=$(git -C "$ASV_REPO" rev-parse HEAD) || return 1
    # do_bench times the kernels of the commit asv measured, not this checkout's: run by path,
    # not with -m, which would put this checkout's kernels first on the path
    rm -rf "$src" && mkdir -p "$src" && git -C "$ASV_REPO" archive "$commit" kernels | tar -x -C "$src" || return 1
    PYTHONPATH="$src:$PWD:${PYTHONPATH:-}" $PY tools/timing_agreement.py --machine "$ASV_MACHINE" \
        --commit "$commit" --out "$OUT/agreement.md" --deadline-s $((DEADLINE_S - SECONDS)) || status=$?
    return "$status"
}

restore_caches() {
    [ -n "${GPU_JOB_CACHES_RESTORED:-}" ] || [ ! -d .device-cache ] && return 0
    $PY ci/compile_caches.py unpack .device-cache
}

# FlashInfer's JIT modules, an archive per head dim, and Triton's cache, for .device-cache/
pack_caches() {
    $PY ci/compile_caches.py pack "$OUT"
}

# The board's state through the whole job (issue 17): SM and memory clocks, power against its
# limit, temperature and the active clock-event reasons (nvbench's throttle test), sampled
# every TELEMETRY_MS into $OUT/telemetry.csv, so that a step the board caused can be told
# from one the code caused; memory.total is the board's size, for the dashboard's machine info.
# Older drivers name the reasons clocks_throttle_reasons. ci/telemetry.py reads the file
# (python ci/import_gpu_results.py ARCHIVE --telemetry $OUT/telemetry.csv stores it in results/).
TELEMETRY_FIELDS=timestamp,clocks.sm,clocks.mem,power.draw,enforced.power.limit,temperature.gpu,clocks_event_reasons.active,memory.total
start_telemetry() {
    local fields=$TELEMETRY_FIELDS
    nvidia-smi --query-gpu="$fields" --format=csv -i "${GPU_JOB_GPU:-0}" >/dev/null 2>&1 ||
        fields=${fields/clocks_event_reasons/clocks_throttle_reasons}
    nvidia-smi --query-gpu="$fields" --format=csv,nounits -i "${GPU_JOB_GPU:-0}" -lms "${TELEMETRY_MS:-500}" \
        > "$OUT/telemetry.csv" 2>&1 &
    TELEMETRY_PID=$!
    trap 'kill "$TELEMETRY_PID" 2>/dev/null' EXIT
}

# The peers' setup cache logs its progress here (benchmarks/peers_grid.py, TRACE_ENV), and the
# log goes to the end of asv.log: asv keeps nothing of a setup cache that the deadline stopped.
# A file per GPU: jobs side by side on one host each start their own (with one file, on
# 2026-11-30, PeersHeadDims's job deleted Peers's log and both asv.logs ended with the same mix).
export BENCH_PEERS_TRACE=${TMPDIR:-/tmp}/peers-setup-trace${GPU_JOB_GPU:+-gpu$GPU_JOB_GPU}.log
rm -f "$BENCH_PEERS_TRACE"
append_peers_trace() {
    [ -f "$BENCH_PEERS_TRACE" ] && { echo "== the setup cache's progress ($BENCH_PEERS_TRACE)"
                                     cat "$BENCH_PEERS_TRACE"; } >> "$OUT/asv.log"
    return 0
}

mode=${1:-tests}
shift || true
if [ "$mode" = backfill ] && [ -z "${GPU_JOB_GPU:-}" ]; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
    [ "$gpus" -gt 1 ] && { backfill_each_gpu "$gpus" "$@"; exit; }
fi
machine_info | tee "$OUT/machine.txt"
command -v nvidia-smi >/dev/null && start_telemetry
restore_caches
case "$mode" in
    tests)
        # compiling is most of the suite's time: pytest-xdist spreads it over the cores
        workers=()
        $PY -c "import xdist" 2>/dev/null && workers=(-n "${GPU_TEST_WORKERS:-8}")
        REQUIRE_GPU=1 $PY -m pytest -q -p no:cacheprovider "${workers[@]}" tests/test_kernel.py \
            tests/test_validation.py "$@" 2>&1 | tee "$OUT/gpu_tests.log"
        exit "${PIPESTATUS[0]}" ;;
    bench)
        $PY -m tools.quick_bench --json "$OUT/quick_bench.json" "$@" 2>&1 | tee "$OUT/quick_bench.log"
        exit "${PIPESTATUS[0]}" ;;
    asv|agreement|backfill)
        "${mode}_job" "$@" 2>&1 | tee "$OUT/asv.log"
        status=${PIPESTATUS[0]}
        pack_results || status=1
        exit "$status" ;;
    peers)
        pool=${1:-}
        shift || true
        case "$pool" in
            # both pools in one asv run (issue 16's measurement): every provider's points took
            # 9.7 minutes on the H200 (2026-11-29), past the deadline: see PEERS_PROVIDERS
            all) pools="" selection="bench_peers\.Peers\." ;;
            # the setup cache measures this pool alone (benchmarks/peers_grid.py, POOLS_ENV)
            contiguous|fragmented) pools=$pool selection="bench_peers\.Peers\..*'$pool'" ;;
            *) echo "usage: bash ci/gpu_job.sh peers contiguous|fragmented|all [ASV RUN ARGS]; got '$pool'" >&2
               exit 2 ;;
        esac
        # PEERS_PROVIDERS=default,flashinfer-0.7.2-fa3: asv times only these providers' points
        # (asv matches --bench against a point's name with its parameters). The setup cache
        # still checks every provider and times them all in turns, so the in-run ratios
        # (track_default_time_ratio) are those of a whole run; the other providers' asv times
        # are left to another run. SGLang 0.5.2's four builds, at up to 100 ms a call, are
        # most of a whole run's time.
        if [ -n "${PEERS_PROVIDERS:-}" ]; then
            # read as the suite reads its own run-selection variables (one reader)
            chosen=$($PY -c "import sys
from benchmarks.providers import PROVIDERS
from benchmarks.workloads import chosen_by_environment
try:
    print('|'.join(chosen_by_environment('PEERS_PROVIDERS', 'providers', list(PROVIDERS), list(PROVIDERS))))
except ValueError as bad:
    sys.exit(str(bad))") || exit 2
            selection="$selection.*'($(echo "$chosen" | sed 's/\./\\./g'))'"
        fi
        BENCH_PEERS_POOLS=$pools asv_job --bench "$selection" "$@" 2>&1 | tee "$OUT/asv.log"
        status=${PIPESTATUS[0]}
        append_peers_trace
        pack_results || status=1
        pack_caches
        exit "$status" ;;
    peers-head-dims)
        asv_job --bench "bench_peers\.PeersHeadDims\." "$@" 2>&1 | tee "$OUT/asv.log"
        status=${PIPESTATUS[0]}
        append_peers_trace
        pack_results || status=1
        pack_caches
        exit "$status" ;;
    protocol|find)
        "${mode}_job" "$@" 2>&1 | tee "$OUT/$mode.log"
        exit "${PIPESTATUS[0]}" ;;
    *)
        echo "usage: bash ci/gpu_job.sh tests|bench|asv|peers|peers-head-dims|backfill|agreement|protocol|find [ARGS]" >&2
        exit 2 ;;
esac
