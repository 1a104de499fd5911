#!/usr/bin/env python
"""The codegen gate: what the compiler makes of each variant for sm_90, checked without a GPU.

Every variant in ``kernels.VARIANTS`` is compiled for each head dim and shape class: no
window with long extends, with short ones (only where that picks other blocks: the tuned
``default``), and a sliding window; bf16 for sm_90, compared with the checked-in
``ci/codegen_baseline.json``. ``default``, which takes the tuned table of the GPU it runs
on, is also compiled as it runs on the other GPUs: sm_80 (A100, and as sm_86/sm_89 code
the L40S) and sm_100 (B200). The gate fails when

* a case does not compile, or needs more shared memory per block than its target's
  smallest GPU has (``kernels.extend_attention.MAX_SHARED_BYTES``),
* spills appear or grow (the per-thread stack frame),
* on sm_90, the occupancy drops: the registers per thread (or the shared memory) cross a
  step, so that fewer warps reside on an SM; a step of one limit that another limit hides
  is noted, and so is a drop in a persistent configuration (its grid is one program per SM:
  more resident blocks would have nothing to run, so only one block fitting matters, and
  the shared-memory rule above checks that),
* a variant that asks for ``.cg`` on a load group carries fewer ``ld.global.cg`` than
  its baseline (it vanishing altogether is the case this exists for).

A variant that asks for ``.cg`` but carries none in its baseline is reported, not failed:
with num_stages >= 2 Triton 3.6 pipelines the gathered loads into ``cp.async.cg`` copies
and the modifier is gone from the PTX whatever the load asked for.

    python ci/codegen_gate.py            # exit 0 pass, 1 fail, 2 usage or data error
    python ci/codegen_gate.py --update   # rewrite the baseline from the current kernel
    python ci/codegen_gate.py --variant cg --head-dim 128 --window none --arch 90   # a subset
    python ci/codegen_gate.py --without-baseline   # only the rules that need no baseline
                                                   # (another Triton than the baseline's)

Occupancy on sm_90 (CUDA occupancy calculator, compute capability 9.0), per block of
``num_warps`` warps with ``R`` registers per thread and ``S`` bytes of shared memory:

    registers per warp   = ceil(32 R / 256) * 256        (allocated per warp in 256-register units)
    blocks (registers)   = floor(floor(65536 / registers per warp) / num_warps)
    blocks (shared)      = floor(233472 / (ceil(S / 128) * 128 + 1024))   (228 KiB per SM,
                           1 KiB reserved per block; 0 when S exceeds the 227 KiB a block may have)
    blocks (warps)       = floor(64 / num_warps), and at most 32 blocks
    resident warps / SM  = num_warps * min(blocks (registers), blocks (shared), blocks (warps), 32)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import List, NamedTuple, Optional, Sequence, Tuple

if __name__ == "__main__":
    # The gate compiles for sm_90: under the interpreter switch (set for the CPU tests)
    # every compile would go through a fresh subprocess instead.
    os.environ.pop("TRITON_INTERPRET", None)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import triton  # noqa: E402

from kernels import SUPPORTED_HEAD_DIMS, VARIANTS, resolve_config  # noqa: E402
from kernels.codegen import compile_for_target  # noqa: E402
from kernels.extend_attention import MAX_SHARED_BYTES, SM90  # noqa: E402

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
BASELINE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "codegen_baseline.json")
DTYPE = "bf16"
# The targets: sm_90 for every variant; the other GPUs for the one variant whose config
# depends on the GPU it runs on.
ARCHS = (SM90, 80, 100)
OTHER_ARCH_VARIANTS = ("default",)
FIELDS = ("registers", "stack_bytes", "shared_bytes", "ld_global_cg", "ld_global", "num_warps")
LOAD_GROUPS = ("prefix_kv_cache", "extend_kv_cache", "q_cache", "index_cache")

# sm_90 limits
REGISTERS_PER_SM = 65536
REGISTER_UNIT_PER_WARP = 256
MAX_WARPS_PER_SM = 64
MAX_BLOCKS_PER_SM = 32
SHARED_PER_SM = 233472
SHARED_RESERVED_PER_BLOCK = 1024
SHARED_UNIT = 128


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def blocks_by_registers(registers: int, num_warps: int) -> int:
    per_warp = _round_up(registers * 32, REGISTER_UNIT_PER_WARP)
    return (REGISTERS_PER_SM // per_warp) // num_warps


def blocks_by_shared(shared_bytes: int) -> int:
    if shared_bytes > MAX_SHARED_BYTES[SM90]:
        return 0
    return SHARED_PER_SM // (_round_up(shared_bytes, SHARED_UNIT) + SHARED_RESERVED_PER_BLOCK)


def _warps(num_warps: int, *block_limits: int) -> int:
    return num_warps * min(*block_limits, MAX_WARPS_PER_SM // num_warps, MAX_BLOCKS_PER_SM)


def resident_warps(entry: dict) -> int:
    """The most warps of this kernel that one sm_90 SM holds at once."""
    return _warps(entry["num_warps"], blocks_by_registers(entry["registers"], entry["num_warps"]),
                  blocks_by_shared(entry["shared_bytes"]))


def register_warps(entry: dict) -> int:
    """Resident warps as the registers alone allow: the register occupancy step."""
    return _warps(entry["num_warps"], blocks_by_registers(entry["registers"], entry["num_warps"]))


def shared_warps(entry: dict) -> int:
    """Resident warps as the shared memory alone allows."""
    return _warps(entry["num_warps"], blocks_by_shared(entry["shared_bytes"]))


def asks_for_cg(variant: str) -> bool:
    config = VARIANTS[variant]
    return any(getattr(config, group) == ".cg" for group in LOAD_GROUPS)


# ---------------------------------------------------------------- comparison

# --window's names for the shape classes of kernels.extend_attention.SHAPE_CLASSES, and
# the suffix of each one's key in the baseline file
WINDOWS = {"none": "long", "short": "short", "sliding": "windowed"}
_KEY_SUFFIX = {"long": "", "short": "-short", "windowed": "-window"}


class Case(NamedTuple):
    """One compile: a variant at a head dim, in a shape class, for a target."""

    variant: str
    head_dim: int
    shape: str = "long"
    arch: int = SM90

    @property
    def key(self) -> str:
        """Its key under the variant in the baseline file: "128", "128-short" or "128-window"
        for sm_90, with "-sm80" or "-sm100" for the other targets."""
        return f"{self.head_dim}{_KEY_SUFFIX[self.shape]}{'' if self.arch == SM90 else f'-sm{self.arch}'}"

    def __str__(self) -> str:
        return (f"{self.variant} head_dim {self.head_dim}{' ' + self.shape if self.shape != 'long' else ''}"
                f"{'' if self.arch == SM90 else f' sm_{self.arch}'}")


@dataclasses.dataclass(frozen=True)
class Finding:
    case: Case
    failures: Tuple[str, ...]
    notes: Tuple[str, ...]
    baseline: Optional[dict]
    current: Optional[dict]  # None: it did not compile


def _steps_down(old: dict, new: dict) -> List[str]:
    """The limits whose own occupancy step went down, as the report words them."""
    steps = []
    if register_warps(new) < register_warps(old):
        steps.append(f"registers {old['registers']} → {new['registers']} per thread "
                     f"({register_warps(old)} → {register_warps(new)} warps/SM by registers)")
    if shared_warps(new) < shared_warps(old):
        steps.append(f"shared memory {old['shared_bytes']} → {new['shared_bytes']} bytes "
                     f"({shared_warps(old)} → {shared_warps(new)} warps/SM by shared memory)")
    return steps


def _does_not_fit(case: Case, new: dict) -> List[str]:
    """The rule that needs no baseline: the block's shared memory on the target's smallest GPU."""
    limit = MAX_SHARED_BYTES[case.arch]
    if new["shared_bytes"] > limit:
        return [f"needs {new['shared_bytes']} bytes of shared memory per block; "
                f"sm_{case.arch} GPUs may have {limit}"]
    return []


def _persistent(case: Case) -> bool:
    """Whether the case's configuration launches one program per SM (``persistent``)."""
    return bool(resolve_config(case.variant, case.head_dim, case.shape, arch=case.arch).persistent)


