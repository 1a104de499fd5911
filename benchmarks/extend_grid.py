"""What the extend-attention benchmark classes share: their grid, its measurement, their setups.

asv runs every benchmark point in a process of its own (forked from a server that has
imported the suite), so per-point work is what the budget is made of. The work is split:

* ``measure_grid`` -- the classes' ``setup_cache``, one process per class: builds the inputs
  of every point, checks every variant against the reference (``harness.measure_point``),
  and keeps what the ``track_*`` benchmark reports (peak memory). It times nothing: a
  point's time, and every rate derived from it, is ``time_extend``'s (``point_cost``).
* ``point_result`` -- the classes' ``setup``, every point's process: cheap. Skips what does
  not apply (no GPU, a variant this commit lacks) with ``NotImplementedError``, and fails
  loudly on a variant that ``measure_grid`` found wrong.
* ``prepare_timed_call`` -- the setup of ``time_extend`` alone (a setup attached to the
  method; asv calls it without ``self``): builds the point's inputs on the device and runs
  the variant once on them; its output must be bit for bit the one ``measure_grid``
  checked (``harness.output_fingerprint``), else it is checked against the reference again.
  The ``track_*`` processes skip this.

What a point's process costs (``tools/profile_point.py`` on the H100): the CUDA context 0.3 s,
Triton's first launch, the samples. Triton's first launch in a process hashes Triton's own
library (``triton_key``, 0.4 s) and imports its gluon modules (0.1 s); neither needs the
GPU, so this module does both at import, in asv's forkserver, and every forked point
inherits them (``warm_triton``).
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
from typing import Callable, Dict, Sequence, Tuple

import torch

import kernels

from . import harness
from .cost import Cost, attention_cost
from .workloads import DTYPES, chosen_by_environment, make_inputs, parse_heads

# The parameters of every extend-attention benchmark, in this order (docs/DESIGN.md).
EXTEND_PARAMS = ("n_ctx", "window", "heads", "head_dim", "dtype", "pool", "variant")

Point = Tuple  # (n_ctx, window, heads, head_dim, dtype, pool, variant)
Lengths = Callable[[int], Tuple[Sequence[int], Sequence[int]]]

_RESULT_FIELDS = ("peak_memory_mb", "correct", "error", "failure", "fingerprint")
# A comma-separated list of variants: the setup caches check only these, and the other
# variants' points skip. The gate's protocol judges `default` alone (tools/gate_protocol.py
# --variants) and pays one setup cache per commit and round; checking the four variants it
# never times would triple that cost. Unset, every variant is checked, as asv's runs need.
VARIANTS_ENV = "BENCH_EXTEND_VARIANTS"


class VariantFailedCheck(AssertionError):
    """A variant that was wrong on this point's inputs: it fails instead of yielding numbers."""


def point_cost(lengths: Lengths, point: Point) -> Cost:
    """The FLOPs and bytes of one point's call, for the rates derived from its time."""
    n_ctx, window, heads, head_dim, dtype, _, _ = point
    heads_q, heads_kv = parse_heads(heads)
    return attention_cost(*lengths(n_ctx), heads_q=heads_q, heads_kv=heads_kv, head_dim=head_dim,
                          window=window, element_bytes=DTYPES[dtype].itemsize)


def extend_params(*, n_ctx, window, heads, head_dim, dtype, pool, variant) -> list:
    """asv ``params`` in the order of ``EXTEND_PARAMS``."""
    return [list(n_ctx), list(window), list(heads), list(head_dim), list(dtype), list(pool),
            list(variant)]


def measured_variants(variants: Sequence[str]) -> Tuple[str, ...]:
    """The variants of ``variants`` that this run checks (``VARIANTS_ENV``); ValueError for a
    name that is no variant of the grid."""
    return chosen_by_environment(VARIANTS_ENV, "variants", variants, variants)


