"""Correctness, then timing, of one benchmark point: one input set, one window, some variants.

Shared by the asv suite (this repository's variants and the peers, ``benchmarks/providers/``)
and ``tools/quick_bench.py``, so that all check and time alike.

Correctness. Every variant runs once on an output poisoned with NaN and is compared with
``kernels.extend_attention_reference`` (float64) on a few sequences spread across the batch,
the longest included; the whole output must be free of NaN (every row written). A variant
over its dtype's tolerance (``TOLERANCES``) raises ``VariantIncorrect`` and is not timed.

Timing. Device time of one call from CUDA events around it, one pair of events per
repetition; the median of the repetitions summarizes. L2 policy: *cold* -- the L2 cache is
flushed before every repetition, outside the timed region, by writing a buffer twice its
size. That is the serving case: each layer's KV is new to the cache when its attention runs,
so a warm-L2 number would flatter exactly the loads the variants differ in. Variants of one
point are timed in one process, taking turns call by call (``timed_in_turns``), so that the
board's clock and power state is the same for all of them and ``speedup_vs_baseline``
compares like with like.

Timed calls skip the launcher's content checks (``validate=False``): those read tensors back
to the host, a device sync inside the timed region. The checked call keeps them.

Fingerprints. A checked variant's output is summarized by ``output_fingerprint``: integer
sums of its raw bits, per token row and per (head, dim) column, hashed. The kernel is
deterministic, so another process that runs the same variant on the same inputs (asv's
``time_extend``, benchmarks/extend_grid.py) proves it computes exactly what was checked by
matching the fingerprint, without the reference's cost.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import statistics
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from triton.runtime.errors import OutOfResources

import kernels

from .workloads import ExtendInputs, indptr

BASELINE = "baseline"

# Relative error ||out - ref|| / ||ref|| allowed over the checked rows, per input dtype.
# The kernel reads the same rounded inputs as the reference, so its error comes from
# rounding the softmax weights P to the input dtype before P @ V and the output on store:
# about one unit roundoff u (bf16 u = 2^-8 = 3.9e-3, fp16 u = 2^-11 = 4.9e-4; fp16 measures
# 2.3e-4 on the interpreter). The bounds sit 5x (bf16) and 10x (fp16) above u, while a
# structural bug -- a skipped tile, a wrong mask, a window off by one -- moves the output by
# about 1/sqrt(visible keys): 0.2 at 16 keys, 0.04 at 512.
TOLERANCES = {torch.bfloat16: 2e-2, torch.float16: 5e-3}
# float64 makes the reference's own error negligible and cannot be silently lowered to TF32
# the way a float32 matmul can; the H100 runs float64 matmuls on its tensor cores.
REFERENCE_DTYPE = torch.float64
# Sequences checked by default: this many spread evenly over the batch, plus the longest.
SPREAD_SEQUENCES = 3

DEFAULT_REP_MS = 100.0  # device time spent on the timed repetitions of one variant
DEFAULT_WARMUP_MS = 10.0  # per timed call, after the estimate
DEFAULT_ROUNDS = 3
ESTIMATE_REPS = 3  # repetitions that size the run
MIN_REPS = 5  # even for slow calls, enough samples for a median
MAX_REPS = 1000  # beyond this the median no longer moves; the sample list only grows
FALLBACK_FLUSH_BYTES = 256 * 2**20  # when the device does not report its L2 size


class VariantIncorrect(AssertionError):
    """A variant's output disagrees with the reference or leaves rows unwritten."""

    def __init__(self, variant: str, window: int, error: float, reason: str):
        self.variant, self.window, self.error, self.reason = variant, window, error, reason
        super().__init__(f"variant {variant!r} at window={window}: {reason} "
                         f"(relative error {error:.3g})")


