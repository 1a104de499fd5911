"""The machine itself: its measured ceilings for the roofline, and its clocks at the start of a run.

asv runs benchmarks in name order, so these run before the codegen and extend benchmarks
of the same commit. Without a GPU they are skipped. asv reads every stored value as
lower-is-better (docs/GATE.md), so each is stored the way a rise is a loss: the ceilings as
the seconds of their copy and matmul (``copy_gbps`` and ``matmul_tflops`` give the rates),
the clocks as MHz below the GPU's maximum.
"""

import statistics
import subprocess
import time

import torch

from . import harness
from .versions import CLOCKS, PROTOCOL, explicit

COPY_BYTES = 2**30  # read once and written once per copy: far beyond the 50 MB L2
MATMUL_SIZE = 8192  # bf16 M = N = K: the tensor cores' best case
CLOCK_LOAD_S = 2.0  # of matmuls queued before the clocks are read: the GPU is at work


def copy_gbps(seconds: float) -> float:
    """The copy ceiling: bytes read + written per second, in GB/s."""
    return 2 * COPY_BYTES / seconds / 1e9


def matmul_tflops(seconds: float) -> float:
    """The compute ceiling, in TFLOP/s."""
    return 2 * MATMUL_SIZE**3 / seconds / 1e12


def measure_ceilings() -> dict:
    """Device seconds (medians) of a device-to-device copy of COPY_BYTES and a bf16 matmul."""
    if not torch.cuda.is_available():
        return {"unavailable": "needs a CUDA device"}
    src = torch.empty(COPY_BYTES, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy_s = statistics.median(harness.device_times(lambda: dst.copy_(src)))
    a, b, out = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=torch.bfloat16, device="cuda") for _ in range(3))
    matmul_s = statistics.median(harness.device_times(lambda: torch.matmul(a, b, out=out)))
    return {"copy_seconds": copy_s, "matmul_seconds": matmul_s}


def clocks_under_load() -> dict:
    """MHz below the maximum of the SM and memory clocks (nvidia-smi), read while queued
    matmuls keep the GPU busy: 0 is full speed, a throttled GPU shows as a rise."""
    if not torch.cuda.is_available():
        return {"unavailable": "needs a CUDA device"}
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=torch.bfloat16, device="cuda")
    out = torch.empty_like(a)
    torch.matmul(a, a, out=out)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.matmul(a, a, out=out)
    stop.record()
    stop.synchronize()
    for _ in range(max(1, round(CLOCK_LOAD_S * 1e3 / start.elapsed_time(stop)))):
        torch.matmul(a, a, out=out)
    time.sleep(CLOCK_LOAD_S / 4)  # into the queued work, with time left for nvidia-smi
    clocks = _nvidia_smi_clocks()
    torch.cuda.synchronize()
    return clocks


def _nvidia_smi_clocks() -> dict:
    query = "pci.bus_id,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem"
    try:
        lines = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                               check=True, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError) as err:
        return {"unavailable": f"nvidia-smi: {err}"}
    rows = [[field.strip() for field in line.split(",")] for line in lines]
    # the row of the device torch uses, where torch tells its PCI bus; else the first
    bus = getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "pci_bus_id", None)
    row = next((r for r in rows if bus is not None and int(r[0].split(":")[-2], 16) == bus), rows[0])
    sm, memory, max_sm, max_memory = map(float, row[1:5])
    return {"sm_below_max_mhz": max_sm - sm, "memory_below_max_mhz": max_memory - memory}


@explicit(f"protocol {PROTOCOL}")
class Ceilings:
    """What the GPU can do at best: the roofline's two ceilings, measured like the kernel."""

    timeout = 60

    def setup_cache(self):
        return measure_ceilings()

    setup_cache.timeout = 120

    def setup(self, ceilings):
        if "unavailable" in ceilings:
            raise NotImplementedError(ceilings["unavailable"])

    def track_copy_seconds(self, ceilings):
        return ceilings["copy_seconds"]

    track_copy_seconds.unit = "seconds"

    def track_matmul_seconds(self, ceilings):
        return ceilings["matmul_seconds"]

    track_matmul_seconds.unit = "seconds"


@explicit(f"clocks {CLOCKS}")
class Clocks:
    """The clocks the GPU ran at when this commit's run began: a throttled GPU shows here."""

    timeout = 60

    def setup_cache(self):
        return clocks_under_load()

    setup_cache.timeout = 120

    def setup(self, clocks):
        if "unavailable" in clocks:
            raise NotImplementedError(clocks["unavailable"])

    def track_sm_clock_below_max_mhz(self, clocks):
        return clocks["sm_below_max_mhz"]

    track_sm_clock_below_max_mhz.unit = "MHz below max"

    def track_memory_clock_below_max_mhz(self, clocks):
        return clocks["memory_below_max_mhz"]

    track_memory_clock_below_max_mhz.unit = "MHz below max"
