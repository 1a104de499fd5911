"""Extend attention on the GPU: the upstream PR matrix, and smaller sub-grids beyond it.

Every class has the parameters ``n_ctx, window, heads, head_dim, dtype, pool, variant``
(docs/DESIGN.md) and the same benchmarks:

* ``time_extend`` -- device time of one call (``DeviceClock``: CUDA events, L2 flushed
  before each call), in asv's statistics so that ``asv compare`` and ``asv continuous``
  can test a change for significance;
* ``track_peak_memory_mb`` -- device memory one call allocates beyond its inputs.

asv reads every stored value as lower-is-better, so rates are not stored: TFLOP/s, GB/s
and the speedup over baseline are derived from ``time_extend``'s stored medians
(``plots/history.py``, with ``extend_grid.point_cost``), one timing per point
(docs/GATE.md, "What asv reads as a regression").

How the work is split between asv's setup cache, the setups and the timed calls, and
why: ``benchmarks/extend_grid.py``. Without a GPU every point is skipped. Each class's
asv versions say what it measures: ``benchmarks/versions.py``.
"""

from . import workloads as w
from .device_clock import DeviceTimed
from .extend_grid import (EXTEND_PARAMS, extend_params, measure_grid, point_result,
                          prepare_timed_call, timed_call)
from .versions import PROTOCOL, explicit


class _ExtendBenchmark(DeviceTimed):
    """The benchmarks every grid shares (timing attributes: ``DeviceTimed``). Each subclass defines its own
    ``setup_cache``: asv keys the cache by where that method is written, so an inherited
    one would measure the first class's grid for all of them."""

    param_names = list(EXTEND_PARAMS)
    lengths = staticmethod(w.pr_lengths)

    def setup(self, measured, n_ctx, window, heads, head_dim, dtype, pool, variant):
        self.result = point_result(measured, (n_ctx, window, heads, head_dim, dtype, pool, variant))

    def time_extend(self, measured, n_ctx, window, heads, head_dim, dtype, pool, variant):
        timed_call((n_ctx, window, heads, head_dim, dtype, pool, variant))()

    time_extend.setup = prepare_timed_call

    def track_peak_memory_mb(self, measured, n_ctx, window, heads, head_dim, dtype, pool, variant):
        return self.result["peak_memory_mb"]

    track_peak_memory_mb.unit = "MB"


@explicit(f"protocol {PROTOCOL}")
class PRMatrix(_ExtendBenchmark):
    """The upstream PR's benchmark: B=32, 64/8 heads, D=128, bf16, both pools, every variant."""

    params = extend_params(n_ctx=w.PR_N_CTX, window=w.PR_WINDOWS, heads=[w.PR_HEADS],
                           head_dim=[w.PR_HEAD_DIM], dtype=[w.PR_DTYPE], pool=w.POOLS,
                           variant=w.VARIANT_NAMES)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 600


@explicit(f"protocol {PROTOCOL}")
class Heads(_ExtendBenchmark):
    """The PR shape at one context size with other head counts: fewer, and no grouping."""

    params = extend_params(n_ctx=[w.SUBGRID_N_CTX], window=[-1], heads=w.SUBGRID_HEADS,
                           head_dim=[w.PR_HEAD_DIM], dtype=[w.PR_DTYPE], pool=["contiguous"],
                           variant=w.SUBGRID_VARIANTS)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 300


@explicit(f"protocol {PROTOCOL}")
class HeadDims(_ExtendBenchmark):
    """The PR shape at one context size with every head dim the kernel supports."""

    params = extend_params(n_ctx=[w.SUBGRID_N_CTX], window=[-1], heads=[w.PR_HEADS],
                           head_dim=w.SUBGRID_HEAD_DIMS, dtype=[w.PR_DTYPE], pool=["contiguous"],
                           variant=w.SUBGRID_VARIANTS)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 300


@explicit(f"protocol {PROTOCOL}")
class Fp16(_ExtendBenchmark):
    """The PR shape at one context size in fp16, with and without a window."""

    params = extend_params(n_ctx=[w.SUBGRID_N_CTX], window=w.FP16_WINDOWS, heads=[w.PR_HEADS],
                           head_dim=[w.PR_HEAD_DIM], dtype=["fp16"], pool=["contiguous"],
                           variant=w.SUBGRID_VARIANTS)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 300


@explicit(f"protocol {PROTOCOL}")
class ChatTurn(_ExtendBenchmark):
    """The next turn of a chat: every sequence a 16k-token cached prefix and 256 new tokens."""

    params = extend_params(n_ctx=[w.CHAT_N_CTX], window=[-1], heads=[w.PR_HEADS],
                           head_dim=[w.PR_HEAD_DIM], dtype=[w.PR_DTYPE], pool=w.POOLS,
                           variant=w.SUBGRID_VARIANTS)
    lengths = staticmethod(w.chat_turn_lengths)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 300


@explicit(f"protocol {PROTOCOL}")
class Quick(_ExtendBenchmark):
    """Four PR-matrix points for bisection (`--bench bench_extend.Quick`): seconds, not minutes."""

    params = extend_params(n_ctx=[w.QUICK_N_CTX], window=w.QUICK_WINDOWS, heads=[w.PR_HEADS],
                           head_dim=[w.PR_HEAD_DIM], dtype=[w.PR_DTYPE], pool=["contiguous"],
                           variant=w.SUBGRID_VARIANTS)

    def setup_cache(self):
        return measure_grid(self.params, self.lengths)

    setup_cache.timeout = 300