@dataclasses.dataclass(frozen=True)
class Reference:
    """Reference output of some sequences' rows, computed once and checked against every variant."""

    window: int
    sequences: Tuple[int, ...]
    rows: torch.Tensor  # indices into the output's token dimension
    expected: torch.Tensor  # [len(rows), H_Q, D] in REFERENCE_DTYPE


@dataclasses.dataclass(frozen=True)
class PointResult:
    """One variant at one point. Timing fields are NaN when the variant was not timed."""

    seconds: float  # median device time of one call
    samples: Tuple[float, ...]  # every repetition, seconds
    tflops: float
    gbps: float
    speedup_vs_baseline: float  # baseline median / this median, both from the same call
    peak_memory_mb: float  # MiB allocated by one call beyond what was allocated before it
    correct: bool
    error: float  # relative error of the checked rows; NaN when the call did not run
    failure: Optional[str] = None  # why the variant was not timed
    fingerprint: Optional[str] = None  # output_fingerprint of the checked output


def tolerance(dtype: torch.dtype) -> float:
    if dtype not in TOLERANCES:
        raise ValueError(f"dtype={dtype}: no tolerance; expected one of {list(TOLERANCES)}")
    return TOLERANCES[dtype]


def default_check_sequences(prefix_lens: Sequence[int], extend_lens: Sequence[int]) -> Tuple[int, ...]:
    """A few sequences spread over the batch plus the ones with the longest extend and context.

    The longest context exercises the most prefix tiles; the longest extend the last query
    block of the grid. Sequences without new tokens have no output to check.
    """
    nonempty = [i for i, n in enumerate(extend_lens) if n > 0]
    if not nonempty:
        return ()
    spread = np.linspace(0, len(nonempty) - 1, SPREAD_SEQUENCES).round().astype(int)
    chosen = {nonempty[k] for k in spread}
    chosen.add(max(nonempty, key=lambda i: extend_lens[i]))
    chosen.add(max(nonempty, key=lambda i: prefix_lens[i] + extend_lens[i]))
    return tuple(sorted(chosen))


def reference_for(inputs: ExtendInputs, window: int, *,
                  sequences: Optional[Sequence[int]] = None) -> Reference:
    """The reference output of ``sequences`` (default: ``default_check_sequences``).

    The reference runs on a sub-batch of just those sequences (their queries and extend K/V
    copied out, the shared pool indexed through their own kv_indices), so that its memory
    scales with the slice, not with the whole batch.
    """
    _check_window(window)
    batch = len(inputs.extend_lens)
    if sequences is None:
        sequences = default_check_sequences(inputs.prefix_lens, inputs.extend_lens)
    elif not all(isinstance(i, int) and 0 <= i < batch for i in sequences):
        raise ValueError(f"sequences={sequences!r}: expected indices in [0, {batch})")
    sequences = tuple(sequences)
    device = inputs.q_extend.device
    qo, kv = inputs.qo_indptr.tolist(), inputs.kv_indptr.tolist()
    rows = torch.cat([torch.empty(0, dtype=torch.long)]
                     + [torch.arange(qo[i], qo[i + 1]) for i in sequences]).to(device)
    prefix_rows = torch.cat([inputs.kv_indices[:0]] + [inputs.kv_indices[kv[i]:kv[i + 1]] for i in sequences])
    expected = kernels.extend_attention_reference(
        inputs.q_extend[rows], inputs.k_extend[rows], inputs.v_extend[rows],
        inputs.k_buffer, inputs.v_buffer,
        indptr([qo[i + 1] - qo[i] for i in sequences], device, torch.int64),
        indptr([kv[i + 1] - kv[i] for i in sequences], device, torch.int64),
        prefix_rows, sliding_window_size=window, dtype=REFERENCE_DTYPE)
    return Reference(window=window, sequences=sequences, rows=rows, expected=expected)


