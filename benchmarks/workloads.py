"""The benchmark workloads, defined once: the PR matrix, the sub-grids and input construction.

Everything here is the measuring apparatus, taken from the current checkout for every
commit that asv measures; only ``kernels`` changes from commit to commit.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence, Tuple

import numpy as np
import torch

from .cost import Cost, attention_cost

# The upstream PR's benchmark ("Optimize TritonAttention with cache load"): B=32 sequences,
# 64 query / 8 KV heads, head dim 128, bf16; each sequence's prefix and extend lengths drawn
# uniformly from [1, n_ctx / 2).
PR_BATCH = 32
PR_HEADS = "64/8"
PR_HEAD_DIM = 128
PR_DTYPE = "bf16"
PR_N_CTX = (1024, 2048, 4096, 8192)
PR_WINDOWS = (-1, 127, 256, 512)
LENGTH_SEED = 20251124  # numpy PCG64 seed of the length draws: the same lengths on every machine
VALUE_SEED = 0  # torch seed of the tensor contents

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
POOLS = ("contiguous", "fragmented")

# The variants the suite measures, by their names in kernels.VARIANTS. Fixed here rather
# than read from the kernel so that every commit is measured on the same grid; a commit
# that lacks one skips it.
VARIANT_NAMES = ("baseline", "cg", "stages2", "cg_stages2", "default")
# The sub-grids measure fewer: the kernel as it was, and the project's best setting.
SUBGRID_VARIANTS = ("baseline", "default")

# Sub-grids beyond the PR matrix: the PR's shape with one axis varied, at one context size,
# so that the whole suite stays within its per-commit budget (docs/ASV.md).
SUBGRID_N_CTX = 4096
SUBGRID_HEADS = ("32/8", "32/32", "64/8")
SUBGRID_HEAD_DIMS = (64, 128, 256)
FP16_WINDOWS = (-1, 256)

# The next turn of a chat: a long cached prefix, a short new message, in every sequence.
CHAT_PREFIX = 16384
CHAT_EXTEND = 256
CHAT_N_CTX = CHAT_PREFIX + CHAT_EXTEND

# A handful of PR-matrix points that show a kernel regression fast, for bisection.
QUICK_N_CTX = 8192
QUICK_WINDOWS = (-1, 256)


def parse_heads(heads: str) -> Tuple[int, int]:
    """ "64/8" -> (64, 8)."""
    try:
        heads_q, heads_kv = (int(x) for x in heads.split("/"))
    except ValueError:
        raise ValueError(f"heads={heads!r}: expected 'HQ/HKV', e.g. '64/8'") from None
    return heads_q, heads_kv


def pr_lengths(n_ctx: int, batch: int = PR_BATCH, seed: int = LENGTH_SEED):
    """Prefix and extend lengths of the PR benchmark: each uniform in [1, n_ctx / 2)."""
    rng = np.random.default_rng([seed, n_ctx, batch])
    prefix = rng.integers(1, n_ctx // 2, size=batch)
    extend = rng.integers(1, n_ctx // 2, size=batch)
    return tuple(int(x) for x in prefix), tuple(int(x) for x in extend)


def chat_turn_lengths(n_ctx: int = CHAT_N_CTX, batch: int = PR_BATCH):
    """Every sequence: ``n_ctx - CHAT_EXTEND`` cached tokens, then ``CHAT_EXTEND`` new ones."""
    if n_ctx <= CHAT_EXTEND:
        raise ValueError(f"n_ctx={n_ctx}: expected more than the {CHAT_EXTEND} new tokens")
    return (n_ctx - CHAT_EXTEND,) * batch, (CHAT_EXTEND,) * batch


@dataclasses.dataclass
class ExtendInputs:
    """One call's tensors, ready for ``extend_attention_fwd(*inputs.args, ...)``."""

    q_extend: torch.Tensor
    k_extend: torch.Tensor
    v_extend: torch.Tensor
    o_extend: torch.Tensor
    k_buffer: torch.Tensor
    v_buffer: torch.Tensor
    qo_indptr: torch.Tensor
    kv_indptr: torch.Tensor
    kv_indices: torch.Tensor
    prefix_lens: Tuple[int, ...]
    extend_lens: Tuple[int, ...]

    @property
    def args(self):
        return (self.q_extend, self.k_extend, self.v_extend, self.o_extend, self.k_buffer,
                self.v_buffer, self.qo_indptr, self.kv_indptr, self.kv_indices)

    @property
    def reference_args(self):
        return (self.q_extend, self.k_extend, self.v_extend, self.k_buffer, self.v_buffer,
                self.qo_indptr, self.kv_indptr, self.kv_indices)

    @property
    def max_len_extend(self) -> int:
        return max(self.extend_lens, default=0)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.args)

    def cost(self, window: int) -> Cost:
        heads_q, heads_kv, head_dim = self.q_extend.shape[1], self.k_extend.shape[1], self.q_extend.shape[2]
        return attention_cost(self.prefix_lens, self.extend_lens, heads_q=heads_q, heads_kv=heads_kv,
                              head_dim=head_dim, window=window,
                              element_bytes=self.q_extend.element_size())


