# Sourced by ci/gpu_job.sh and ci/main.sh, and by hand (README): make `$PY -m asv` run here, also
# on a machine that reaches no package registry and has no git history (the H100 machine). Defines:
#   asv_prepare [MACHINE]   tools, PATH, config and the machine's registration; sets ASV (the
#                           command), ASV_ENV (its environment, for a program that runs asv
#                           itself, e.g. tools/gate_protocol.py), ASV_MACHINE (the name registered:
#                           MACHINE, else ASV_MACHINE as given, else this machine's own,
#                           ci/asv_machine.py) and ASV_REPO (the git repository asv reads the
#                           commits from). A name whose stored history is other hardware's is
#                           refused before anything is written.
#   asv_publish             `$ASV publish`, then the dashboard's scripts into it (ci/dashboard_js.py),
#                           so that it renders offline, and the board's state into its machine
#                           info (ci/dashboard_board.py)
#   asv_config_copy SRC DST KEY VALUE [KEY VALUE ...]   a copy of an asv config with settings changed
#   asv_pack_results OUT  the results folder as one file, OUT/asv-results.tgz
#
# ASV_ISOLATED=1 (set by ci/gpu_job.sh for jobs that run side by side, one per GPU): asv's
# environments and results go to $ASV_WORK (which must then differ per job), the results
# seeded with a copy of the checkout's, through a config of the job's own. Two asv processes
# sharing .asv/env would rebuild one environment under each other, and sharing results/ each
# would pack the other's half-written files. asv_results_dir names the folder asv writes; a
# function, not a variable set by asv_config: the jobs run asv in a pipeline's subshell, whose
# variables the packing after it never sees (session 10 lost its runs' results that way).
#
# asv keeps machine registrations in ~/.asv-machine.json; $ASV_ENV gives asv a HOME of its own
# in the work folder ($ASV_WORK/home), so that the registration stays there and holds this one
# machine (`$ASV run` without --machine takes it); git keeps the user's settings, and the
# compile caches stay the user's.
#
# What it does where asv is not installed: installs the wheels carried in .whl/
# (ci/fetch_wheels.sh) into a folder of their own, for the asv process only, and points
# pip at .whl/ alone, so that asv can make its benchmark environment offline. Where the
# checkout's HEAD is not the carried bundle's (no .git history, or a stale one), asv reads
# the history from .bundle/repo.bundle (ci/prepare_device.sh) through a config of its own,
# asv.device.conf.json, that differs from asv.conf.json only in "repo"; refused where the
# bundle's HEAD and the working tree differ in kernels/ or benchmarks/.

PY=${PYTHON:-python3}
ASV_WORK=${ASV_WORK:-/tmp/asv-job}

asv_results_dir() {
    if [ -n "${ASV_ISOLATED:-}" ]; then echo "$ASV_WORK/results"; else echo results; fi
}

asv_tools() {
    if $PY -c "import asv" 2>/dev/null; then
        return 0
    fi
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "asv is not installed and no wheels are carried in .whl/ (run ci/fetch_wheels.sh here" \
             "and carry .whl)" >&2
        return 1
    fi
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$ASV_WORK/tools" .whl/*.whl || return 1
    export PYTHONPATH="$ASV_WORK/tools${PYTHONPATH:+:$PYTHONPATH}"
    # asv's benchmark environment gets pip, asv_runner, build and wheel from .whl/ alone
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/.whl"
}