def check_variant(inputs: ExtendInputs, variant: str, window: int, *,
                  sequences: Optional[Sequence[int]] = None, reference: Optional[Reference] = None,
                  config: Optional[kernels.LaunchConfig] = None, fwd: Optional[Callable] = None) -> float:
    """Run ``variant`` once and return its relative error; raise ``VariantIncorrect`` if wrong.

    ``config`` launches that LaunchConfig under the name ``variant`` (default
    ``VARIANTS[variant]``). ``reference`` reuses a ``reference_for`` result across variants
    instead of computing one for ``sequences``. ``fwd``: as in ``kernel_call``.
    """
    launch = kernel_call(inputs, _launch_config(variant, config), window, validate=True, fwd=fwd)
    return check_call(inputs, variant, window, launch, sequences=sequences, reference=reference)


def check_call(inputs: ExtendInputs, name: str, window: int, call: Callable[[], None], *,
               sequences: Optional[Sequence[int]] = None,
               reference: Optional[Reference] = None) -> float:
    """Run ``call`` (any implementation's, writing ``inputs.o_extend``) once on a poisoned output
    and return its relative error; raise ``VariantIncorrect`` under ``name`` if it is wrong."""
    if reference is None:
        reference = reference_for(inputs, window, sequences=sequences)
    elif sequences is not None:
        raise ValueError("sequences: give either sequences or a reference, not both")
    elif reference.window != window:
        raise ValueError(f"reference: computed for window={reference.window}, not {window}")
    out = inputs.o_extend
    out.fill_(float("nan"))  # a row the call never writes cannot then pass for a right one
    call()
    error = kernels.relative_error(out[reference.rows], reference.expected)
    nan_rows = int(torch.isnan(out).flatten(1).any(dim=1).sum())
    if nan_rows:
        raise VariantIncorrect(name, window, error,
                               f"{nan_rows} of {out.shape[0]} output rows hold NaN (unwritten or NaN computed)")
    limit = tolerance(out.dtype)
    if not error <= limit:
        raise VariantIncorrect(name, window, error,
                               f"over the {out.dtype} tolerance {limit:g} on sequences {reference.sequences}")
    return error


def confirm_checked(inputs: ExtendInputs, name: str, window: int, call: Callable[[], None],
                    fingerprint: Optional[str], *, deterministic: bool = True) -> None:
    """Prove, in another process, that ``call`` computes what ``measure_calls`` checked on
    identical inputs: by the same output bits where the implementation is deterministic, else
    (or when the bits differ) against the reference on the sequence with the most keys, the
    most tiles. A wrong output raises ``VariantIncorrect``."""
    inputs.o_extend.fill_(float("nan"))
    call()
    if deterministic and output_fingerprint(inputs.o_extend) == fingerprint:
        return
    prefix, extend = inputs.prefix_lens, inputs.extend_lens
    longest = max(range(len(extend)), key=lambda i: (extend[i] > 0, prefix[i] + extend[i]))
    check_call(inputs, name, window, call, sequences=(longest,))


def output_fingerprint(out: torch.Tensor) -> str:
    """A digest of ``out``'s exact bits: int64 sums of its 16-bit words per token row and per
    (head, dim) column, hashed. Integer sums do not depend on the reduction's order, so equal
    bits give equal fingerprints on any run; a changed value changes a row sum."""
    if out.element_size() != 2:
        raise ValueError(f"out: dtype {out.dtype}; expected a 16-bit float output")
    words = out.view(torch.int16)
    digest = hashlib.sha256()
    digest.update(repr((tuple(out.shape), str(out.dtype))).encode())
    digest.update(words.sum(dim=(1, 2), dtype=torch.int64).cpu().numpy().tobytes())
    digest.update(words.sum(dim=0, dtype=torch.int64).cpu().numpy().tobytes())
    return digest.hexdigest()


