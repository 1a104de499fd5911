"""What the peers benchmark classes share: their measurement, their setups (``bench_peers.py``).

The split between asv's setup cache, the setups and the timed calls is the one
``extend_grid.py`` describes, with providers (``benchmarks/providers/``) in place of variants:

* ``measure_peers`` -- a class's ``setup_cache``: builds every point's inputs once, prepares
  every provider that runs here (``prepare``, untimed), checks each against the one float64
  reference of the point, and times the correct ones interleaved in this one process, so
  that ``default``'s speedup over each is an in-run ratio. A provider that cannot run here
  is kept with its reason, and its points are skipped; one that is wrong fails its points.
* ``point_result`` -- every point's setup: cheap; skips, fails or returns the numbers.
* ``prepare_timed_call`` -- ``time_extend``'s own setup: the point's inputs again, the
  provider prepared and run once, proven to compute what was checked
  (``harness.confirm_checked``: the same bits, or the reference again where the provider is
  not deterministic).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import time
from typing import Callable, Dict, Sequence, Tuple

import torch

from . import harness
from .extend_grid import Lengths, VariantFailedCheck
from .providers import PROVIDERS
from .providers.base import PeerPoint, ProviderUnavailable
from .providers.project import DEFAULT
from .workloads import POOLS, chosen_by_environment, make_inputs

# setup_cache's timing of each provider at each point: turns call by call, in this many passes
# (harness.timed_in_turns), device time.
MEASURE_ROUNDS = 2
MEASURE_REP_MS = 40.0
# A comma-separated list of pools: the setup cache measures only these, and the other pools'
# points skip. A GPU job that runs one pool's points (``ci/gpu_job.sh peers POOL``: both do
# not fit one call) sets it, so that its setup cache does not spend minutes on points the run
# then skips; ``ci/import_gpu_results.py`` joins the two runs' halves.
POOLS_ENV = "BENCH_PEERS_POOLS"
# A file the setup cache appends its progress to: seconds since it started, and what it had
# just done. asv keeps nothing of a setup cache that a deadline stops, and one spent minutes
# at idle power before its first timing (docs/PEERS.md); ``ci/gpu_job.sh`` names a file in $OUT.
TRACE_ENV = "BENCH_PEERS_TRACE"


class _Trace:
    """``trace(what)`` appends a line to ``TRACE_ENV``'s file, if one is named."""

    def __init__(self):
        self.path, self.start = os.environ.get(TRACE_ENV), time.perf_counter()

    def __call__(self, what: str) -> None:
        if self.path:
            with open(self.path, "a") as file:
                file.write(f"{time.perf_counter() - self.start:8.1f} s  {what}\n")


def measured_pools(grid: "PeersGrid") -> Sequence[str]:
    """The grid's pools that this run measures (``POOLS_ENV``); ValueError for an unknown one."""
    return chosen_by_environment(POOLS_ENV, "pools", POOLS, grid.pool)

Shape = Tuple  # (n_ctx, window, heads, head_dim, dtype, pool)


@dataclasses.dataclass(frozen=True)
class PeersGrid:
    """The points a peers class measures: every combination of these, for every provider."""

    n_ctx: Sequence[int]
    window: Sequence[int]
    heads: Sequence[str]
    head_dim: Sequence[int]
    dtype: Sequence[str]
    pool: Sequence[str]
    providers: Sequence[str]

    def shapes(self):
        for n_ctx, heads, head_dim, dtype, pool in itertools.product(
                self.n_ctx, self.heads, self.head_dim, self.dtype, self.pool):
            yield n_ctx, heads, head_dim, dtype, pool


def measure_peers(grid: PeersGrid, lengths: Lengths, *, rounds: int = MEASURE_ROUNDS,
                  rep_ms: float = MEASURE_REP_MS) -> dict:
    """Check, then time, every provider at every point of ``grid``: asv's setup cache.

    {"unavailable": why} without a GPU. Otherwise {"lengths": {n_ctx: (prefix, extend)},
    "points": {shape: {provider: numbers, or {"skipped": why}}}}.
    """
    if not torch.cuda.is_available():
        return {"unavailable": "needs a CUDA device"}
    trace = _Trace()
    measured = {"lengths": {}, "points": {}, "pools": measured_pools(grid)}
    for n_ctx, heads, head_dim, dtype, pool in dataclasses.replace(grid, pool=measured["pools"]).shapes():
        measured["lengths"].setdefault(n_ctx, lengths(n_ctx))
        inputs = make_inputs(*measured["lengths"][n_ctx], heads=heads, head_dim=head_dim,
                             dtype=dtype, pool=pool, device="cuda")
        trace(f"inputs n_ctx={n_ctx} heads={heads} head_dim={head_dim} {dtype} {pool}")
        for window in grid.window:
            shape = (n_ctx, window, heads, head_dim, dtype, pool)
            measured["points"][shape] = _measure_point(inputs, window, PeerPoint(head_dim, dtype, window),
                                                       grid.providers, rounds, rep_ms, trace)
            torch.cuda.empty_cache()  # the providers' prepared copies of the pool are gone
        del inputs
        torch.cuda.empty_cache()
    return measured