def make_inputs(prefix_lens: Sequence[int], extend_lens: Sequence[int], *, heads: str = PR_HEADS,
                head_dim: int = PR_HEAD_DIM, dtype: str = PR_DTYPE, pool: str = "contiguous",
                device="cpu", seed: int = VALUE_SEED, pool_slack: int = 0) -> ExtendInputs:
    """Random inputs for the given lengths.

    ``pool="contiguous"`` puts each sequence's prefix in consecutive pool rows, in order, as
    the upstream benchmark did; ``"fragmented"`` scatters them over a shuffled pool, as a
    long-running server's pool is. ``pool_slack`` adds unused pool rows.
    """
    if pool not in POOLS:
        raise ValueError(f"pool={pool!r}: expected one of {POOLS}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: expected one of {sorted(DTYPES)}")
    heads_q, heads_kv = parse_heads(heads)
    # values drawn on the device (fast for the large shapes), the pool permutation on the CPU
    gen = torch.Generator(device=device).manual_seed(seed)
    perm_gen = torch.Generator(device="cpu").manual_seed(seed)
    n_prefix, n_extend = sum(prefix_lens), sum(extend_lens)
    n_pool = n_prefix + pool_slack

    def randn(*shape):
        return torch.randn(*shape, generator=gen, device=device, dtype=DTYPES[dtype])

    if pool == "contiguous":
        rows = torch.arange(n_prefix, dtype=torch.int32)
    else:
        rows = torch.randperm(n_pool, generator=perm_gen)[:n_prefix].to(torch.int32)
    return ExtendInputs(
        q_extend=randn(n_extend, heads_q, head_dim),
        k_extend=randn(n_extend, heads_kv, head_dim),
        v_extend=randn(n_extend, heads_kv, head_dim),
        o_extend=torch.full((n_extend, heads_q, head_dim), float("nan"), dtype=DTYPES[dtype], device=device),
        k_buffer=randn(n_pool, heads_kv, head_dim),
        v_buffer=randn(n_pool, heads_kv, head_dim),
        qo_indptr=indptr(extend_lens, device),
        kv_indptr=indptr(prefix_lens, device),
        kv_indices=rows.to(device),
        prefix_lens=tuple(int(x) for x in prefix_lens),
        extend_lens=tuple(int(x) for x in extend_lens),
    )


def indptr(lengths: Sequence[int], device, dtype: torch.dtype = torch.int32) -> torch.Tensor:
    """[0, l0, l0 + l1, ...]: the offsets that split rows into sequences of these lengths."""
    out = torch.zeros(len(lengths) + 1, dtype=dtype)
    if len(lengths):
        out[1:] = torch.tensor(list(lengths), dtype=torch.int64).cumsum(0)
    return out.to(device)


def chosen_by_environment(variable: str, what: str, known: Sequence[str], order: Sequence[str]) -> Tuple[str, ...]:
    """The names of ``order`` that the comma-separated list in the environment's ``variable``
    chooses, in ``order``'s order; all of ``order`` when it is unset or empty. ValueError,
    naming the variable, for a name that is not one of ``known``."""
    text = os.environ.get(variable, "")
    if not text:
        return tuple(order)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"{variable}={text!r}: unknown {what} {unknown}; expected some of {tuple(known)}")
    return tuple(name for name in order if name in names)
