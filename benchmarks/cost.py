"""FLOPs and bytes of one extend-attention call, counted exactly from the lengths and window.

One function used everywhere (benchmarks, plots, the roofline). The counts are the work
the attention *must* do, not what a given kernel happens to do, so that a kernel that
skips masked tiles gets credit and one that wastes work does not.

FLOPs: 4 * D * H_Q per visible (query, key) pair (2 for q.k, 2 for p.v); softmax is not counted.
Bytes: Q read and O written once; the extend K/V read once; every cached-prefix K/V row that
some query can see read once, with its int32 pool index.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

INDEX_BYTES = 4


def visible_pairs(prefix_len: int, extend_len: int, window: int) -> int:
    """Number of (query, key) pairs one sequence's queries attend to."""
    # query j sits at prefix_len + j and sees keys [max(0, pos - window), pos] (causal, windowed)
    if window <= 0:
        return extend_len * prefix_len + extend_len * (extend_len + 1) // 2
    # the first `short` queries see their whole history (prefix_len + j + 1 keys), the rest window + 1
    short = max(0, min(extend_len, window - prefix_len + 1))
    return short * prefix_len + short * (short + 1) // 2 + (extend_len - short) * (window + 1)


def visible_prefix_rows(prefix_len: int, extend_len: int, window: int) -> int:
    """Cached-prefix rows that at least one query of the sequence can see."""
    if extend_len == 0:
        return 0
    return prefix_len if window <= 0 else min(prefix_len, window)


@dataclasses.dataclass(frozen=True)
class Cost:
    flops: int
    bytes: int

    @property
    def intensity(self) -> float:
        """FLOPs per byte of device memory traffic."""
        return self.flops / self.bytes if self.bytes else 0.0


def attention_cost(prefix_lens: Sequence[int], extend_lens: Sequence[int], *, heads_q: int,
                   heads_kv: int, head_dim: int, window: int = -1, element_bytes: int = 2) -> Cost:
    """The FLOPs and the fewest device-memory bytes of one call over a batch of sequences."""
    if len(prefix_lens) != len(extend_lens):
        raise ValueError("prefix_lens and extend_lens must have one entry per sequence")
    pairs = sum(visible_pairs(p, e, window) for p, e in zip(prefix_lens, extend_lens))
    prefix_rows = sum(visible_prefix_rows(p, e, window) for p, e in zip(prefix_lens, extend_lens))
    n_extend = sum(extend_lens)
    q_o = 2 * n_extend * heads_q * head_dim * element_bytes
    kv_extend = 2 * n_extend * heads_kv * head_dim * element_bytes
    kv_prefix = 2 * prefix_rows * heads_kv * head_dim * element_bytes + prefix_rows * INDEX_BYTES
    return Cost(flops=4 * head_dim * heads_q * pairs, bytes=q_o + kv_extend + kv_prefix)