def _occupancy_dropped(old: dict, new: dict) -> str:
    causes = _steps_down(old, new) or [f"num_warps {old['num_warps']} → {new['num_warps']}"]
    return f"occupancy dropped from {resident_warps(old)} to {resident_warps(new)} warps/SM: {'; '.join(causes)}"


def _failures(case: Case, old: dict, new: dict, cg_requested: bool) -> List[str]:
    failures = []
    if new["stack_bytes"] > old["stack_bytes"]:
        failures.append(f"spills: stack {old['stack_bytes']} → {new['stack_bytes']} bytes per thread")
    if case.arch == SM90 and resident_warps(new) < resident_warps(old) and not _persistent(case):
        failures.append(_occupancy_dropped(old, new))
    if cg_requested and new["ld_global_cg"] < old["ld_global_cg"]:
        failures.append(f"ld.global.cg {old['ld_global_cg']} → {new['ld_global_cg']} although "
                        "the variant asks for .cg")
    return failures


def _notes(case: Case, old: dict, new: dict, cg_requested: bool) -> List[str]:
    notes = []
    occupancy = case.arch == SM90  # the arithmetic above is sm_90's
    if new["stack_bytes"] < old["stack_bytes"] or (occupancy and resident_warps(new) > resident_warps(old)):
        notes.append("better than the baseline: lock it in with --update")
    if occupancy and resident_warps(new) == resident_warps(old):
        notes += [f"{step}, hidden by another limit: occupancy stays {resident_warps(new)} warps/SM"
                  for step in _steps_down(old, new)]
    if occupancy and resident_warps(new) < resident_warps(old) and _persistent(case):
        notes.append(f"{_occupancy_dropped(old, new)}; not a failure: a persistent grid runs one "
                     "program per SM")
    if cg_requested and new["ld_global_cg"] == 0:
        notes.append("asks for .cg but carries no ld.global.cg (pipelined into cp.async.cg)")
    return notes