def kernel_call(inputs: ExtendInputs, config: Union[str, kernels.LaunchConfig], window: int, *,
                validate: bool = False, fwd: Optional[Callable] = None) -> Callable[[], None]:
    """A no-argument call of the kernel on ``inputs``; by default without the syncing checks.

    ``fwd`` launches another version's ``extend_attention_fwd`` (tools/ab_kernels.py).
    """
    _check_window(window)
    fwd = fwd or kernels.extend_attention_fwd

    def launch():
        fwd(*inputs.args, sliding_window_size=window, config=config,
            max_len_extend=inputs.max_len_extend, validate=validate)
    return launch


def device_times(fn: Callable[[], object], *, rep_ms: float = DEFAULT_REP_MS,
                 warmup_ms: float = DEFAULT_WARMUP_MS, flush_l2: bool = True) -> List[float]:
    """Device seconds of ``fn`` per call, about ``rep_ms`` of them, L2 flushed before each.

    Our equivalent of ``triton.testing.do_bench(return_mode="median")`` that keeps the samples
    and the L2 policy in our hands. (Not named ``time_*``: asv would take it for a benchmark.)
    """
    return timed_in_turns({"fn": fn}, rep_ms=rep_ms, warmup_ms=warmup_ms, flush_l2=flush_l2)["fn"]


