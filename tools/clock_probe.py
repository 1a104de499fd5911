"""One point, each implementation timed under three loads of the board, in one process.

    python -m tools.clock_probe --impls default,flashinfer-0.7.2-fa3 [--n-ctx 8192]
        [--windows -1] [--pool contiguous] [--rounds 4]

An implementation is a variant, a configuration as ``tools.sweep_blocks`` spells it, or a
provider (``benchmarks/providers``). Each is checked against the float64 reference first.
Then, in every round, with the implementations' order rotated by one from round to round:

* ``spaced``: each implementation alone, as asv's ``time_extend`` samples it
  (``DeviceClock``: a millisecond's spin on one SM and a host sync between calls, so the
  board idles between them), with the sample limits of ``DeviceTimed.repeat``;
* ``back to back``: each implementation alone, its calls queued one after another
  (``harness.device_times``: the device sequence of ``triton.testing.do_bench``);
* ``in turns``: all of them together, call by call (``harness.timed_in_turns``), as the
  peers' setup cache times them for ``track_default_time_ratio``.

Beside each median: the board's mean power over that timing, from NVML's energy counter, and
its SM clock, power and temperature before and after (NVML, for the GPU torch uses). At the
end, per load, the first implementation's speedup over each other one: the median over the
rounds of the ratio of their medians.

Why: on 2026-11-25 the suite's times for the most power-hungry variant ran up to 12% below
do_bench's. On 2026-11-29 asv's medians put ours 1.03× ahead of FlashInfer 0.7.2 fa3 at 8192
without a window, and the in-run turns 0.95× behind, in one asv run. The board runs at its
power cap only when the calls come back to back; this probe asks whether the winner depends
on that.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from benchmarks import harness
from benchmarks.device_clock import DeviceClock, DeviceTimed
from tools import _cli
from tools.sweep_blocks import checked_point, parse_point_args

SPACED, BACK_TO_BACK, IN_TURNS = "spaced", "back to back", "in turns"
LOADS = (SPACED, BACK_TO_BACK, IN_TURNS)


class NvmlUnavailable(RuntimeError):
    """NVML cannot be loaded or does not know the GPU torch uses."""


class Board:
    """The GPU torch uses, read through NVML (``libnvidia-ml.so.1``, by ctypes: no Python
    package needed): its energy counter, SM clock, power and temperature."""

    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, library: str = "libnvidia-ml.so.1"):
        try:
            self._nvml = ctypes.CDLL(library)
        except OSError as missing:
            raise NvmlUnavailable(f"{library}: {missing}") from None
        self._call("nvmlInit_v2")
        # by UUID: under CUDA_VISIBLE_DEVICES torch's index is not NVML's
        uuid = getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "uuid", None)
        if uuid is None:
            raise NvmlUnavailable(f"torch {torch.__version__} gives no GPU UUID to find the board by")
        uuid = str(uuid)
        self._handle = ctypes.c_void_p()
        self._call("nvmlDeviceGetHandleByUUID", (uuid if uuid.startswith("GPU-") else f"GPU-{uuid}").encode(),
                   ctypes.byref(self._handle))
        self.energy_j(), self.state()  # a reading the board lacks fails here, not between timings

    def _call(self, name: str, *args) -> None:
        status = getattr(self._nvml, name)(*args)
        if status != 0:
            raise NvmlUnavailable(f"{name} returned NVML error {status}")

    def _read(self, name: str, kind, *args) -> int:
        value = kind()
        self._call(name, self._handle, *args, ctypes.byref(value))
        return value.value

    def energy_j(self) -> float:
        """Energy the board has used since the driver loaded (NVML counts millijoules)."""
        return self._read("nvmlDeviceGetTotalEnergyConsumption", ctypes.c_ulonglong) / 1e3

    def state(self) -> str:
        """'1980 MHz 512 W 51 C': SM clock, power, temperature."""
        return (f"{self._read('nvmlDeviceGetClockInfo', ctypes.c_uint, self.NVML_CLOCK_SM)} MHz "
                f"{self._read('nvmlDeviceGetPowerUsage', ctypes.c_uint) / 1e3:.0f} W "
                f"{self._read('nvmlDeviceGetTemperature', ctypes.c_uint, self.NVML_TEMPERATURE_GPU)} C")


Samples = Dict[str, List[float]]


def spaced_samples(call: Callable[[], None]) -> List[float]:
    """asv's loop for ``DeviceTimed`` classes: samples of one call until the sample or time limit."""
    _, max_samples, max_time_s = DeviceTimed.repeat
    clock, times, begin = DeviceClock(), [], time.perf_counter()
    while len(times) < max_samples and (len(times) < 10 or time.perf_counter() - begin < max_time_s):
        start = clock()
        call()
        times.append(clock() - start)
    return times


