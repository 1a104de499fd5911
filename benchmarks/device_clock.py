"""asv's ``timer`` for the GPU benchmarks: the device time of each timed call, L2 cold before it.

asv times a ``time_*`` benchmark by reading its ``timer`` right before and right after the
timed calls and keeping the difference; with ``number = 1`` that is one call per sample.
The default timer reads the host clock, which for an asynchronous kernel launch measures
the launch. ``DeviceClock`` instead advances only by device time: a reading at the start
of a sample records a CUDA event, the reading at its end records another, waits for it
and adds the time between the two. The difference of the pair is what the GPU spent on
the call, as ``triton.testing.do_bench`` measures it.

Queued on the stream before the start event, and so outside the timed region:

1. a spin of about a millisecond on the GPU (``torch.cuda._sleep``). The previous sample
   ended with the host waiting for the device, so the GPU is idle; while it spins, the host
   queues the flush, the start event and the kernel, and the kernel starts right behind
   the flush instead of after the host's launch latency (tens of microseconds, 3-5% of a
   1 ms kernel). do_bench gets the same device-side sequence by letting the host run ahead;
2. the L2 policy of ``benchmarks/harness.py``: *cold*, a buffer twice the L2 size written,
   so that no line of the previous call's inputs is still cached.

Readings come in (start, stop) pairs, as asv's timing loop takes them. Nothing touches
CUDA before the first reading: asv's forkserver imports this module in a parent process
that must not initialize CUDA before it forks the benchmarks.
"""

from __future__ import annotations

import torch

from .harness import l2_flush_buffer

# ~1 ms at the H100's 1.98 GHz boost clock, ~2 ms at 1 GHz: far longer than a launch.
LAUNCH_COVER_CYCLES = 2_000_000


class DeviceClock:
    """A clock that counts the device time between each start reading and the stop after it."""

    def __init__(self):
        self._elapsed_s = 0.0
        self._start = None
        self._flush = None

    def __call__(self) -> float:
        if self._start is None:
            self._start = self._cold_start()
        else:
            start, self._start = self._start, None
            stop = torch.cuda.Event(enable_timing=True)
            stop.record()
            stop.synchronize()
            self._elapsed_s += start.elapsed_time(stop) / 1e3
        return self._elapsed_s

    def _cold_start(self) -> torch.cuda.Event:
        if self._flush is None:
            self._flush = l2_flush_buffer()
        torch.cuda._sleep(LAUNCH_COVER_CYCLES)
        self._flush.zero_()
        start = torch.cuda.Event(enable_timing=True)
        start.record()
        return start


class DeviceTimed:
    """asv's timing attributes for a benchmark timed by ``DeviceClock``, one call per sample."""

    timer = DeviceClock()
    number = 1  # one call per sample, the L2 flushed before each
    repeat = (10, 30, 0.5)  # 10 to 30 samples, no more after 0.5 s: the slowest calls take 100 ms
    warmup_time = 0.05  # the call has run once already, in the correctness check
    rounds = 1  # a second round would double the processes; pass `-a rounds=2` to asv for it
    timeout = 120