def compare(case: Case, old: Optional[dict], new: Optional[dict], error: str = "") -> Finding:
    if new is None:
        return Finding(case, (f"does not compile: {error}",), (), old, None)
    fit = _does_not_fit(case, new)
    if old is None:
        return Finding(case, tuple(fit), ("not in the baseline: add it with --update",), None, new)
    cg = asks_for_cg(case.variant)
    return Finding(case, tuple(fit + _failures(case, old, new, cg)),
                   tuple(_notes(case, old, new, cg)), old, new)


def check_without_baseline(case: Case, new: Optional[dict], error: str = "") -> Finding:
    """The rules that need no baseline (for a compiler other than the baseline's): it
    compiles, and fits its target's shared memory."""
    if new is None:
        return Finding(case, (f"does not compile: {error}",), (), None, None)
    return Finding(case, tuple(_does_not_fit(case, new)), (), None, new)


# ---------------------------------------------------------------- baseline file

class BaselineError(Exception):
    """The baseline file is missing or corrupt: exit 2 with this message."""


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load_baseline(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BaselineError(f"no codegen baseline at {path}: write it with --update") from None
    except (OSError, ValueError) as err:
        raise BaselineError(f"corrupt codegen baseline {path}: {err}") from None
    variants = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(variants, dict):
        raise BaselineError(f"corrupt codegen baseline {path}: no 'variants' object")
    for variant, per_case in variants.items():
        for key, entry in (per_case or {}).items():
            if not (isinstance(entry, dict) and all(_count(entry.get(f)) for f in FIELDS)
                    and entry["num_warps"] > 0):
                raise BaselineError(f"corrupt codegen baseline {path}: {variant} {key} "
                                    f"needs integer {', '.join(FIELDS)} >= 0 (num_warps > 0)")
    return data


def baseline_entry(data: dict, case: Case) -> Optional[dict]:
    return data["variants"].get(case.variant, {}).get(case.key)


def toolchain() -> dict:
    return {"triton": triton.__version__, "dtype": DTYPE, "archs": [f"sm_{arch}" for arch in ARCHS]}


# ---------------------------------------------------------------- compiling

def _one_line(err: Exception) -> str:
    # Triton's compile errors open with the position and close with the cause
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"


def compile_entry(case: Case) -> Tuple[Optional[dict], str]:
    """The compiler's figures for one case, or None and the first line of its error."""
    try:
        report = compile_for_target(case.variant, head_dim=case.head_dim, dtype=DTYPE,
                                    arch=case.arch, shape=case.shape)
    except Exception as err:  # a kernel that no longer compiles fails the gate, named
        return None, _one_line(err)
    return {field: getattr(report, field) for field in FIELDS}, ""


def compile_entries(cases: Sequence[Case]) -> List[Tuple[Optional[dict], str]]:
    """``compile_entry`` for every case, one process per core: 45 compiles take 1.5 minutes
    serially on a CI machine's two cores. Forked workers: nothing here has touched a GPU."""
    workers = max(1, min(len(cases), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(compile_entry, cases))


def update(path: str, cases: Sequence[Case]) -> None:
    data = load_baseline(path) if os.path.exists(path) else {"variants": {}}
    # keep the other cases the gate still compiles (a subset updates only its own); drop those
    # it no longer does: removed variants, and a short class whose blocks now equal the long's
    compiled = {(case.variant, case.key) for case in selection((), (), ())}
    data["variants"] = {v: {key: entry for key, entry in entries.items() if (v, key) in compiled}
                        for v, entries in data["variants"].items() if v in VARIANTS}
    for case, (entry, error) in zip(cases, compile_entries(cases)):
        if entry is None:
            raise BaselineError(f"{case} does not compile: {error}")
        data["variants"].setdefault(case.variant, {})[case.key] = entry
    data["toolchain"] = toolchain()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------- report

def _change(old: Optional[dict], new: Optional[dict], value) -> str:
    before = value(old) if old is not None else None
    after = value(new) if new is not None else None
    if before is None or after is None:
        return str(after if before is None else before)
    return str(after) if before == after else f"{before} → {after}"


# name, value, whether it is sm_90's occupancy arithmetic ("–" for the other targets)
COLUMNS = (
    ("registers", lambda e: e["registers"], False),
    ("warps/SM by registers", register_warps, True),
    ("warps/SM", resident_warps, True),
    ("stack bytes", lambda e: e["stack_bytes"], False),
    ("shared bytes", lambda e: e["shared_bytes"], False),
    ("ld.global.cg", lambda e: e["ld_global_cg"], False),
)


def report(findings: Sequence[Finding], baseline_toolchain: Optional[dict],
           against: str = "baseline → now") -> str:
    names = {shape: name for name, shape in WINDOWS.items()}
    header = ["variant", "head_dim", "window", "arch", *(name for name, *_ in COLUMNS), "verdict"]
    lines = [f"### Codegen gate (bf16; {against})", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for f in findings:
        verdict = "**FAIL**" if f.failures else "ok"
        changes = ("–" if sm90_only and f.case.arch != SM90 else _change(f.baseline, f.current, value)
                   for _, value, sm90_only in COLUMNS)
        cells = [f.case.variant, str(f.case.head_dim), names[f.case.shape], f"sm_{f.case.arch}",
                 *changes, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for f in findings:
        lines += [f"- **FAIL** {f.case}: {text}" for text in f.failures]
    for f in findings:
        lines += [f"- note: {f.case}: {text}" for text in f.notes]
    if baseline_toolchain != toolchain():
        lines.append(f"- note: the baseline was written with {baseline_toolchain}, this is "
                     f"{toolchain()}: a difference may come from the compiler, not the kernel")
    failed = sum(bool(f.failures) for f in findings)
    lines += ["", f"**{'FAIL' if failed else 'PASS'}**: {failed} of {len(findings)} compiles regressed."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line

def _compiles_apart(case: Case) -> bool:
    """False for a short-extend case that resolves to its long case's config (the same compile)."""
    def resolved(shape):
        return resolve_config(case.variant, case.head_dim, shape, arch=case.arch)
    return case.shape != "short" or resolved("short") != resolved("long")


def selection(variants: Sequence[str], head_dims: Sequence[int], windows: Sequence[str],
              archs: Sequence[int] = ()) -> List[Case]:
    cases = [Case(v, d, WINDOWS[w], a) for a in (archs or ARCHS) for v in (variants or VARIANTS)
             if a == SM90 or v in OTHER_ARCH_VARIANTS
             for d in (head_dims or SUPPORTED_HEAD_DIMS) for w in (windows or WINDOWS)]
    return [case for case in cases if _compiles_apart(case)]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default=BASELINE_PATH, help="baseline JSON (default: %(default)s)")
    p.add_argument("--update", action="store_true", help="write the current codegen into the baseline")
    p.add_argument("--variant", action="append", default=[], choices=sorted(VARIANTS),
                   help="only this variant; repeatable (default: all)")
    p.add_argument("--head-dim", action="append", default=[], type=int, choices=SUPPORTED_HEAD_DIMS,
                   help="only this head dim; repeatable (default: all)")
    p.add_argument("--window", action="append", default=[], choices=sorted(WINDOWS),
                   help="only without a window, long (none) or short (short) extends, or with "
                        "one (sliding); repeatable (default: all three)")
    p.add_argument("--arch", action="append", default=[], type=int, choices=ARCHS,
                   help=f"only this target, sm_ARCH; repeatable (default: all; the targets but "
                        f"sm_{SM90} compile only {', '.join(OTHER_ARCH_VARIANTS)})")
    p.add_argument("--without-baseline", action="store_true",
                   help="check only that every case compiles and fits its target's shared "
                        "memory, without the baseline: for a Triton other than the baseline's")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    chosen = selection(args.variant, args.head_dim, args.window, args.arch)
    if args.without_baseline:
        findings = [check_without_baseline(case, *compiled)
                    for case, compiled in zip(chosen, compile_entries(chosen))]
        sys.stdout.write(report(findings, toolchain(), f"Triton {triton.__version__}, no baseline: "
                                                       "compiles and fits"))
        return EXIT_FAIL if any(f.failures for f in findings) else EXIT_PASS
    try:
        if args.update:
            update(args.baseline, chosen)
            print(f"wrote {len(chosen)} entries to {args.baseline}")
            return EXIT_PASS
        data = load_baseline(args.baseline)
    except BaselineError as err:
        print(f"codegen_gate: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    findings = [compare(case, baseline_entry(data, case), *compiled)
                for case, compiled in zip(chosen, compile_entries(chosen))]
    sys.stdout.write(report(findings, data.get("toolchain")))
    return EXIT_FAIL if any(f.failures for f in findings) else EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
