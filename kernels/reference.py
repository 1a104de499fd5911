"""A plain PyTorch reference for extend attention: per sequence, dense, obviously right."""

from __future__ import annotations

import torch


def _visible(q_pos: torch.Tensor, k_pos: torch.Tensor, sliding_window_size: int) -> torch.Tensor:
    """[Lq, Lk] boolean: causal, and inside the window when one is set."""
    diff = q_pos[:, None] - k_pos[None, :]
    visible = diff >= 0
    if sliding_window_size > 0:
        visible &= diff <= sliding_window_size
    return visible


def extend_attention_reference(q_extend, k_extend, v_extend, k_buffer, v_buffer,
                               qo_indptr, kv_indptr, kv_indices, *,
                               sliding_window_size=-1, sm_scale=None, logit_cap=0.0,
                               dtype=torch.float64, sequences=None,
                               query_chunk=256) -> torch.Tensor:
    """The attention output ``[E, H_Q, D]`` in ``dtype`` (rows of skipped sequences are NaN).

    ``sequences`` restricts the work to some sequence indices (the benchmarks check a slice).
    """
    n_tokens, heads_q, head_dim = q_extend.shape
    group = heads_q // k_extend.shape[1]
    scale = sm_scale if sm_scale is not None else head_dim ** -0.5
    qo, kv = qo_indptr.tolist(), kv_indptr.tolist()
    out = torch.full((n_tokens, heads_q, head_dim), float("nan"), dtype=dtype, device=q_extend.device)
    for i in (range(len(qo) - 1) if sequences is None else sequences):
        q0, q1 = qo[i], qo[i + 1]
        if q1 == q0:
            continue
        rows = kv_indices[kv[i]:kv[i + 1]].long()
        prefix_len = rows.numel()
        k = torch.cat([k_buffer[rows], k_extend[q0:q1]]).to(dtype)  # [Lk, H_KV, D]
        v = torch.cat([v_buffer[rows], v_extend[q0:q1]]).to(dtype)
        k = k.repeat_interleave(group, dim=1).transpose(0, 1)  # [H_Q, Lk, D]
        v = v.repeat_interleave(group, dim=1).transpose(0, 1)
        k_pos = torch.arange(k.shape[1], device=k.device)
        for c0 in range(q0, q1, query_chunk):  # chunks bound the [H_Q, chunk, Lk] score memory
            c1 = min(c0 + query_chunk, q1)
            q = q_extend[c0:c1].to(dtype).transpose(0, 1)  # [H_Q, chunk, D]
            scores = (q @ k.transpose(1, 2)) * scale
            if logit_cap > 0:
                scores = logit_cap * torch.tanh(scores / logit_cap)
            q_pos = torch.arange(c0 - q0, c1 - q0, device=k.device) + prefix_len
            scores = scores.masked_fill(~_visible(q_pos, k_pos, sliding_window_size), float("-inf"))
            out[c0:c1] = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1)
    return out


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| over the rows where ``ref`` is defined; NaN in ``out`` gives inf."""
    rows = ~torch.isnan(ref).flatten(1).any(dim=1)
    o, r = out[rows].double(), ref[rows].double()
    if not torch.isfinite(o).all():
        return float("inf")
    return float((o - r).norm() / r.norm().clamp_min(1e-30))