def measure_grid(params: Sequence[Sequence], lengths: Lengths) -> dict:
    """Check every point of ``params`` and measure its peak memory; the pickled result is
    asv's setup cache.

    {"unavailable": why} without a GPU. Otherwise {"lengths": {n_ctx: (prefix, extend)},
    "variants": the measured variants this commit has, "chosen": the variants this run
    checks (``VARIANTS_ENV``), "points": {point without its variant: {variant: numbers}}}.
    """
    if not torch.cuda.is_available():
        return {"unavailable": "needs a CUDA device"}
    n_ctxs, windows, heads_list, head_dims, dtypes, pools, variants = params
    chosen = measured_variants(variants)
    present = [name for name in chosen if name in kernels.VARIANTS]
    measured = {"lengths": {}, "variants": present, "chosen": chosen, "points": {}}
    for n_ctx in n_ctxs:
        measured["lengths"][n_ctx] = lengths(n_ctx)
        for heads, head_dim, dtype, pool in itertools.product(heads_list, head_dims, dtypes, pools):
            inputs = make_inputs(*measured["lengths"][n_ctx], heads=heads, head_dim=head_dim,
                                 dtype=dtype, pool=pool, device="cuda")
            for window in windows:
                results = harness.measure_point(inputs, window, present, timed=False)
                measured["points"][(n_ctx, window, heads, head_dim, dtype, pool)] = {
                    name: _numbers(results[name]) for name in present}
            del inputs  # the next shape's inputs need the memory
            torch.cuda.empty_cache()
    return measured


def point_result(measured: dict, point: Point) -> Dict[str, object]:
    """The numbers ``measure_grid`` kept for ``point``, or why the point is skipped or failed."""
    if "unavailable" in measured:
        raise NotImplementedError(measured["unavailable"])
    *shape, variant = point
    if variant not in measured["chosen"]:
        raise NotImplementedError(f"variant {variant!r} not checked in this run "
                                  f"({VARIANTS_ENV} chose {', '.join(measured['chosen'])})")
    if variant not in measured["variants"]:
        raise NotImplementedError(f"variant {variant!r} is not in this commit's kernels.VARIANTS")
    result = measured["points"][tuple(shape)][variant]
    if not result["correct"]:
        raise VariantFailedCheck(result["failure"])
    return result


_prepared_calls: Dict[Point, Callable[[], None]] = {}


def prepare_timed_call(measured: dict, *point) -> None:
    """``time_extend``'s own setup: the point's inputs on the device, the variant checked on them.

    asv re-runs setups before every sample; the inputs are built and checked once.
    """
    if point not in _prepared_calls:
        _prepared_calls[point] = _checked_call(measured, point)


def timed_call(point: Point) -> Callable[[], None]:
    """The kernel call ``prepare_timed_call`` made for ``point`` in this process."""
    return _prepared_calls[point]


def _checked_call(measured: dict, point: Point) -> Callable[[], None]:
    n_ctx, window, heads, head_dim, dtype, pool, variant = point
    inputs = make_inputs(*measured["lengths"][n_ctx], heads=heads, head_dim=head_dim, dtype=dtype,
                         pool=pool, device="cuda")
    # measure_grid checked this variant against the reference on identical inputs
    harness.confirm_checked(inputs, variant, window,
                            harness.kernel_call(inputs, variant, window, validate=True),
                            point_result(measured, point)["fingerprint"])
    return harness.kernel_call(inputs, variant, window)


def warm_triton() -> None:
    """Do the parts of Triton's first launch in a process that need no GPU (see above)."""
    for module, function in (("triton.runtime.cache", "triton_key"),  # Triton 3.6
                             ("triton.compiler.compiler", "triton_key")):  # earlier
        try:
            getattr(importlib.import_module(module), function)()
            break
        except (ImportError, AttributeError):
            continue
    try:
        importlib.import_module("triton.experimental.gluon.nvidia.hopper")
    except ImportError:
        pass


warm_triton()


def _numbers(result: harness.PointResult) -> Dict[str, object]:
    fields = dataclasses.asdict(result)
    return {name: fields[name] for name in _RESULT_FIELDS}
