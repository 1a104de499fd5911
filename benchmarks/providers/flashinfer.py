"""FlashInfer's paged prefill (``BatchPrefillWithPagedKVCacheWrapper``), pinned, page size 1.

The same pool and indices as every provider, with the extend K/V appended to the pool and
each sequence's extend rows appended to its page list: what SGLang's server does (it writes
the new tokens' K/V into the pool before attention). The copy and FlashInfer's ``plan`` are
untimed, in ``prepare``. Causal, the window through ``window_left`` (FlashInfer's query at
position i sees keys [i - window_left, i]: our ``q_pos - k_pos <= W``; the reference check
proves the two agree), backend ``fa3``, FlashAttention-3's Hopper kernels, which need sm_90.

FlashInfer compiles its kernels with nvcc on first use (about 110 s on the H200 for the causal
module with and without a window) and caches them under ``FLASHINFER_WORKSPACE_BASE``
(default ``~/.cache/flashinfer``), where the next process finds them.

Where it is imported from: the pruned release that ``ci/fetch_providers.sh`` packs (carried to
a GPU machine without a registry), else an installed ``flashinfer-python`` of the pinned
version.
"""

from __future__ import annotations

import functools
import importlib
import subprocess
import sys
from typing import Callable, Optional

import torch

from ..workloads import ExtendInputs, indptr
from . import fetched
from .base import Provider, ProviderUnavailable

BACKEND = "fa3"
WORKSPACE_BYTES = 256 * 2**20  # FlashInfer's planner asks for 128 MiB or more


@functools.cache
def import_flashinfer():
    """The flashinfer module of the pinned version, or an ImportError saying why not."""
    if fetched.FLASHINFER.archive.is_file():
        site = str(fetched.unpack_flashinfer())
        if site not in sys.path:
            sys.path.insert(0, site)
    module = importlib.import_module("flashinfer")
    if module.__version__ != fetched.FLASHINFER.version:
        raise ImportError(f"flashinfer {module.__version__} at {module.__file__}; the pin is "
                          f"{fetched.FLASHINFER.version} (run ci/fetch_providers.sh)")
    return module


def _is_build_failure(error: Exception) -> bool:
    """Whether FlashInfer's plan failed in its JIT build (nvcc, ninja), not in the planning."""
    text = str(error).lower()
    return isinstance(error, subprocess.CalledProcessError) or "ninja" in text or "nvcc" in text


class FlashInferPaged(Provider):
    name = f"flashinfer-{fetched.FLASHINFER.version}-{BACKEND}"
    version = f"flashinfer-python {fetched.FLASHINFER.version} sha256:{fetched.FLASHINFER.wheel_sha256[:16]} {BACKEND}"
    # FA3 may split a long sequence's keys over blocks and merge them in any order
    deterministic = False

    def unavailable(self) -> Optional[str]:
        if not torch.cuda.is_available():
            return "needs a CUDA device"
        capability = torch.cuda.get_device_capability()
        if capability != (9, 0):
            return f"backend {BACKEND!r} needs an sm_90 GPU; this one is sm_{capability[0]}{capability[1]}"
        try:
            import_flashinfer()
        except (ImportError, OSError) as missing:
            return f"flashinfer is not importable: {missing}"
        return None

    def prepare(self, inputs: ExtendInputs, window: int) -> Callable[[], None]:
        flashinfer = import_flashinfer()
        device = inputs.q_extend.device
        pool_rows = inputs.k_buffer.shape[0]
        k_pool = torch.cat([inputs.k_buffer, inputs.k_extend]).unsqueeze(1)  # [pages, 1, H_KV, D]
        v_pool = torch.cat([inputs.v_buffer, inputs.v_extend]).unsqueeze(1)
        qo, kv = inputs.qo_indptr.tolist(), inputs.kv_indptr.tolist()
        pages = torch.cat([inputs.kv_indices[:0].to(torch.int32)] + [
            torch.cat([inputs.kv_indices[kv[i]:kv[i + 1]].to(torch.int32),
                       torch.arange(pool_rows + qo[i], pool_rows + qo[i + 1], dtype=torch.int32,
                                    device=device)])
            for i in range(len(inputs.extend_lens))])
        lengths = [p + e for p, e in zip(inputs.prefix_lens, inputs.extend_lens)]
        page_indptr = indptr(lengths, pages.device)
        wrapper = flashinfer.BatchPrefillWithPagedKVCacheWrapper(
            torch.empty(WORKSPACE_BYTES, dtype=torch.uint8, device=device), "NHD", backend=BACKEND)
        heads_q, heads_kv, head_dim = inputs.q_extend.shape[1], inputs.k_extend.shape[1], inputs.q_extend.shape[2]
        try:  # plan builds the module on first use: nvcc through ninja
            wrapper.plan(inputs.qo_indptr.to(torch.int32), page_indptr, pages,
                         torch.ones(len(lengths), dtype=torch.int32, device=device),
                         heads_q, heads_kv, head_dim, 1, causal=True,
                         window_left=window if window > 0 else -1,
                         q_data_type=inputs.q_extend.dtype, kv_data_type=inputs.k_buffer.dtype)
        except (RuntimeError, subprocess.CalledProcessError) as failed:
            if not _is_build_failure(failed):
                raise
            raise ProviderUnavailable(f"FlashInfer's JIT build failed: {failed}") from failed
        q, out = inputs.q_extend, inputs.o_extend

        def call():
            wrapper.run(q, (k_pool, v_pool), out=out)
        return call
