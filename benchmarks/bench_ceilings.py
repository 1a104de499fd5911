"""The machine itself: its measured ceilings for the roofline, and its clocks at the start of a run.

asv runs benchmarks in name order, so these run before the codegen and extend benchmarks
of the same commit. Without a GPU they are skipped.
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


def measure_ceilings() -> dict:
    """Device-to-device copy GB/s (bytes read + written) and bf16 matmul TFLOP/s, device medians."""
    if not torch.cuda.is_available():
        return {"unavailable": "needs a CUDA device"}
    src = torch.empty(COPY_BYTES, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy_s = statistics.median(harness.device_times(lambda: dst.copy_(src)))
    a, b, out = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=torch.bfloat16, device="cuda") for _ in range(3))
    matmul_s = statistics.median(harness.device_times(lambda: torch.matmul(a, b, out=out)))
    return {"copy_gbps": 2 * COPY_BYTES / copy_s / 1e9,
            "matmul_tflops": 2 * MATMUL_SIZE**3 / matmul_s / 1e12}


def clocks_under_load() -> dict:
    """SM and memory clocks (MHz, nvidia-smi) read while queued matmuls keep the GPU busy."""
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
    try:
        lines = subprocess.run(["nvidia-smi", "--query-gpu=pci.bus_id,clocks.sm,clocks.mem",
                                "--format=csv,noheader,nounits"], check=True, capture_output=True,
                               text=True, timeout=30).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError) as err:
        return {"unavailable": f"nvidia-smi: {err}"}
    rows = [[field.strip() for field in line.split(",")] for line in lines]
    # the row of the device torch uses, where torch tells its PCI bus; else the first
    bus = getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "pci_bus_id", None)
    row = next((r for r in rows if bus is not None and int(r[0].split(":")[-2], 16) == bus), rows[0])
    return {"sm_mhz": float(row[1]), "memory_mhz": float(row[2])}


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

    def track_copy_gbps(self, ceilings):
        return ceilings["copy_gbps"]

    track_copy_gbps.unit = "GB/s"

    def track_matmul_tflops(self, ceilings):
        return ceilings["matmul_tflops"]

    track_matmul_tflops.unit = "TFLOP/s"


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

    def track_sm_clock_mhz(self, clocks):
        return clocks["sm_mhz"]

    track_sm_clock_mhz.unit = "MHz"

    def track_memory_clock_mhz(self, clocks):
        return clocks["memory_mhz"]

    track_memory_clock_mhz.unit = "MHz"