def timings(load: str, order: Sequence[str], calls: Mapping[str, Callable[[], None]]
            ) -> List[Tuple[Tuple[str, ...], Callable[[], Samples]]]:
    """The timings one load takes in a round: (the implementations each times, the timing)."""
    if load == IN_TURNS:
        return [(tuple(order), lambda: harness.timed_in_turns({name: calls[name] for name in order}))]
    alone = spaced_samples if load == SPACED else harness.device_times
    return [((name,), lambda name=name: {name: alone(calls[name])}) for name in order]


def metered(board: Optional[Board], timing: Callable[[], Samples]) -> Tuple[Samples, str, str, str]:
    """The timing's samples, with the board's mean power over it and its state before and after."""
    if board is None:
        return timing(), "n/a", "n/a", "n/a"
    before, joules, start = board.state(), board.energy_j(), time.perf_counter()
    samples = timing()
    torch.cuda.synchronize()
    watts = (board.energy_j() - joules) / (time.perf_counter() - start)
    return samples, f"{watts:.0f}", before, board.state()


def speedups(medians: Mapping[Tuple[int, str], Mapping[str, float]], first: str) -> Dict[str, Dict[str, float]]:
    """{load: {other: the median over the rounds of other's median time over first's}} from
    {(round, load): {implementation: median seconds}}."""
    ratios: Dict[str, Dict[str, List[float]]] = {}
    for (_, load), by_name in medians.items():
        for name, seconds in by_name.items():
            if name != first and first in by_name:
                ratios.setdefault(load, {}).setdefault(name, []).append(seconds / by_name[first])
    return {load: {name: statistics.median(values) for name, values in by_name.items()}
            for load, by_name in ratios.items()}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impls", default="default",
                        help="comma-separated variants, configurations (mMnNwWsS...) or providers; "
                             "the speedups are the first one's")
    parser.add_argument("--rounds", type=int, default=4)
    _cli.add_shape_flags(parser, n_ctx="8192", windows="-1", pool="contiguous")
    args = parse_point_args(parser, argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: expected at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    _cli.require_cuda("clock_probe")
    _, prepared, errors = checked_point(args)
    for name in args.order:
        print(f"clock_probe: {name}: relative error {errors[name]:.2e}", flush=True)
    calls = {name: prepared[name].timed for name in args.order}
    try:
        board: Optional[Board] = Board()
    except NvmlUnavailable as why:
        board = None
        print(f"clock_probe: no board readings: {why}", flush=True)
    print(f"{torch.cuda.get_device_name()}: {args.heads} D={args.head_dim} {args.dtype} n_ctx={args.n_ctx} "
          f"window={args.window} {args.pool}; medians in ms; board W: mean power over the timing; "
          "before/after: SM clock, power, temperature")
    print("| round | load | implementation | ms | board W | before | after |\n|---|---|---|---|---|---|---|")
    medians: Dict[Tuple[int, str], Dict[str, float]] = {}
    for r in range(args.rounds):
        order = args.order[r % len(args.order):] + args.order[:r % len(args.order)]
        for load in LOADS:
            for names, timing in timings(load, order, calls):
                samples, watts, before, after = metered(board, timing)
                for name in names:
                    medians.setdefault((r, load), {})[name] = statistics.median(samples[name])
                    print(f"| {r} | {load} | {name} | {medians[r, load][name] * 1e3:.3f} | {watts} | "
                          f"{before} | {after} |", flush=True)
    first = args.order[0]
    for load, by_name in speedups(medians, first).items():
        print(f"{load}: " + ", ".join(f"{first} over {name} {ratio:.3f}×" for name, ratio in by_name.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
