"""Our kernel beside its peers: SGLang's own kernel by release, FlashInfer, a dense bound.

Each class has the parameter ``provider``, whose values name what runs
(``benchmarks/providers/``); outside checks read ``bench_peers.Peers.time_extend`` and these
names. Benchmarks:

* ``time_extend`` -- device time of one call (``DeviceClock``, L2 cold), in asv's statistics;
* ``track_default_time_ratio`` -- our ``default``'s median time over this provider's, both
  timed interleaved in one process (the setup cache): an in-run ratio. Below 1 ``default`` is
  faster; its inverse is ``default``'s speedup over the provider, as the README and the plots
  state it. Stored this way round because ``asv compare`` reads a rise as a loss, and a rise
  here is one: ``default`` fell behind (the dashboard's regressions list judges times only:
  asv.conf.json's ``regressions_first_commits``).

TFLOP/s are not a benchmark of their own: the plots derive them from ``time_extend`` and
``benchmarks.cost``, so that a rate and a time never come from two measurements.

A provider that cannot run here is skipped with its reason (not fetched, no GPU, not sm_90,
a JIT build that failed); one that is wrong on the point's inputs fails it. The peers do not
change with this repository, so these classes run at HEAD and at each new kernel commit, with
no history to backfill.
"""

import hashlib

from . import workloads as w
from .device_clock import DeviceTimed
from .peers_grid import PeersGrid, measure_peers, point_result, prepare_timed_call, timed_call
from .providers import PROVIDERS
from .versions import PROTOCOL, explicit

# Bump when what the peers classes measure changes (the check, the timing, the inputs); a
# provider's own version enters each class's version by itself.
# 2: the setup cache's providers take turns call by call (harness.timed_in_turns) instead of
#    in rotated runs, which always timed `default` right after the same provider: the in-run
#    ratios (track_default_time_ratio) changed; time_extend, asv's own timing, did not and
#    keeps its series (benchmarks/versions.py pins it).
PEERS_PROTOCOL = 2


def peers_version(providers) -> str:
    """What a peers class measures: the harness's protocol, the peers' own, and the versions of
    the providers it runs (benchmarks/versions.py pins the first series stored)."""
    versions = ";".join(f"{name}={PROVIDERS[name].version}" for name in providers)
    return (f"protocol {PROTOCOL}; peers {PEERS_PROTOCOL}; "
            f"providers {hashlib.sha256(versions.encode()).hexdigest()[:16]}")


class _PeersBenchmark(DeviceTimed):
    """The benchmarks every peers class shares. A subclass sets ``grid``, ``params`` and
    ``param_names`` (the provider last), ``shape`` (its other parameters -> the point's
    shape) and its own ``setup_cache``: asv keys the cache by where that method is written."""

    def __init_subclass__(cls, **kwargs):
        """Each class's ``time_extend`` with its own setup, which asv calls without ``self``."""
        super().__init_subclass__(**kwargs)

        def time_extend(self, measured, *point):
            timed_call(cls.shape(*point[:-1]), point[-1])()

        def prepare(measured, *point):
            prepare_timed_call(measured, cls.shape(*point[:-1]), point[-1])
        time_extend.setup = prepare
        cls.time_extend = time_extend

    def setup(self, measured, *point):
        self.result = point_result(measured, self.shape(*point[:-1]), point[-1])

    def track_default_time_ratio(self, measured, *point):
        return self.result["default_time_ratio"]

    track_default_time_ratio.unit = "default time / provider time"


@explicit(peers_version(PROVIDERS))
class Peers(_PeersBenchmark):
    """The upstream PR matrix (B=32, 64/8 heads, D=128, bf16), both pools, every provider."""

    grid = PeersGrid(n_ctx=w.PR_N_CTX, window=w.PR_WINDOWS, heads=[w.PR_HEADS], head_dim=[w.PR_HEAD_DIM],
                     dtype=[w.PR_DTYPE], pool=w.POOLS, providers=list(PROVIDERS))
    params = [list(grid.n_ctx), list(grid.window), list(grid.pool), list(grid.providers)]
    param_names = ["n_ctx", "window", "pool", "provider"]

    def setup_cache(self):
        return measure_peers(self.grid, w.pr_lengths)

    setup_cache.timeout = 900

    @staticmethod
    def shape(n_ctx, window, pool):
        return n_ctx, window, w.PR_HEADS, w.PR_HEAD_DIM, w.PR_DTYPE, pool


# The head dims beside the best peer (issue 16's targets): ours and FlashInfer.
HEAD_DIM_PROVIDERS = [name for name in PROVIDERS if name == "default" or name.startswith("flashinfer")]


@explicit(peers_version(HEAD_DIM_PROVIDERS))
class PeersHeadDims(_PeersBenchmark):
    """The PR shape at every head dim the kernel supports, with and without a 512-token
    window, contiguous pool: ours against FlashInfer (each head dim is a JIT module of its own,
    about 2 minutes each on the first run of a machine)."""

    grid = PeersGrid(n_ctx=(1024, 4096, 8192), window=(-1, 512), heads=[w.PR_HEADS],
                     head_dim=w.SUBGRID_HEAD_DIMS, dtype=[w.PR_DTYPE], pool=["contiguous"],
                     providers=HEAD_DIM_PROVIDERS)
    params = [list(grid.n_ctx), list(grid.window), list(grid.head_dim), list(grid.providers)]
    param_names = ["n_ctx", "window", "head_dim", "provider"]

    def setup_cache(self):
        return measure_peers(self.grid, w.pr_lengths)

    setup_cache.timeout = 900

    @staticmethod
    def shape(n_ctx, window, head_dim):
        return n_ctx, window, w.PR_HEADS, head_dim, w.PR_DTYPE, "contiguous"
