"""Every benchmark's asv version, written down, so that stored history survives refactors.

asv shows a stored result (dashboard, ``asv show``, ``asv compare``'s "not comparable")
only while the version stored with it is the suite's. Without an explicit ``version`` asv
takes a hash of the benchmark's source (the method, its setups, the class's setup_cache):
a cosmetic edit of that source retires the whole stored series, while an edit of
``harness.py``, which does change what is measured, retires nothing. So every benchmark
class is decorated with ``explicit(measures)``, and its version says what it measures:

* ``PROTOCOL``: how a point is checked and timed (``benchmarks/harness.py``,
  ``device_clock.py``, ``extend_grid.py``: tolerances, L2 policy, events, samples). Bump it
  when the timing or the checking changes: every series measured under it is retired.
* a family's own revision (``CODEGEN``, ``CLOCKS``): bump it when what those benchmarks
  report changes.

The rule: a version changes only when what the benchmark measures changes, never for a
refactor, and the commit that changes it says why. ``tests/asv_versions.json`` is the lock:
the versions asv discovers must be the ones recorded there, so a version that changes
without an edit of the lock fails ``tests/test_asv_suite.py``. A new class (a new
``bench_*.py`` too) is decorated and added to the lock in the same commit.

Before versions were explicit, asv stored its source hashes; ``PINNED`` keeps those as the
versions of the measurements they name, so the stored history stays in view. A bump moves
a benchmark off its pin, and the series it hides on purpose are listed in ``RETIRED``.
"""

from __future__ import annotations

import functools
import re
import types
from typing import Callable, Mapping

PROTOCOL = 1
CODEGEN = 1
CLOCKS = 2  # 2: MHz below the maximum instead of MHz (a rise is a loss)

# the method names asv takes for benchmarks (asv_runner's benchmark types)
BENCHMARK_NAME = re.compile(r"^(time|timeraw|track|mem|peakmem)_")

# What a benchmark measures, as its class says it (below), -> {benchmark: the asv source
# hash its stored results carry}. Literal: a bump of PROTOCOL must not carry the pins along.
PINNED: Mapping[str, Mapping[str, str]] = {
    "protocol 1": {
        "bench_extend.ChatTurn.time_extend": "72c996a6414ef930f06b16ab95501154f29b03d121ef9b6e68f9b0846ef519f5",
        "bench_extend.ChatTurn.track_peak_memory_mb": "1b9da8263ee094acade5be80667fffe2892764925fface70e02126adffd1671c",
        "bench_extend.Fp16.time_extend": "821cc7b9e68802b99d7a2b5f50ac3677ff8be2be20e745160836ce2530641464",
        "bench_extend.Fp16.track_peak_memory_mb": "80af08fb613143e36230defedd65762acd03447bf573ac770ff2e35dc09b6c0c",
        "bench_extend.HeadDims.time_extend": "230a9a9d5ca6c5326e13f2a148497bd2dd1703d99f91a365a8943dc429beb0a6",
        "bench_extend.HeadDims.track_peak_memory_mb": "8edd12ec38753574f070419a2d1a3f329e9c8cdf44ec63d209e385416df9fffd",
        "bench_extend.Heads.time_extend": "ae3d473529717283a08275033b8b35ed39c41d2c3c84b1399e559a25777f6595",
        "bench_extend.Heads.track_peak_memory_mb": "2d0435078108b0cb2caa2b41d8f2c37e2d08da6e1625292bdf536617c3285213",
        "bench_extend.PRMatrix.time_extend": "c7117f151a6be095f3af9a85638bdae863a1de6be3a487f080cd457b4a5a9c5d",
        "bench_extend.PRMatrix.track_peak_memory_mb": "d2a5fc0f774827cc40fd80ca0951c3c20dfb578548edb55d93f5aad8169f3867",
        "bench_extend.Quick.time_extend": "3cdefb185fed2dced84d87114c8f7250141fadf26be7821d9a8f18cb294bb1c1",
        "bench_extend.Quick.track_peak_memory_mb": "bb7c29ffd26e0167182c33eef3086872ef523585aae9e6f67d10de1dd59e6193",
    },
    # the first H200 series of bench_peers (5953337), stored under the name its class gave it then
    "protocol 1; peers 1; providers ad1e10e676789120": {
        "bench_peers.Peers.time_extend": "peers-1-ad1e10e676789120",
        "bench_peers.Peers.track_default_time_ratio": "peers-1-ad1e10e676789120",
    },
    # peers 2 changed the setup cache's timing only (bench_peers.PEERS_PROTOCOL): time_extend
    # measures what it did under peers 1
    "protocol 1; peers 2; providers ad1e10e676789120": {
        "bench_peers.Peers.time_extend": "peers-1-ad1e10e676789120",
    },
    "codegen 1": {
        "bench_codegen.Codegen.track_registers": "8377a112c2120f81c26f3d137eca87884ed4c38288f0c8aba51302bdbcdf5835",
        "bench_codegen.Codegen.track_shared_bytes": "3cc2ccb622083c3b294f35e02fc4708403c38d0a191f5f2700db400e1ed60086",
        "bench_codegen.Codegen.track_stack_bytes": "14c960a20664f8cd5245d26f2c083f0955c856c421839519f6b9c92873dacec0",
    },
}

# Stored series that a bump retired on purpose, with the reason: asv hides them (their
# version is no longer the suite's), and they stay in results/ as they were measured.
# {benchmark: {stored version: why}}
RETIRED: Mapping[str, Mapping[str, str]] = {
    "bench_peers.Peers.track_default_time_ratio": {
        "peers-1-ad1e10e676789120": "peers 2: the setup cache timed default in runs that always "
                                    "followed the same provider's (bench_peers.PEERS_PROTOCOL)",
    },
}


def version(benchmark: str, measures: str) -> str:
    """The asv version of ``benchmark`` (asv's name) when it measures what ``measures`` says."""
    return PINNED.get(measures, {}).get(benchmark, measures)


def asv_name(cls: type, method: str) -> str:
    """The name asv gives a method of a class in the suite: module (without the package).class.method."""
    return f"{cls.__module__.split('.', 1)[-1]}.{cls.__name__}.{method}"


def explicit(measures: str) -> Callable[[type], type]:
    """Class decorator: every benchmark of the class gets ``version(name, measures)``.

    Each class gets its own copy of an inherited benchmark method: the versions differ per
    class, and asv reads ``version`` from the method before the class.
    """
    def give_versions(cls: type) -> type:
        for method in dir(cls):
            if BENCHMARK_NAME.match(method):
                function = getattr(cls, method)
                setattr(cls, method, _with_version(function, version(asv_name(cls, method), measures)))
        return cls
    return give_versions


def _with_version(function: types.FunctionType, version_: str) -> types.FunctionType:
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)
    functools.update_wrapper(copy, function)  # name, docstring and asv's attributes (unit, setup)
    copy.version = version_
    return copy