asv_config() {
    # The checkout's own history, unless a carried bundle's HEAD is another commit: a copy's
    # .git may be older than its working tree (seen on the device machine on 2026-11-25: its
    # .git stopped at an earlier session's commit, and asv measured that one; on 2026-11-29
    # its HEAD was the session's first commit while its objects held the bundle's HEAD too,
    # and asv measured step 12's kernel instead of step 13's).
    local bundle_head="" head changes=()
    if [ -f .bundle/repo.bundle ]; then
        bundle_head=$(git bundle list-heads .bundle/repo.bundle HEAD 2>/dev/null | cut -d' ' -f1)
    fi
    ASV_CONFIG=asv.conf.json ASV_REPO=.
    if ! head=$(git rev-parse -q --verify 'HEAD^{commit}' 2>/dev/null) ||
            { [ -n "$bundle_head" ] && [ "$head" != "$bundle_head" ]; }; then
        if [ ! -f .bundle/repo.bundle ]; then
            echo "this checkout has no git history and .bundle/repo.bundle is missing" \
                 "(run ci/prepare_device.sh here and carry .bundle)" >&2
            return 1
        fi
        rm -rf "$ASV_WORK/repo.git"
        git clone -q --bare .bundle/repo.bundle "$ASV_WORK/repo.git" || return 1
        # A stale .git and a bundle made at another commit look the same from here. asv
        # installs kernels/ and runs benchmarks/ from the bundle's HEAD, so that commit must
        # hold this working tree's, or every job measures it under this one's name: session
        # 19's backfill, and session 20's first two calls (15 device minutes), measured a
        # branch's commit that way, warned but not stopped.
        local differing
        differing=$(asv_measured_files_differing "$ASV_WORK/repo.git" HEAD) || return 1
        if [ -n "$differing" ]; then
            echo "asv_config: the carried bundle's HEAD ${bundle_head:0:8} is not this working" \
                 "tree, which differs in $(echo $differing | sed 's/ /, /g'): asv would measure" \
                 "that commit (run ci/prepare_device.sh at the commit to measure, and carry .bundle)" >&2
            return 1
        fi
        if [ -n "$head" ]; then
            echo "asv_config: this checkout's HEAD ${head:0:8} is not the carried bundle's" \
                 "${bundle_head:0:8}, which holds the same kernels/ and benchmarks/: asv reads" \
                 "the bundle's history" >&2
        fi
        ASV_REPO="$ASV_WORK/repo.git" ASV_CONFIG=asv.device.conf.json
        changes+=(repo "$ASV_REPO")
    fi
    if [ -n "${ASV_ISOLATED:-}" ]; then
        local results
        results=$(asv_results_dir)
        rm -rf "$results" && mkdir -p "$ASV_WORK" || return 1
        if [ -d results ]; then cp -a results "$results" || return 1; fi
        # in the repository root, where the config's {conf_dir} must stay; named per job
        ASV_CONFIG="asv.$(basename "$ASV_WORK").conf.json"
        changes+=(results_dir "$results" env_dir "$ASV_WORK/env")
    fi
    [ ${#changes[@]} -eq 0 ] || asv_config_copy asv.conf.json "$ASV_CONFIG" "${changes[@]}"
}

# asv_measured_files_differing REPO COMMIT: the files of kernels/ and benchmarks/ (what asv
# installs and runs) in which COMMIT of the git repository REPO and this working tree differ,
# one a line
asv_measured_files_differing() {
    $PY - "$1" "$2" <<'EOF'
import pathlib, subprocess, sys
repo, commit = sys.argv[1:]
measured = ("kernels", "benchmarks")
listing = subprocess.run(["git", "--git-dir", repo, "ls-tree", "-r", "-z", commit, "--", *measured],
                         capture_output=True, text=True, check=True).stdout
committed = {}
for entry in filter(None, listing.split("\0")):
    meta, path = entry.split("\t", 1)
    committed[path] = meta.split()[2]
present = sorted(str(path) for folder in measured for path in pathlib.Path(folder).rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts)
hashes = subprocess.run(["git", "hash-object", "--stdin-paths"], input="".join(p + "\n" for p in present),
                        capture_output=True, text=True, check=True).stdout.split()
here = dict(zip(present, hashes))
print("\n".join(path for path in sorted(committed.keys() | here.keys()) if committed.get(path) != here.get(path)))
EOF
}

# asv_config_copy SRC DST KEY VALUE [KEY VALUE ...]: the asv config SRC with those settings
# changed, as DST (in the repository root, where the config's {conf_dir} must stay)
asv_config_copy() {
    $PY - "$@" <<'EOF'
import json, sys
src, dst, *changes = sys.argv[1:]
with open(src) as f:
    conf = json.load(f)
conf.update(zip(changes[::2], changes[1::2]))
with open(dst, "w") as f:
    json.dump(conf, f, indent=4)
EOF
}

asv_prepare() {
    local machine=${1:-${ASV_MACHINE:-}} home="$ASV_WORK/home" registered
    unset ASV ASV_ENV  # a refused or failed preparation leaves no command to run
    mkdir -p "$home" || return 1
    asv_tools || return 1
    # asv makes its environment from the first pythonX.Y on PATH, and ci/asv_host_packages.py
    # lends it that Python's torch and triton: put this Python's folder first
    PATH="$(dirname "$(command -v "$PY")"):$PATH"
    export PATH
    asv_config || return 1
    rm -f "$home/.asv-machine.json"
    registered=$($PY ci/asv_machine.py ${machine:+--machine "$machine"} --config "$ASV_CONFIG" \
        --machine-file "$home/.asv-machine.json") || return 1
    ASV_MACHINE=$registered
    # asv gets a HOME of its own for its registration alone: the compile caches (Triton's,
    # FlashInfer's JIT modules, the unpacked peers) stay the user's, where ci/gpu_job.sh unpacks
    # the carried ones. Under asv's HOME every run rebuilt them: FlashInfer's two prefill modules
    # took 100 s each of the Peers setup cache, at idle power (docs/PEERS.md).
    ASV_ENV="env HOME=$home GIT_CONFIG_GLOBAL=${GIT_CONFIG_GLOBAL:-$HOME/.gitconfig}"
    ASV_ENV+=" TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-${TRITON_HOME:-$HOME}/.triton/cache}"
    ASV_ENV+=" FLASHINFER_WORKSPACE_BASE=${FLASHINFER_WORKSPACE_BASE:-$HOME}"
    ASV_ENV+=" EXTEND_BENCH_UNPACK_DIR=${EXTEND_BENCH_UNPACK_DIR:-$HOME/.cache/extend-attention-bench}"
    ASV="$ASV_ENV $PY -m asv --config $ASV_CONFIG"
}

asv_publish() {
    $ASV publish && $PY ci/dashboard_js.py --publish --config "$ASV_CONFIG" &&
        $PY ci/dashboard_board.py --config "$ASV_CONFIG"
}

asv_pack_results() {
    local out=$1 dir
    dir=$(asv_results_dir)
    if [ -d "$dir" ]; then
        # a results/ folder at the archive's top (ci/import_gpu_results.py): both folders are named so
        tar -czf "$out/asv-results.tgz" -C "$(dirname "$dir")" results &&
            echo "results packed: $out/asv-results.tgz"
    else
        echo "no results folder to pack" >&2
        return 1
    fi
}
