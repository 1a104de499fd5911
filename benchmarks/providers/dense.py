"""A bound, not a peer: the same attention over K/V gathered contiguously per sequence.

``prepare`` gathers each sequence's prefix rows from the pool and appends its extend rows
(untimed); the call runs PyTorch's FlashAttention-2 varlen kernel
(``aten._flash_attention_forward``: causal, bottom-right aligned, the window through
``window_size_left``) and copies its output into ``o_extend`` (one write of O, about 2% of
the call at n_ctx 8192: the bound is that much pessimistic). Without the gather through the
page indices it does less work than any paged kernel: a reference, not a peer
(``kind = "bound"``; the plots draw it dashed). On Hopper it is no ceiling, since this
FlashAttention-2 kernel has no wgmma path (docs/MEASUREMENTS.md, 2026-11-29).
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..workloads import ExtendInputs, indptr
from .base import Provider



class DenseFlashAttention(Provider):
    name = "dense-fa2-bound"
    # the machine's torch, which the asv machine record names (ci/asv_machine.py)
    version = "aten._flash_attention_forward"
    kind = "bound"

    def unavailable(self) -> Optional[str]:
        if not torch.cuda.is_available():
            return "needs a CUDA device (PyTorch's FlashAttention-2 kernel)"
        if torch.cuda.get_device_capability() < (8, 0):
            return "PyTorch's FlashAttention-2 kernel needs sm_80 or newer"
        return None

    def prepare(self, inputs: ExtendInputs, window: int) -> Callable[[], None]:
        qo, kv = inputs.qo_indptr.tolist(), inputs.kv_indptr.tolist()
        batch = range(len(inputs.extend_lens))

        def gathered(pool, extend):
            return torch.cat([extend[:0]] + [
                torch.cat([pool[inputs.kv_indices[kv[i]:kv[i + 1]].long()], extend[qo[i]:qo[i + 1]]])
                for i in batch]).contiguous()
        k, v = gathered(inputs.k_buffer, inputs.k_extend), gathered(inputs.v_buffer, inputs.v_extend)
        lengths = [p + e for p, e in zip(inputs.prefix_lens, inputs.extend_lens)]
        cu_q = inputs.qo_indptr.to(torch.int32)
        cu_k = indptr(lengths, cu_q.device)
        max_q, max_k = inputs.max_len_extend, max(lengths, default=0)
        q, out = inputs.q_extend, inputs.o_extend
        window_left = window if window > 0 else None

        def call():
            attended = torch.ops.aten._flash_attention_forward(
                q, k, v, cu_q, cu_k, max_q, max_k, 0.0, True, False,
                window_size_left=window_left, window_size_right=0 if window_left else None)[0]
            out.copy_(attended)
        return call