def _measure_point(inputs, window, point: PeerPoint, names: Sequence[str], rounds: int,
                   rep_ms: float, trace: Callable[[str], None]) -> dict:
    numbers: Dict[str, dict] = {}
    prepared: Dict[str, harness.Prepared] = {}
    for name in names:
        why_not = PROVIDERS[name].why_not(point)
        if why_not is None:
            try:
                call = PROVIDERS[name].prepare(inputs, window)
                prepared[name] = harness.Prepared(checked=call, timed=call)
                continue
            except ProviderUnavailable as unavailable:  # e.g. a JIT build that failed
                why_not = f"prepare: {unavailable}"
            except Exception as failed:  # the provider's own bug: its points fail, loudly
                numbers[name] = {"correct": False, "failure": f"{name} at window={window}: prepare "
                                 f"raised {type(failed).__name__}: {failed}"}
                print(f"peers: {numbers[name]['failure']}", file=sys.stderr)
                continue
        print(f"peers: {name} skipped at {point}: {why_not}", file=sys.stderr)
        numbers[name] = {"skipped": why_not}
    trace(f"  window={window}: {len(prepared)} providers prepared")
    if DEFAULT not in prepared:
        raise RuntimeError(f"peers: {DEFAULT!r} does not run at {point}: "
                           f"{numbers.get(DEFAULT, {}).get('skipped')}; nothing to compare with")
    results = harness.measure_calls(inputs, window, prepared, baseline=DEFAULT,
                                    rounds=rounds, rep_ms=rep_ms)
    trace(f"  window={window}: checked and timed")
    for name, result in results.items():
        numbers[name] = {"seconds": result.seconds, "tflops": result.tflops,
                         # default's median over this provider's, both timed in these turns
                         "default_time_ratio": result.speedup_vs_baseline,
                         "correct": result.correct, "error": result.error,
                         "failure": result.failure, "fingerprint": result.fingerprint}
    return numbers


def point_result(measured: dict, shape: Shape, provider: str) -> dict:
    """The numbers ``measure_peers`` kept, or why the point is skipped (``NotImplementedError``,
    asv's skip) or failed."""
    if "unavailable" in measured:
        raise NotImplementedError(measured["unavailable"])
    if tuple(shape) not in measured["points"]:
        raise NotImplementedError(f"pool {shape[-1]!r} not measured in this run "
                                  f"({POOLS_ENV} chose {', '.join(measured['pools'])})")
    numbers = measured["points"][tuple(shape)][provider]
    if "skipped" in numbers:
        raise NotImplementedError(numbers["skipped"])
    if not numbers["correct"]:
        raise VariantFailedCheck(numbers["failure"])
    return numbers


_prepared_calls: Dict[Tuple, Callable[[], None]] = {}


def prepare_timed_call(measured: dict, shape: Shape, provider: str) -> None:
    """``time_extend``'s setup: the point's inputs, the provider prepared and proven; once a process."""
    key = (*shape, provider)
    if key in _prepared_calls:
        return
    numbers = point_result(measured, shape, provider)
    n_ctx, window, heads, head_dim, dtype, pool = shape
    inputs = make_inputs(*measured["lengths"][n_ctx], heads=heads, head_dim=head_dim, dtype=dtype,
                         pool=pool, device="cuda")
    call = PROVIDERS[provider].prepare(inputs, window)
    harness.confirm_checked(inputs, provider, window, call, numbers["fingerprint"],
                            deterministic=PROVIDERS[provider].deterministic)
    _prepared_calls[key] = call


def timed_call(shape: Shape, provider: str) -> Callable[[], None]:
    return _prepared_calls[(*shape, provider)]