def timed_in_turns(launches: Mapping[str, Callable[[], object]], *, rounds: int = 1,
                   rep_ms: float = DEFAULT_REP_MS, warmup_ms: float = DEFAULT_WARMUP_MS,
                   flush_l2: bool = True) -> Dict[str, List[float]]:
    """Device seconds per call of each launch, about ``rep_ms`` of calls each, L2 flushed
    before every call (``flush_l2``), outside the timed region.

    The launches take turns call by call (A B C A B C ...), in ``rounds`` passes that each
    start one launch later; each launch's calls are sized by a first estimate, and warmed up
    (``warmup_ms`` each), in turns too. Turns, not one launch's calls back to back: the
    board's clock follows its power draw over tens of milliseconds, so a run of calls inherits
    the clock the run before it left, and rotating whole runs keeps each launch's predecessor
    the same in every round (measured on the H200: our kernel ~8% slower in every run that
    followed a run of FlashInfer's; docs/MEASUREMENTS.md, step 11). In turns, every launch
    runs under the same mix of all of them.
    """
    _require_cuda()
    if not (isinstance(rounds, int) and rounds >= 1):
        raise ValueError(f"rounds={rounds!r}: expected an int >= 1")
    if not (isinstance(rep_ms, (int, float)) and rep_ms > 0):
        raise ValueError(f"rep_ms={rep_ms!r}: expected a number > 0")
    if not (isinstance(warmup_ms, (int, float)) and warmup_ms >= 0):
        raise ValueError(f"warmup_ms={warmup_ms!r}: expected a number >= 0")
    names = list(launches)
    flush = l2_flush_buffer() if flush_l2 else None
    for name in names:
        launches[name]()  # first-call costs (compilation, allocator growth) stay out of the estimate
    estimates = {name: [] for name in names}
    for name, seconds in _time_calls(launches, _turns(names, dict.fromkeys(names, ESTIMATE_REPS)), flush):
        estimates[name].append(seconds)
    per_call = {name: max(statistics.median(estimates[name]), 1e-7) for name in names}
    for name in _turns(names, {name: math.ceil(warmup_ms / 1e3 / per_call[name]) for name in names}):
        launches[name]()
    reps = {name: min(MAX_REPS, max(MIN_REPS, round(rep_ms / 1e3 / per_call[name]))) for name in names}
    samples = {name: [] for name in names}
    for r in range(rounds if names else 0):
        order = names[r % len(names):] + names[:r % len(names)]
        share = {name: reps[name] // rounds + (r < reps[name] % rounds) for name in names}
        for name, seconds in _time_calls(launches, _turns(order, share), flush):
            samples[name].append(seconds)
    return samples


def _turns(order: Sequence[str], counts: Mapping[str, int]) -> List[str]:
    """``order`` call by call, each name until it has had its count: A B C A B C ... C C."""
    return [name for k in range(max(counts.values(), default=0)) for name in order if k < counts[name]]


def _time_calls(launches: Mapping[str, Callable[[], object]], sequence: Sequence[str],
                flush: Optional[torch.Tensor]) -> List[Tuple[str, float]]:
    """(name, device seconds) of each call of ``sequence``: CUDA events around each call, the
    flush queued on the same stream before its start event."""
    events = []
    for name in sequence:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if flush is not None:
            flush.zero_()
        start.record()
        launches[name]()
        end.record()
        events.append((name, start, end))
    torch.cuda.synchronize()
    return [(name, start.elapsed_time(end) / 1e3) for name, start, end in events]


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One implementation at one point: the call that is checked and the call that is timed
    (the same call, or this repository's kernel without the launcher's syncing checks)."""

    checked: Callable[[], None]
    timed: Callable[[], None]


def measure_point(inputs: ExtendInputs, window: int, variants: Sequence[str], *,
                  overrides: Optional[Mapping[str, kernels.LaunchConfig]] = None,
                  rounds: int = DEFAULT_ROUNDS, rep_ms: float = DEFAULT_REP_MS,
                  warmup_ms: float = DEFAULT_WARMUP_MS,
                  sequences: Optional[Sequence[int]] = None, timed: bool = True) -> Dict[str, PointResult]:
    """Check, then time, every variant at one point; baseline first and always included.

    ``overrides`` maps some of the names to the LaunchConfig to run under that name.
    The rest as ``measure_calls``.
    """
    if isinstance(variants, str):
        raise ValueError(f"variants={variants!r}: expected a sequence of names, not one string")
    names = list(dict.fromkeys([BASELINE, *variants]))
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(names)
    if unknown:
        raise ValueError(f"overrides: {sorted(unknown)} not among the variants {names}")
    configs = {name: _launch_config(name, overrides.get(name)) for name in names}
    prepared = {name: Prepared(checked=kernel_call(inputs, configs[name], window, validate=True),
                               timed=kernel_call(inputs, configs[name], window))
                for name in names}
    return measure_calls(inputs, window, prepared, baseline=BASELINE, rounds=rounds, rep_ms=rep_ms,
                         warmup_ms=warmup_ms, sequences=sequences, timed=timed)


def measure_calls(inputs: ExtendInputs, window: int, prepared: Mapping[str, Prepared], *,
                  baseline: str, rounds: int = DEFAULT_ROUNDS, rep_ms: float = DEFAULT_REP_MS,
                  warmup_ms: float = DEFAULT_WARMUP_MS,
                  sequences: Optional[Sequence[int]] = None, timed: bool = True) -> Dict[str, PointResult]:
    """Check every implementation against one reference, then time the correct ones interleaved.

    ``rep_ms`` is each implementation's timed budget, its calls taking turns with the others'
    in ``rounds`` passes (``timed_in_turns``); ``speedup_vs_baseline`` is ``baseline``'s
    median over each one's, both from these calls. One that fails its check is returned with
    ``correct=False``, its ``failure`` and NaN timings. ``timed=False`` checks without timing:
    every timing field is NaN, and the peak memory is measured all the same (one more call of
    each correct one).
    """
    _require_cuda(inputs)
    if not (isinstance(rounds, int) and rounds >= 1):
        raise ValueError(f"rounds={rounds!r}: expected an int >= 1")
    if baseline not in prepared:
        raise ValueError(f"baseline={baseline!r}: not among {list(prepared)}")
    reference = reference_for(inputs, window, sequences=sequences)
    checks = {name: _checked(inputs, name, calls.checked, window, reference)
              for name, calls in prepared.items()}
    del reference  # its float64 rows would otherwise sit in device memory through the timing

    launches = {name: calls.timed for name, calls in prepared.items() if checks[name][2] is None}
    samples = (timed_in_turns(launches, rounds=rounds, rep_ms=rep_ms, warmup_ms=warmup_ms)
               if launches and timed else {})
    peaks = {name: _peak_memory_mb(launch) for name, launch in launches.items()}
    baseline_s = statistics.median(samples[baseline]) if baseline in samples else math.nan
    cost = inputs.cost(window)
    results = {}
    for name in prepared:
        error, fingerprint, failure = checks[name]
        if name not in samples:
            results[name] = _untimed(error, fingerprint, failure, peaks.get(name, math.nan))
            continue
        seconds = statistics.median(samples[name])
        results[name] = PointResult(
            seconds=seconds, samples=tuple(samples[name]),
            tflops=cost.flops / seconds / 1e12, gbps=cost.bytes / seconds / 1e9,
            speedup_vs_baseline=baseline_s / seconds, peak_memory_mb=peaks[name],
            correct=True, error=error, fingerprint=fingerprint)
    return results


def _checked(inputs, name, call, window, reference) -> Tuple[float, Optional[str], Optional[str]]:
    """(relative error, output fingerprint, None) for a correct implementation; (error or NaN,
    None, why) for one that is not."""
    try:
        error = check_call(inputs, name, window, call, reference=reference)
        return error, output_fingerprint(inputs.o_extend), None
    except VariantIncorrect as wrong:
        return wrong.error, None, str(wrong)
    # The inputs are the harness's own, so a ValueError is the launcher refusing the
    # configuration (its tiles need more shared memory than the chip has, say) before any
    # launch, as OutOfResources is Triton's refusal at launch: one implementation fails, loudly,
    # and the point's others are still measured.
    except (OutOfResources, ValueError) as refused:
        return math.nan, None, f"variant {name!r} at window={window}: does not launch: {refused}"


def _untimed(error: float, fingerprint: Optional[str], failure: Optional[str],
             peak_memory_mb: float) -> PointResult:
    """A variant not timed: it failed (``failure``), or the point was checked only."""
    nan = math.nan
    return PointResult(seconds=nan, samples=(), tflops=nan, gbps=nan, speedup_vs_baseline=nan,
                       peak_memory_mb=peak_memory_mb, correct=failure is None, error=error,
                       failure=failure, fingerprint=fingerprint)


def l2_flush_buffer() -> torch.Tensor:
    """A buffer twice the current device's L2 size: writing it leaves none of the previous
    call's lines in L2."""
    return _flush_buffer_of(torch.cuda.current_device())


@functools.cache
def _flush_buffer_of(device_index: int) -> torch.Tensor:
    l2_bytes = getattr(torch.cuda.get_device_properties(device_index), "L2_cache_size", 0)
    nbytes = 2 * l2_bytes if l2_bytes > 0 else FALLBACK_FLUSH_BYTES
    return torch.empty(nbytes, dtype=torch.uint8, device=torch.device("cuda", device_index))


def _peak_memory_mb(fn) -> float:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20


def _launch_config(variant: str, config: Optional[kernels.LaunchConfig]) -> Union[str, kernels.LaunchConfig]:
    """What to pass the launcher: the override, else the name (resolved by the measured commit)."""
    if config is not None:
        if not isinstance(config, kernels.LaunchConfig):
            raise ValueError(f"config: expected a LaunchConfig, got {type(config).__name__}")
        return config
    if variant not in kernels.VARIANTS:
        raise ValueError(f"variant={variant!r}: unknown; expected one of {list(kernels.VARIANTS)}")
    return variant


def _check_window(window) -> None:
    if not isinstance(window, int) or isinstance(window, bool) or not (window == -1 or window > 0):
        raise ValueError(f"window={window!r}: expected -1 (none) or a positive int")


def _require_cuda(inputs: Optional[ExtendInputs] = None) -> None:
    if not torch.cuda.is_available():
        raise NotImplementedError("needs a CUDA device")
    if inputs is not None and not inputs.q_extend.is_cuda:
        raise ValueError(f"inputs: on {inputs.q_extend.device}; timing needs CUDA tensors")
