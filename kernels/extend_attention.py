"""Extend attention: prefill of new tokens against a paged, cached prefix.

One Triton kernel with every load knob separately switchable (``LaunchConfig``)
and a thin launcher that validates its arguments before any launch.

Semantics (page size 1). Sequence ``i`` owns query/extend rows
``qo_indptr[i]:qo_indptr[i+1]`` and cached-prefix pool rows
``kv_indices[kv_indptr[i]:kv_indptr[i+1]]`` (any rows, any order). Query ``j`` of
sequence ``i`` sits at position ``P_i + j`` (``P_i`` the prefix length); it sees
every prefix key and the extend keys up to its own position, and with a sliding
window ``W > 0`` only keys with ``q_pos - k_pos <= W``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Dict, Mapping, NamedTuple, Optional, Tuple, Union

import torch
import triton
import triton.language as tl
from triton.runtime.jit import JITFunction

from .extend_attention_hopper import _extend_attention_hopper_kernel
from .extend_attention_ws import _extend_attention_ws_kernel, extend_descriptors
from .online_softmax import LOG2E, online_softmax, soft_cap

SUPPORTED_HEAD_DIMS = (64, 128, 256)
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16)
INDEX_DTYPES = (torch.int32, torch.int64)
# The load cache modifiers Triton's ``tl.load`` accepts ("" = none).
LOAD_CACHE_MODIFIERS = ("", ".ca", ".cg", ".cv")
MAX_GRID_YZ = 65535  # CUDA's limit on a launch grid's y and z extents
MIN_REGISTERS, MAX_REGISTERS = 24, 255  # the per-thread register caps ptxas takes
# The launch order of the programs: which grid axis varies fastest (LaunchConfig.grid_order).
GRID_ORDERS = ("heads", "sequences")
SM90 = 90  # Hopper: the Gluon kernels' wgmma and setmaxnreg exist on sm_90 only
# The most shared memory one block may use on the smallest GPU of each architecture the
# codegen targets: sm_8x 99 KiB (sm_86, sm_89; the A100 has 163), sm_90 and sm_100 227 KiB.
MAX_SHARED_BYTES = {80: 99 * 1024, SM90: 227 * 1024, 100: 227 * 1024}


@dataclasses.dataclass(frozen=True)
class LaunchConfig:
    """Every knob of one launch.

    Knobs left ``None`` are filled per head dim and shape class (``shape_class``): from
    ``UPSTREAM_BLOCKS`` with ``num_stages=1`` (the upstream kernel's choice) or, with
    ``tuned=True``, from the tuned table for the GPU the call runs on (``tuned_blocks``):
    ``TUNED_BLOCKS``, measured on the H100, where the Gluon kernels run.
    """

    prefix_kv_cache: str = ""  # the gathered prefix K/V loads (k_buffer, v_buffer)
    extend_kv_cache: str = ""  # the extend K/V loads (k_extend, v_extend)
    q_cache: str = ""  # the query tile load
    index_cache: str = ""  # kv_indices / indptr loads
    num_stages: Optional[int] = None
    num_warps: Optional[int] = None
    block_m: Optional[int] = None
    block_n: Optional[int] = None
    # "heads": a sequence's query heads, then its query blocks, launch next to each other, so
    # programs in flight share its K/V through L2; "sequences": the upstream kernel's order,
    # one block of one head across every sequence first.
    grid_order: Optional[str] = None
    # load each prefix tile's pool rows one tile ahead, so that the gathers pipeline
    prefetch_indices: Optional[bool] = None
    # a cap on the registers per thread (ptxas's maxnreg); None leaves them to ptxas. A cap
    # that lets two 8-warp blocks share an SM (128) can beat the spills it costs. With
    # warp_specialize: each consumer's registers (a multiple of 8, as setmaxnreg takes them),
    # the producer taking the rest of the launch's (ws_registers); None takes WS_REGISTERS.
    max_registers: Optional[int] = None
    # run the Gluon kernel for Hopper (extend_attention_hopper.py), whose loop issues tile
    # t + 1's scores and tile t's P·V as asynchronous MMAs and computes tile t + 1's softmax
    # while P·V runs; needs an sm_90 GPU, block_m = 16 * num_warps and num_stages >= 3
    overlap_softmax: Optional[bool] = None
    # run the warp-specialized Gluon kernel for Hopper (extend_attention_ws.py): a producer
    # warpgroup gathers K/V while two consumer warpgroups of 64 query rows each compute (three
    # with block_m = 192 and num_warps = 12, at head dims up to 128); needs an sm_90 GPU,
    # block_m = 128 and num_warps = 8 (the consumers; the producer comes on top) or 192 and 12
    warp_specialize: Optional[bool] = None
    # with warp_specialize: one program per SM, each walking a strided share of the work items
    # (extend_attention_ws.py), so that an SM's programs do not each pay for their start, the
    # ring's fill and the output's store; otherwise one program per item
    persistent: Optional[bool] = None
    # with warp_specialize: an item's 128 rows are the query heads of one KV head, token after
    # token (packed GQA), where that group divides a consumer's 64 rows; otherwise one head's
    # 128 tokens
    pack_gqa: Optional[bool] = None
    # with persistent: each consumer warpgroup copies its next item's query rows (cp.async)
    # into a second shared-memory buffer while it computes the current item, instead of
    # loading them, and waiting for them, when the item starts
    prefetch_q: Optional[bool] = None
    # with warp_specialize: each consumer waits for a tile's scores alone and runs its softmax
    # while the previous tile's P·V still runs (FlashAttention-3's intra-warpgroup overlap);
    # otherwise it waits for both MMAs of the burst, then runs the softmax
    overlap_pv: Optional[bool] = None
    # with persistent: each program takes its items after the first from a counter the
    # launcher zeroes, in the launch's order, instead of a strided share, so that programs
    # whose items were short take more of them; otherwise the strided share
    dynamic_items: Optional[bool] = None
    # with warp_specialize: extend tiles whose rows all lie in their sequence's extend are
    # copied by TMA (one instruction per K and V tile from one producer thread) where
    # k_extend and v_extend allow it (heads packed in a row, 16-byte aligned); otherwise, and
    # for prefix tiles, every producer thread copies rows with cp.async
    tma_extend: Optional[bool] = None
    # with warp_specialize: each consumer writes its output rows through its item's Q buffer
    # (whose MMAs are done), 16 bytes a thread along each row, instead of straight from the
    # accumulator's layout in 4-byte pieces, which write every 32-byte sector twice over
    o_through_shared: Optional[bool] = None
    # with warp_specialize: each item's keys run as one stream of tiles, the prefix's then the
    # extend's, the tile at the prefix's end holding both, so that an item pays for one partial
    # tile (its diagonal), not two; otherwise the prefix's tiles, then the extend's from the
    # prefix's end, whose first tile the producer can copy with TMA (tma_extend)
    one_key_stream: Optional[bool] = None
    tuned: bool = False

    def __post_init__(self):
        for field in ("prefix_kv_cache", "extend_kv_cache", "q_cache", "index_cache"):
            value = getattr(self, field)
            if value not in LOAD_CACHE_MODIFIERS:
                raise ValueError(
                    f"config.{field}={value!r}: not a load cache modifier; "
                    f"expected one of {LOAD_CACHE_MODIFIERS}")
        if self.num_stages is not None and (not isinstance(self.num_stages, int)
                                            or not 1 <= self.num_stages <= 8):
            raise ValueError(f"config.num_stages={self.num_stages!r}: expected an int in [1, 8]")
        if self.num_warps is not None and self.num_warps not in (1, 2, 4, 8, 12, 16):
            raise ValueError(f"config.num_warps={self.num_warps!r}: expected 1, 2, 4, 8, 12 "
                             "(three consumer warpgroups, with warp_specialize) or 16")
        if self.grid_order is not None and self.grid_order not in GRID_ORDERS:
            raise ValueError(f"config.grid_order={self.grid_order!r}: expected one of {GRID_ORDERS}")
        for field in ("prefetch_indices", "overlap_softmax", "warp_specialize", "persistent",
                      "pack_gqa", "prefetch_q", "overlap_pv", "dynamic_items", "tma_extend",
                      "o_through_shared", "one_key_stream"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"config.{field}={value!r}: expected a bool")
        if self.max_registers is not None and (not isinstance(self.max_registers, int)
                                               or not MIN_REGISTERS <= self.max_registers <= MAX_REGISTERS):
            raise ValueError(f"config.max_registers={self.max_registers!r}: expected an int in "
                             f"[{MIN_REGISTERS}, {MAX_REGISTERS}]")
        for field in ("block_m", "block_n"):
            value = getattr(self, field)
            # 192: block_m of three consumer warpgroups (warp_specialize only)
            if value is not None and (not isinstance(value, int) or value < 16 or value > 256
                                      or value & (value - 1)) and (field, value) != ("block_m", 192):
                raise ValueError(f"config.{field}={value!r}: expected a power of two in [16, 256]"
                                 + (" (or block_m=192, with warp_specialize)" if field == "block_m" else ""))

    def resolved(self, head_dim: int, shape: str, arch: Optional[int]) -> "LaunchConfig":
        """This config with every ``None`` knob filled in for the head dim, the shape class
        and the target (``arch``: 90 for sm_90, None for no NVIDIA GPU; see ``launch_arch``)."""
        if shape not in SHAPE_CLASSES:
            raise ValueError(f"shape={shape!r}: expected one of {SHAPE_CLASSES}")
        table = (tuned_blocks(arch) if self.tuned else UNTUNED_BLOCKS)[head_dim, shape]
        return dataclasses.replace(self, **{
            knob: getattr(table, knob) if getattr(self, knob) is None else getattr(self, knob)
            for knob in FILLED_KNOBS})


# The knobs ``LaunchConfig.resolved`` fills in where they are left None.
FILLED_KNOBS = ("block_m", "block_n", "num_warps", "num_stages", "grid_order", "prefetch_indices",
                "max_registers", "overlap_softmax", "warp_specialize", "persistent", "pack_gqa",
                "prefetch_q", "overlap_pv", "dynamic_items", "tma_extend", "o_through_shared",
                "one_key_stream")

# (BLOCK_M, BLOCK_N, num_warps) per head dim of the upstream kernel on sm_90.
UPSTREAM_BLOCKS = {
    64: (128, 64, 4),
    128: (128, 64, 8),
    256: (64, 64, 8),
}

# The shape classes a call falls in (``shape_class``): a small sliding window, or none (or a
# larger one) with short or long extends.
SHAPE_CLASSES = ("windowed", "short", "long")
# The largest window the windowed tuning was measured with; larger windows count as none.
TUNED_WINDOW_MAX = 512
# The longest extend from which a call counts as long. Steps 5-8 tuned head dim 128's two
# classes apart at this length (docs/MEASUREMENTS.md) for the `tl` rows, which run where the
# warp-specialized kernel cannot. Where it runs, head dim 128's long row started at 1024-token
# extends (steps 14-29); since step 30 that row is the short one, and every table splits here.
LONG_EXTEND_MIN = 2048


def _tuned(block_m, block_n, num_warps, num_stages, prefetch_indices, max_registers=None,
           warp_specialize=False, persistent=False, pack_gqa=False, prefetch_q=False,
           overlap_pv=False, dynamic_items=False, tma_extend=False, o_through_shared=False,
           one_key_stream=False):
    return LaunchConfig(block_m=block_m, block_n=block_n, num_warps=num_warps,
                        num_stages=num_stages, grid_order="heads",
                        prefetch_indices=prefetch_indices, max_registers=max_registers,
                        overlap_softmax=False, warp_specialize=warp_specialize,
                        persistent=persistent, pack_gqa=pack_gqa, prefetch_q=prefetch_q,
                        overlap_pv=overlap_pv, dynamic_items=dynamic_items,
                        tma_extend=tma_extend, o_through_shared=o_through_shared,
                        one_key_stream=one_key_stream)


# The knobs of the tuned `tl` kernel per (head dim, shape class), from sweeps on the H100
# (docs/MEASUREMENTS.md, steps 2-8). With a small window each program has only a few tiles,
# so smaller query blocks (more programs in flight) win and prefetching the indices has
# little to hide; without one, the prefetch lets the gathers pipeline; long extends pay for
# larger key tiles, short ones for two blocks per SM (a register cap). At head dim 128 with a
# window, a cap at 168 registers fits three 4-warp blocks per SM.
TL_TUNED_BLOCKS = {
    (64, "windowed"): _tuned(64, 32, 4, 3, False),
    (64, "short"): _tuned(128, 64, 4, 3, True),
    (64, "long"): _tuned(128, 64, 4, 3, True),
    (128, "windowed"): _tuned(64, 32, 4, 3, True, max_registers=168),
    (128, "short"): _tuned(128, 32, 8, 3, True, max_registers=128),
    (128, "long"): _tuned(128, 64, 8, 3, True),
    (256, "windowed"): _tuned(64, 32, 4, 2, False),
    (256, "short"): _tuned(128, 64, 8, 2, True),
    (256, "long"): _tuned(128, 64, 8, 2, True),
}
# The tuned variant where the Gluon kernels run (``gluon_unavailable``): the warp-specialized
# kernel (a producer warpgroup, two consumers; three at head dim 128 without a small window and at
# head dim 64's short extends) on a persistent grid (a program per SM walking the items), with a
# KV head's query heads packed into its rows. Measured on the H200 against FlashInfer 0.7.2
# (docs/MEASUREMENTS.md, steps 10-13): where the extends are short, or the window small, items are
# short and 64-key tiles (with prefetched indices until step 16b), each consumer's next Q copied
# ahead, win; without a window at long extends 128-key tiles did (a program per item until step
# 13, which measured the persistent grid 8% faster at n_ctx 8192; at head dim 128 from 1024-token
# extends in steps 14-29, until step 30 below). At head dim 64 128-key tiles with Q copied ahead
# win at short and long extends alike (step 13: up to 12% over the 64-key row at n_ctx 4096, 2%
# behind it at 1024). At head dim 256 copying Q ahead needs a stage less, and measured no faster.
# The `tl` rows stayed where they measured faster: head dim 64's windows until step 17 (the 64-key
# row with TMA measured 1.20-1.30x the `tl` row at W512, n_ctx 1024-8192) and head dim 256's long
# extends until step 31 (below). The softmax overlaps P·V (overlap_pv, step 12) where it measured
# faster: with a window, and at head dim 256; at head dim 128 without a window it measured 4%
# slower at long extends and -1 to +1% at short ones, and at head dim 64 no different. Items taken
# from a counter (dynamic_items, step 15) where they measured faster: head dim 128's short
# extends, 3% at n_ctx 1024 and 5% at 2048, where the items' lengths differ most; with a window
# (short items: the counter's round trip is a larger part of each) 1-7% slower, at long extends 1%
# slower. Whole extend tiles copied by TMA (tma_extend, step 16) wherever head dims 64 and 128 run
# this kernel: at head dim 128's long extends 6% faster at n_ctx 8192, 4% at 4096; at head dim 64
# 4-5% at 4096 and 8192, 1% at 1024; on head dim 128's short and windowed rows (step 16b) 2-9%,
# though TMA excludes the prefetched indices (worth 1% on the short row). At head dim 256 (32-key
# tiles) -2 to +1%. Three consumer warpgroups (192-row items, 12 warps, step 18) at head dim 64's
# short extends: 1.11x the two-consumer 128-key row at n_ctx 1024 and 1.07x at 4096; at long
# extends (8192) and with W512 within 1-3% of the rows they would replace, so those stay. At head
# dim 128's short extends too, with items from the counter (step 19): 1.08x the two-consumer row
# at n_ctx 2048, 1.01x at 1024; 128-key tiles there measured 0.84-0.97x. Output rows written
# through the Q buffer in 16-byte stores (o_through_shared) on every warp-specialized row: with a
# window 1.10-1.15x at head dim 128 and 1.06-1.09x at 64, at head dim 64's short extends
# 1.03-1.08x, its long ones 1.01x (step 23); at head dim 128 without a window 1.05x at long
# extends and 1.06-1.07x at short ones (step 24), though there the path spills (16 and 48 bytes of
# stack against 8 and 0). At head dim 256 too (step 25), though it spills 24 bytes there: with a
# window 1.13x at W127 and 1.06-1.07x at W512, at short extends 1.04-1.06x. (Step 27's output
# normalized by one reciprocal a row added 8 bytes at head dim 128's long row and head dim 256's
# short one.) Each item's keys as one stream of tiles (one_key_stream, step 28) at head dim 64
# (without a window 1.03x at n_ctx 8192, 1.01x at 4096, 1.06x at 1024; with W512 1.00-1.02x) and
# on the windowed rows of 64 and 128 (head dim 128: 1.03-1.07x at W512, 0.99-1.00x at W127); at
# head dim 128 without a window it measured 0.90-0.98x (the extend's first rows then come through
# the producer's row copies, not TMA), and at head dim 256 0.99-1.01x. Head dim 64's long row
# gives each consumer 224 registers, the producer 56 (step 29: 1.005x at n_ctx 8192, on two GPUs).
# Head dim 128's long extends run its short row (step 30): three consumers on 64-key tiles with
# items from the counter measured 1.04-1.06x the two-consumer 128-key row at n_ctx 8192 and 1.08x
# at 4096 (both pools, heads 32/8 and 32/32, fp16); without the counter 1.00x at 8192. Step 19 had
# set the short row against a 64-key two-consumer row, and the long row was not measured against
# it again. Head dim 256 without a window takes its items from the counter at short and long
# extends alike (step 31): 1.03x at n_ctx 4096 and 1.05x at 1024 (with a window 0.99-1.01x, so
# that row stays strided), and its persistent row replaces the `tl` row at long extends:
# 1.23-1.34x at 8192.
_WS_PERSISTENT = _tuned(128, 64, 8, 4, False, warp_specialize=True, persistent=True,
                        pack_gqa=True, prefetch_q=True, tma_extend=True, o_through_shared=True,
                        one_key_stream=True)
_WS_PERSISTENT_64 = _tuned(128, 128, 8, 4, False, max_registers=224, warp_specialize=True,
                           persistent=True, pack_gqa=True, prefetch_q=True, tma_extend=True,
                           o_through_shared=True, one_key_stream=True)
_WS_PERSISTENT_256 = _tuned(128, 32, 8, 4, True, warp_specialize=True, persistent=True,
                            pack_gqa=True, overlap_pv=True, o_through_shared=True)
_WS_THREE_CONSUMERS = _tuned(192, 64, 12, 3, False, warp_specialize=True, persistent=True,
                             pack_gqa=True, prefetch_q=True, tma_extend=True,
                             o_through_shared=True)
_WS_THREE_CONSUMERS_COUNTED = dataclasses.replace(_WS_THREE_CONSUMERS, dynamic_items=True)
_WS_PERSISTENT_256_COUNTED = dataclasses.replace(_WS_PERSISTENT_256, dynamic_items=True)
TUNED_BLOCKS = {**TL_TUNED_BLOCKS,
                (64, "windowed"): _WS_PERSISTENT,
                (64, "short"): dataclasses.replace(_WS_THREE_CONSUMERS, one_key_stream=True),
                (64, "long"): _WS_PERSISTENT_64,
                (128, "windowed"): dataclasses.replace(_WS_PERSISTENT, overlap_pv=True),
                (128, "short"): _WS_THREE_CONSUMERS_COUNTED,
                (128, "long"): _WS_THREE_CONSUMERS_COUNTED,
                (256, "windowed"): _WS_PERSISTENT_256,
                (256, "short"): _WS_PERSISTENT_256_COUNTED,
                (256, "long"): _WS_PERSISTENT_256_COUNTED}

# The tuned variant on every other target (GPUs other than sm_90, the interpreter): the
# `tl` rows, each within sm_8x's shared memory (ci/codegen_gate.py checks it). Only head dim
# 256 without a window needs other blocks there: the H100's m128n64w8s2 takes 144 KiB on
# sm_80; m64n32w4s2 with prefetched indices takes 68 KiB and measured 2.22x `baseline` on the
# H100 (1.26x slower than that row; docs/gpu-logs/2026-11-25-step5-sweep-d64-d256.log).
_SMALL_SHARED_256 = _tuned(64, 32, 4, 2, True)
PORTABLE_BLOCKS = {**TL_TUNED_BLOCKS, (256, "short"): _SMALL_SHARED_256,
                   (256, "long"): _SMALL_SHARED_256}
# The grid order of the untuned variants, per shape class.
UNTUNED_GRID_ORDER = {"windowed": "sequences", "short": "heads", "long": "heads"}
# The knobs of the untuned variants per (head dim, shape class): the upstream kernel's
# structure, no pipelining, each tile's indices loaded in its own iteration, registers left
# to ptxas.
UNTUNED_BLOCKS = {
    (head_dim, shape): LaunchConfig(block_m=block_m, block_n=block_n, num_warps=num_warps,
                                    num_stages=1, grid_order=UNTUNED_GRID_ORDER[shape],
                                    prefetch_indices=False, overlap_softmax=False,
                                    warp_specialize=False, persistent=False, pack_gqa=False,
                                    prefetch_q=False, overlap_pv=False, dynamic_items=False,
                                    tma_extend=False, o_through_shared=False,
                                    one_key_stream=False)
    for head_dim, (block_m, block_n, num_warps) in UPSTREAM_BLOCKS.items()
    for shape in SHAPE_CLASSES
}


def shape_class(sliding_window_size: int, max_len_extend: int) -> str:
    """The row of a tuned table (``tuned_blocks``), and of ``UNTUNED_BLOCKS``, that a call
    takes."""
    if 0 < sliding_window_size <= TUNED_WINDOW_MAX:
        return "windowed"
    return "long" if max_len_extend >= LONG_EXTEND_MIN else "short"


VARIANTS: Mapping[str, LaunchConfig] = {
    # the kernel as it stood before the upstream change
    "baseline": LaunchConfig(),
    # .cg on the gathered prefix K/V loads only
    "cg": LaunchConfig(prefix_kv_cache=".cg"),
    # software pipelining only
    "stages2": LaunchConfig(num_stages=2),
    # the upstream change as proposed: both knobs at once
    "cg_stages2": LaunchConfig(prefix_kv_cache=".cg", num_stages=2),
    # the project's best setting: the tuned table of the target (``tuned_blocks``) per head
    # dim and shape class (kernel, blocks, warps, pipeline depth, prefetched indices, register
    # cap). No .cg: with num_stages >= 2 the pipeliner issues the gathered loads as
    # cp.async.cg anyway.
    "default": LaunchConfig(tuned=True),
}


@triton.jit
def _attend(acc, m_i, l_i, q, k, v_ptrs, v_in_range, visible, qk_scale, logit_cap,
            USE_LOGIT_CAP: tl.constexpr, MASKED: tl.constexpr, V_CACHE: tl.constexpr):
    """Fold one key tile into the running softmax state (``m_i`` in the scaled log2 domain).

    ``visible`` is applied only when ``MASKED``: tiles that every row sees whole skip the
    select over the score tile. The value tile is loaded here, after the scores: without
    pipelining (``num_stages=1``) the K and V tiles then never sit in shared memory at the
    same time (48 instead of 64 KiB for ``baseline`` at head dim 128), and V's latency
    overlaps the softmax. With ``num_stages >= 2`` the pipeliner hoists both loads anyway.
    """
    s = tl.dot(q, k)
    if USE_LOGIT_CAP:
        s = soft_cap(s, qk_scale, logit_cap)
    if MASKED:
        s = tl.where(visible, s, float("-inf"))
    p, alpha, m_new = online_softmax(s, m_i, qk_scale, USE_LOGIT_CAP)
    l_i = l_i * alpha + tl.sum(p, 1)
    v = tl.load(v_ptrs, mask=v_in_range, other=0.0, cache_modifier=V_CACHE)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
    return acc, m_new, l_i


@triton.jit
def _prefix_tiles(acc, m_i, l_i, q, q_pos, lo, hi, K_buf, V_buf, kv_indices, kv_start, len_prefix,
                  kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh, qk_scale, logit_cap,
                  sliding_window, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
                  USE_WINDOW: tl.constexpr, USE_LOGIT_CAP: tl.constexpr, MASKED: tl.constexpr,
                  PREFIX_KV_CACHE: tl.constexpr, INDEX_CACHE: tl.constexpr,
                  PREFETCH_INDICES: tl.constexpr):
    """Prefix keys [lo, hi), a tile at a time, gathered row by row through kv_indices.

    With ``PREFETCH_INDICES`` each iteration loads the next tile's pool rows, so the K/V
    gathers depend on a value carried from the previous iteration instead of on a load in
    their own. Triton 3.6's pipeliner then issues the gathers ``num_stages - 1`` tiles ahead;
    with the index load in the same iteration it pipelines that load instead and waits for
    every copy at the top of each iteration (``cp.async.wait_group 0``), exposing the
    gathers' latency.
    """
    offs_d = tl.arange(0, HEAD_DIM)
    if PREFETCH_INDICES:
        first = lo + tl.arange(0, BLOCK_N)
        next_rows = tl.load(kv_indices + kv_start + first, mask=first < len_prefix, other=0,
                            cache_modifier=INDEX_CACHE)
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        in_range = cols < len_prefix
        if PREFETCH_INDICES:
            rows = next_rows.to(tl.int64)
            ahead = cols + BLOCK_N
            next_rows = tl.load(kv_indices + kv_start + ahead, mask=ahead < len_prefix, other=0,
                                cache_modifier=INDEX_CACHE)
        else:
            rows = tl.load(kv_indices + kv_start + cols, mask=in_range, other=0,
                           cache_modifier=INDEX_CACHE).to(tl.int64)
        k = tl.load(K_buf + rows[None, :] * stride_kbt + kv_head * stride_kbh + offs_d[:, None],
                    mask=in_range[None, :], other=0.0, cache_modifier=PREFIX_KV_CACHE)
        # rows past the sequence's end need no mask: their queries are zeros and never stored
        visible = in_range[None, :]
        if USE_WINDOW:
            visible &= (q_pos[:, None] - cols[None, :]) <= sliding_window
        v_ptrs = V_buf + rows[:, None] * stride_vbt + kv_head * stride_vbh + offs_d[None, :]
        acc, m_i, l_i = _attend(acc, m_i, l_i, q, k, v_ptrs, in_range[:, None], visible, qk_scale,
                                logit_cap, USE_LOGIT_CAP, MASKED, PREFIX_KV_CACHE)
    return acc, m_i, l_i


@triton.jit
def _extend_tiles(acc, m_i, l_i, q, offs_m, lo, hi, K_ext, V_ext, qo_start, kv_head,
                  stride_kt, stride_kh, stride_vt, stride_vh, qk_scale, logit_cap, sliding_window,
                  BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr, USE_WINDOW: tl.constexpr,
                  USE_LOGIT_CAP: tl.constexpr, MASKED: tl.constexpr, EXTEND_KV_CACHE: tl.constexpr):
    """The new tokens' own keys [lo, hi), a tile at a time, causal."""
    offs_d = tl.arange(0, HEAD_DIM)
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        in_range = cols < hi
        k = tl.load(K_ext + (qo_start + cols)[None, :] * stride_kt + kv_head * stride_kh
                    + offs_d[:, None], mask=in_range[None, :], other=0.0,
                    cache_modifier=EXTEND_KV_CACHE)
        visible = in_range[None, :] & (offs_m[:, None] >= cols[None, :])
        if USE_WINDOW:
            visible &= (offs_m[:, None] - cols[None, :]) <= sliding_window
        v_ptrs = V_ext + (qo_start + cols)[:, None] * stride_vt + kv_head * stride_vh + offs_d[None, :]
        acc, m_i, l_i = _attend(acc, m_i, l_i, q, k, v_ptrs, in_range[:, None], visible, qk_scale,
                                logit_cap, USE_LOGIT_CAP, MASKED, EXTEND_KV_CACHE)
    return acc, m_i, l_i


@triton.jit
def _extend_attention_kernel(
    Q, K_ext, V_ext, O, K_buf, V_buf,
    qo_indptr, kv_indptr, kv_indices,
    sm_scale_log2, logit_cap, sliding_window,
    stride_qt, stride_qh, stride_kt, stride_kh, stride_vt, stride_vh,
    stride_ot, stride_oh, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
    GQA_GROUP: tl.constexpr,
    HEAD_DIM: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    USE_WINDOW: tl.constexpr,
    USE_LOGIT_CAP: tl.constexpr,
    PREFIX_KV_CACHE: tl.constexpr,
    EXTEND_KV_CACHE: tl.constexpr,
    Q_CACHE: tl.constexpr,
    INDEX_CACHE: tl.constexpr,
    HEADS_FIRST: tl.constexpr,
    PREFETCH_INDICES: tl.constexpr,
):
    if HEADS_FIRST:
        head, block, seq = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    else:
        seq, head, block = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    kv_head = head // GQA_GROUP

    qo_start = tl.load(qo_indptr + seq, cache_modifier=INDEX_CACHE).to(tl.int64)
    len_extend = tl.load(qo_indptr + seq + 1, cache_modifier=INDEX_CACHE).to(tl.int64) - qo_start
    kv_start = tl.load(kv_indptr + seq, cache_modifier=INDEX_CACHE).to(tl.int64)
    len_prefix = tl.load(kv_indptr + seq + 1, cache_modifier=INDEX_CACHE).to(tl.int64) - kv_start
    if block * BLOCK_M >= len_extend:
        return

    offs_m = block * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    mask_m = offs_m < len_extend
    q_pos = len_prefix + offs_m  # absolute positions of this block's queries

    q_ptrs = Q + (qo_start + offs_m)[:, None] * stride_qt + head * stride_qh + offs_d[None, :]
    q = tl.load(q_ptrs, mask=mask_m[:, None], other=0.0, cache_modifier=Q_CACHE)

    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    # finite start so that a row masked across a whole tile gives exp2(-inf - m) = 0, not NaN
    m_i = tl.full([BLOCK_M], -1.0e30, dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    end_n = tl.minimum((block + 1) * BLOCK_M, len_extend)  # the block's last query, causal

    if USE_WINDOW:
        # Keys before the block's first query position minus the window are invisible to
        # every row: start both loops there instead of masking them.
        first_key = tl.maximum(len_prefix + block * BLOCK_M - sliding_window, 0)
        prefix_split = tl.minimum(first_key, len_prefix)
        extend_split = tl.maximum(first_key - len_prefix, 0)
    else:
        # Whole prefix tiles and extend tiles left of the block's diagonal are seen whole by
        # every row: they skip the mask over their scores. Only the last prefix tile and the
        # diagonal tiles are masked.
        prefix_split = len_prefix - len_prefix % BLOCK_N
        extend_split = (block * BLOCK_M) // BLOCK_N * BLOCK_N
        acc, m_i, l_i = _prefix_tiles(
            acc, m_i, l_i, q, q_pos, 0, prefix_split, K_buf, V_buf, kv_indices, kv_start,
            len_prefix, kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh, sm_scale_log2,
            logit_cap, sliding_window, BLOCK_N, HEAD_DIM, USE_WINDOW, USE_LOGIT_CAP, False,
            PREFIX_KV_CACHE, INDEX_CACHE, PREFETCH_INDICES)
        acc, m_i, l_i = _extend_tiles(
            acc, m_i, l_i, q, offs_m, 0, extend_split, K_ext, V_ext, qo_start, kv_head,
            stride_kt, stride_kh, stride_vt, stride_vh, sm_scale_log2, logit_cap, sliding_window,
            BLOCK_N, HEAD_DIM, USE_WINDOW, USE_LOGIT_CAP, False, EXTEND_KV_CACHE)
    acc, m_i, l_i = _prefix_tiles(
        acc, m_i, l_i, q, q_pos, prefix_split, len_prefix, K_buf, V_buf, kv_indices, kv_start,
        len_prefix, kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh, sm_scale_log2,
        logit_cap, sliding_window, BLOCK_N, HEAD_DIM, USE_WINDOW, USE_LOGIT_CAP, True,
        PREFIX_KV_CACHE, INDEX_CACHE, PREFETCH_INDICES)
    acc, m_i, l_i = _extend_tiles(
        acc, m_i, l_i, q, offs_m, extend_split, end_n, K_ext, V_ext, qo_start, kv_head,
        stride_kt, stride_kh, stride_vt, stride_vh, sm_scale_log2, logit_cap, sliding_window,
        BLOCK_N, HEAD_DIM, USE_WINDOW, USE_LOGIT_CAP, True, EXTEND_KV_CACHE)

    out = acc / l_i[:, None]
    o_ptrs = O + (qo_start + offs_m)[:, None] * stride_ot + head * stride_oh + offs_d[None, :]
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=mask_m[:, None])


# ---------------------------------------------------------------- where a call runs
# The one place that looks at the device and the Triton release: ``launch_arch`` names the
# target, ``gluon_unavailable`` says whether the Gluon kernels run there, ``tuned_blocks``
# picks the tuned variant's table for it.

# The Triton releases whose Gluon API the Hopper kernels are written for and were verified
# with on the H100. Gluon is experimental and changes from release to release (3.7 removed
# gl.thread_barrier, 3.9 async_copy_global_to_shared); on the other releases the tuned
# variant runs the `tl` kernel and an explicit Gluon config is refused.
GLUON_TRITON_RELEASES = ("3.6",)
GLUON_RUNS_ON_THIS_TRITON = ".".join(triton.__version__.split(".")[:2]) in GLUON_TRITON_RELEASES
# TRITON_INTERPRET=1, set before triton is imported, runs the `tl` kernel on the CPU.
RUNS_IN_INTERPRETER = not isinstance(_extend_attention_kernel, JITFunction)
# The interpreter computes with NumPy, which has no bfloat16: it takes bf16 tensors for their
# raw 16-bit patterns and answers garbage (relative error about 1e9, Triton 3.6 to 3.9).
INTERPRETER_DTYPES = (torch.float16,)


def launch_arch(device: torch.device) -> Optional[int]:
    """The target of a call whose tensors are on ``device``: sm_XY's number XY on an NVIDIA
    GPU (90 for sm_90), None under Triton's interpreter or on another GPU backend (ROCm).
    ValueError, naming q_extend, for a device no kernel serves."""
    if device.type == "meta":
        raise ValueError("q_extend: on the meta device, which holds no data to attend over")
    if RUNS_IN_INTERPRETER:
        return None
    if device.type != "cuda":
        raise ValueError(f"q_extend: on {device}: the kernel runs on CUDA devices, or on the CPU "
                         "under Triton's interpreter (TRITON_INTERPRET=1 before triton is imported)")
    if torch.version.hip is not None:
        return None  # ROCm reports a gfx version as the capability, not an sm_XY
    major, minor = torch.cuda.get_device_capability(device)
    return 10 * major + minor


@functools.lru_cache(maxsize=None)
def sm_count(device: torch.device) -> int:
    """The streaming multiprocessors of ``device``: a persistent launch's programs."""
    return torch.cuda.get_device_properties(device).multi_processor_count


def gluon_unavailable(arch: Optional[int]) -> Optional[str]:
    """Why the Gluon kernels for Hopper cannot run on ``arch`` with this Triton, or None."""
    if arch != SM90:
        return ("the Gluon kernels run on sm_90 GPUs only"
                + (f", not sm_{arch}" if arch is not None else ", not under the interpreter"))
    if not GLUON_RUNS_ON_THIS_TRITON:
        return (f"the Gluon kernels are written for the Gluon API of Triton "
                f"{', '.join(GLUON_TRITON_RELEASES)}, not {triton.__version__}")
    return None


def tuned_blocks(arch: Optional[int]) -> Mapping:
    """The tuned variant's table for ``arch``: ``TUNED_BLOCKS`` where the Gluon kernels run;
    on sm_90 without them its `tl` rows; elsewhere the rows that fit every GPU's shared memory."""
    if gluon_unavailable(arch) is None:
        return TUNED_BLOCKS
    return TL_TUNED_BLOCKS if arch == SM90 else PORTABLE_BLOCKS


def resolve_config(config: Union[str, LaunchConfig], head_dim: int, shape: str, *,
                   arch: Optional[int]) -> LaunchConfig:
    """A variant name or a LaunchConfig -> a LaunchConfig with every knob filled in for the
    head dim, the shape class and the target (``launch_arch``)."""
    if isinstance(config, str):
        if config not in VARIANTS:
            raise ValueError(f"config={config!r}: unknown variant; expected one of {sorted(VARIANTS)}")
        config = VARIANTS[config]
    elif not isinstance(config, LaunchConfig):
        raise ValueError(f"config: expected a variant name or a LaunchConfig, got {type(config).__name__}")
    return config.resolved(head_dim, shape, arch)


def kernel_for(config: LaunchConfig):
    """The kernel a resolved config launches: the Triton kernel or, with ``warp_specialize``
    or ``overlap_softmax``, one of the Gluon kernels for Hopper."""
    if config.warp_specialize:
        return _extend_attention_ws_kernel
    return _extend_attention_hopper_kernel if config.overlap_softmax else _extend_attention_kernel


def shared_kv_offsets(k_extend: torch.Tensor, v_extend: torch.Tensor, k_buffer: torch.Tensor,
                      v_buffer: torch.Tensor) -> bool:
    """Whether one 32-bit element offset per row serves K and V alike (the warp-specialized
    kernel's SHARED_KV_OFFSETS): the extends have one shape and one set of strides, the pools
    too, and the last element's offset in each is below 2**31."""
    def alike_and_small(k: torch.Tensor, v: torch.Tensor) -> bool:
        return (k.shape == v.shape and k.stride() == v.stride()
                and sum((n - 1) * s for n, s in zip(k.shape, k.stride())) < 2**31)
    return alike_and_small(k_extend, v_extend) and alike_and_small(k_buffer, v_buffer)


def kernel_constexprs(config: LaunchConfig, *, gqa_group: int, head_dim: int,
                      use_window: bool, use_logit_cap: bool, shared_offsets: bool = False) -> dict:
    """The compile-time arguments of ``kernel_for(config)`` (shared with codegen);
    ``shared_offsets`` is ``shared_kv_offsets`` of the call's tensors."""
    constexprs = dict(
        GQA_GROUP=gqa_group, HEAD_DIM=head_dim,
        BLOCK_M=config.block_m, BLOCK_N=config.block_n,
        USE_WINDOW=use_window, USE_LOGIT_CAP=use_logit_cap,
        PREFIX_KV_CACHE=config.prefix_kv_cache, EXTEND_KV_CACHE=config.extend_kv_cache,
        Q_CACHE=config.q_cache, INDEX_CACHE=config.index_cache,
        HEADS_FIRST=config.grid_order == "heads",
        PREFETCH_INDICES=config.prefetch_indices,
    )
    if config.overlap_softmax or config.warp_specialize:
        # the Gluon kernels' ring of shared-memory stages is written out, not left to a pipeliner
        constexprs["NUM_STAGES"] = config.num_stages
    if config.warp_specialize:
        constexprs["PERSISTENT"] = bool(config.persistent)
        constexprs["GQA_PACK"] = packed_heads(config, gqa_group)
        constexprs["PREFETCH_Q"] = bool(config.prefetch_q)
        constexprs["OVERLAP_PV"] = bool(config.overlap_pv)
        constexprs["DYNAMIC_ITEMS"] = bool(config.dynamic_items)
        constexprs["TMA_EXTEND"] = bool(config.tma_extend)
        constexprs["O_THROUGH_SHARED"] = bool(config.o_through_shared)
        constexprs["ONE_KEY_STREAM"] = bool(config.one_key_stream)
        constexprs["SHARED_KV_OFFSETS"] = shared_offsets
        registers = ws_registers(config)
        constexprs["CONSUMER_REGISTERS"] = registers.consumer
        constexprs["PRODUCER_REGISTERS"] = registers.producer
    return constexprs


class WsRegisters(NamedTuple):
    """Registers per thread of the warp-specialized kernel: what the launch gives every thread
    (its warpgroups share an SM's 65536 evenly, in setmaxnreg's multiples of 8) and what
    setmaxnreg then moves to each consumer from the producer."""
    total: int
    consumer: int
    producer: int


# Per number of consumer warpgroups. Two: 168 each, 216 per consumer and 72 for the producer
# (at step 9 the fewest at which ptxas did not spill the producer's gather addresses). Three
# (192-row items, FlashAttention-3's split at head dim 64; head dim 128's rows without a small
# window too): 128 each, 152 per consumer, 56 for the producer. LaunchConfig.max_registers
# moves registers between them. Measured in session 22 (docs/MEASUREMENTS.md): head dim 128's
# two-consumer long row (`default`'s until step 30) the same at 224/56, 1-3% slower
# at 232/40 and 6-11% at 240/24, though at 232 nothing spills: the producer's pace shows in
# the consumers' time; head dim 64's long row 0.5% faster at 224/56. setmaxnreg takes 24 to
# 256 registers, in multiples of 8.
SM90_REGISTERS = 65536
WS_REGISTERS = {2: WsRegisters(168, 216, 72), 3: WsRegisters(128, 152, 56)}
MIN_WS_PRODUCER_REGISTERS = 24


def ws_registers(config: LaunchConfig) -> WsRegisters:
    """The register split of a warp-specialized config: one consumer warpgroup per 4 of its
    ``num_warps`` (the producer's 4 come on top). ``max_registers``, where set, is each
    consumer's; the producer takes what the consumers leave of the launch's registers."""
    consumers = config.num_warps // 4
    split = WS_REGISTERS[consumers]
    if config.max_registers is None:
        return split
    producer = (split.total * (consumers + 1) - consumers * config.max_registers) // 8 * 8
    return WsRegisters(split.total, config.max_registers, producer)

# cp.async, which the Gluon kernels copy K and V (and the overlapped kernel Q) with, takes
# only these modifiers.
ASYNC_COPY_CACHE_MODIFIERS = ("", ".ca", ".cg")


def _check_copies_and_shared(config: LaunchConfig, knob: str, copied: tuple, head_dim: int,
                             element_bytes: int, query_rows: int) -> None:
    """The checks both Gluon kernels share: the cache modifiers of the loads they issue as
    cp.async, and shared memory for ``query_rows`` rows of Q and the K/V ring."""
    for field in copied:
        if getattr(config, field) not in ASYNC_COPY_CACHE_MODIFIERS:
            raise ValueError(f"config.{field}={getattr(config, field)!r}: {knob} copies with "
                             f"cp.async, which takes one of {ASYNC_COPY_CACHE_MODIFIERS}")
    shared = element_bytes * head_dim * (query_rows + 2 * config.num_stages * config.block_n)
    if shared > MAX_SHARED_BYTES[SM90]:
        raise ValueError(f"config.num_stages={config.num_stages}: {query_rows} rows of Q and "
                         f"{config.num_stages} K/V stages of {config.block_n} rows need {shared} "
                         f"bytes of shared memory; sm_90 has {MAX_SHARED_BYTES[SM90]}")


def check_overlap_softmax(config: LaunchConfig, head_dim: int, element_bytes: int) -> None:
    """ValueError, naming the knob, for a resolved ``overlap_softmax`` config the Gluon kernel
    cannot run (checked before any launch)."""
    if config.num_warps == 12:
        raise ValueError("config.num_warps=12: only warp_specialize runs 12 warps (three "
                         "consumer warpgroups)")
    if config.block_m != 16 * config.num_warps:
        raise ValueError(f"config.block_m={config.block_m}: with overlap_softmax each warp owns 16 "
                         f"query rows, so block_m must be 16 * num_warps = {16 * config.num_warps}")
    if config.num_stages < 3:
        raise ValueError(f"config.num_stages={config.num_stages}: overlap_softmax needs at least 3 "
                         "stages (tile t + 1 must land while tile t + 2 loads)")
    _check_copies_and_shared(config, "overlap_softmax",
                             ("prefix_kv_cache", "extend_kv_cache", "q_cache"), head_dim,
                             element_bytes, config.block_m)


# The query rows of one consumer warpgroup of the warp-specialized kernel: packed query heads
# must divide them, so that each consumer holds whole tokens.
WS_CONSUMER_ROWS = 64


def packed_heads(config: LaunchConfig, gqa_group: int) -> int:
    """The query heads an item of the warp-specialized kernel packs into its rows: the whole
    group with ``pack_gqa`` where it divides a consumer's rows, else 1 (one head per item)."""
    return gqa_group if config.pack_gqa and WS_CONSUMER_ROWS % gqa_group == 0 else 1


def check_work_items(config: LaunchConfig) -> None:
    """ValueError for ``persistent``, ``pack_gqa``, ``prefetch_q`` or ``dynamic_items`` on a
    kernel without work items, for ``prefetch_q`` or ``dynamic_items`` where a program has no
    next item (one program per item), and for ``overlap_pv`` on a kernel without consumer
    warpgroups."""
    for knob in ("persistent", "pack_gqa", "prefetch_q", "dynamic_items"):
        if getattr(config, knob) and not config.warp_specialize:
            raise ValueError(f"config.{knob}=True: only the warp-specialized kernel walks work "
                             "items (set warp_specialize=True)")
    if config.tma_extend and not config.warp_specialize:
        raise ValueError("config.tma_extend=True: only the warp-specialized kernel's producer "
                         "copies with TMA (set warp_specialize=True)")
    if config.o_through_shared and not config.warp_specialize:
        raise ValueError("config.o_through_shared=True: only the warp-specialized kernel's "
                         "consumers write through their Q buffers (set warp_specialize=True)")
    if config.one_key_stream and not config.warp_specialize:
        raise ValueError("config.one_key_stream=True: only the warp-specialized kernel walks an "
                         "item's keys as one stream (set warp_specialize=True)")
    if config.overlap_pv and not config.warp_specialize:
        raise ValueError("config.overlap_pv=True: only the warp-specialized kernel's consumers "
                         "wait for their MMAs one by one (set warp_specialize=True; "
                         "overlap_softmax is the Gluon kernel that overlaps without it)")
    if config.prefetch_q and not config.persistent:
        raise ValueError("config.prefetch_q=True: a program of one item has no next item to copy "
                         "ahead (set persistent=True)")
    if config.dynamic_items and not config.persistent:
        raise ValueError("config.dynamic_items=True: a program of one item takes no other from "
                         "the counter (set persistent=True)")


def check_warp_specialize(config: LaunchConfig, head_dim: int, element_bytes: int) -> None:
    """ValueError, naming the knob, for a resolved ``warp_specialize`` config the warp-specialized
    kernel cannot run (checked before any launch)."""
    if config.overlap_softmax:
        raise ValueError("config.overlap_softmax=True: warp_specialize launches a different "
                         "kernel; choose one of the two")
    if (config.block_m, config.num_warps) not in ((128, 8), (192, 12)):
        raise ValueError(f"config.block_m={config.block_m}, config.num_warps={config.num_warps}: "
                         "warp_specialize runs two or three consumer warpgroups of 64 query rows, "
                         "so block_m and num_warps must be 128 and 8, or 192 and 12 (the "
                         "producer's 4 warps come on top)")
    if config.block_m == 192 and head_dim > 128:
        raise ValueError(f"config.block_m=192: three consumer warpgroups share {SM90_REGISTERS} "
                         f"registers with the producer, too few for head_dim={head_dim}'s "
                         "accumulators (at most 128)")
    if config.num_stages < 2:
        raise ValueError(f"config.num_stages={config.num_stages}: warp_specialize needs at least "
                         "2 stages (a consumer reads tile t's K while tile t - 1's V is in use)")
    if config.tma_extend and config.prefetch_indices:
        raise ValueError("config.tma_extend=True: a tile copied by TMA skips the row copies that "
                         "load the next tile's indices; set prefetch_indices=False")
    if config.prefetch_indices and config.block_n > 64:
        raise ValueError(f"config.prefetch_indices=True: with block_n={config.block_n} the "
                         "producer copies 64-row chunks, each with its own index load; "
                         "prefetching needs block_n <= 64")
    if config.max_registers is not None:
        registers = ws_registers(config)
        if config.max_registers % 8 or registers.producer < MIN_WS_PRODUCER_REGISTERS:
            raise ValueError(f"config.max_registers={config.max_registers}: with warp_specialize, "
                             "each consumer thread's registers: a multiple of 8 that leaves the "
                             f"producer at least {MIN_WS_PRODUCER_REGISTERS} (it would have "
                             f"{registers.producer})")
    # K/V are copied with cp.async; Q too with prefetch_q (into two buffers), else loaded
    # with a plain load (any modifier)
    copied = ("prefix_kv_cache", "extend_kv_cache", "q_cache")[:3 if config.prefetch_q else 2]
    _check_copies_and_shared(config, "warp_specialize", copied, head_dim, element_bytes,
                             config.block_m * (2 if config.prefetch_q else 1))


def launch_options(config: LaunchConfig) -> dict:
    """The compile options of a resolved config (shared with codegen)."""
    # The softmax folds its scale into the exponent as one multiply-add a score (step 3);
    # Triton 3.10 stops fusing multiply-adds unless asked, so ask.
    fusion = dict(enable_fp_fusion=True)
    if config.warp_specialize:
        # the kernel's num_warps is its default partition (one consumer warpgroup); the other
        # consumers and the producer are worker partitions
        return dict(num_warps=4, num_stages=config.num_stages,
                    maxnreg=ws_registers(config).total, **fusion)
    options = dict(num_warps=config.num_warps, num_stages=config.num_stages, **fusion)
    if config.max_registers is not None:
        options["maxnreg"] = config.max_registers
    return options


def _check_tensor(name, t, ndim, dtypes, device):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(t.shape)}")
    if t.dtype not in dtypes:
        raise ValueError(f"{name}: dtype {t.dtype} not supported; expected one of {dtypes}")
    if t.device != device:
        raise ValueError(f"{name}: on {t.device}, but q_extend is on {device}")
    if ndim == 1 and not t.is_contiguous():
        raise ValueError(f"{name}: must be contiguous")
    if ndim == 3 and t.numel() and t.stride(2) != 1:
        raise ValueError(f"{name}: the head dim must be contiguous (stride 1), got strides {t.stride()}")


def _check_indptr(name, indptr, first, last_max, last_exact=None):
    host = indptr.cpu()
    if int(host[0]) != first:
        raise ValueError(f"{name}[0] = {int(host[0])}; expected {first}")
    if bool((host[1:] < host[:-1]).any()):
        raise ValueError(f"{name}: not monotone non-decreasing")
    end = int(host[-1])
    if last_exact is not None and end != last_exact:
        raise ValueError(f"{name}[-1] = {end}; expected {last_exact} (the rows of the tensors it splits)")
    if end > last_max:
        raise ValueError(f"{name}[-1] = {end} exceeds the {last_max} entries it indexes")
    return host


# The ranges of the kernel's scalar arguments: the window is an int32, the scales float32.
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1
FLOAT32_TINY, FLOAT32_MAX = 2.0 ** -126, 3.4028234663852886e38  # the normal float32 range


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python


def _is_finite_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _in_float32(value: float) -> bool:
    return FLOAT32_TINY <= value <= FLOAT32_MAX


def _check_scalars(sliding_window_size, sm_scale, logit_cap, max_len_extend, validate) -> None:
    """ValueError, naming the argument, for a scalar the kernel cannot take as given: a bool
    (an int to Python), or a value outside the int32 or float32 the kernel computes with."""
    if not _is_int(sliding_window_size) or not INT32_MIN <= sliding_window_size <= INT32_MAX:
        raise ValueError(f"sliding_window_size: expected an int in [{INT32_MIN}, {INT32_MAX}] "
                         f"(the kernel's int32; <= 0 is no window), got {sliding_window_size!r}")
    # the kernel takes sm_scale * log2(e), and with a cap divides it by logit_cap * log2(e)
    if not _is_finite_number(sm_scale) or not _in_float32(sm_scale * LOG2E):
        raise ValueError(f"sm_scale: expected a positive number that float32 holds (times "
                         f"log2(e), as the kernel takes it), got {sm_scale!r}")
    if not _is_finite_number(logit_cap) or logit_cap < 0 or (logit_cap > 0 and not (
            _in_float32(logit_cap * LOG2E) and _in_float32(sm_scale / logit_cap))):
        raise ValueError(f"logit_cap: expected 0 (no cap) or a positive number that float32 "
                         f"holds, as also sm_scale / logit_cap, got {logit_cap!r}")
    if max_len_extend is not None and (not _is_int(max_len_extend) or max_len_extend < 0):
        raise ValueError(f"max_len_extend: expected an int >= 0, got {max_len_extend!r}")
    if not isinstance(validate, bool):
        raise ValueError(f"validate: expected a bool, got {validate!r}")


def _span(t: torch.Tensor) -> Tuple[int, int]:
    """The addresses [first, end) the elements of ``t`` reach (torch strides are never negative)."""
    last = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()))
    return t.data_ptr(), t.data_ptr() + (last + 1) * t.element_size()


def _overlaps_itself(t: torch.Tensor) -> bool:
    """Whether two elements of ``t`` may share an address: each dimension, by increasing
    stride, must step past all that the smaller ones reach (a stride-0 expansion does not)."""
    reach = 0
    for stride, size in sorted((stride, size) for size, stride in zip(t.shape, t.stride()) if size > 1):
        if stride <= reach:
            return True
        reach += stride * (size - 1)
    return False


def _row_bytes(t: torch.Tensor) -> Optional[int]:
    """The bytes one row of a 3-d ``t`` spans when its heads lie packed (row after row, no
    overlap, as in a fused qkv buffer); None otherwise."""
    if t.dim() != 3 or t.stride(2) != 1 or (t.shape[1] > 1 and t.stride(1) != t.shape[2]):
        return None
    row = t.shape[1] * t.shape[2]
    return row * t.element_size() if t.stride(0) >= row else None


def _share_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` reach a common address. Exact for packed rows a row stride
    apart (slices of one fused buffer); otherwise by the spans they reach, so views that
    interleave in another way count as sharing. No device sync: addresses only."""
    if not a.numel() or not b.numel():
        return False
    (a_first, a_end), (b_first, b_end) = _span(a), _span(b)
    if a_end <= b_first or b_end <= a_first:
        return False
    row_stride = a.stride(0) * a.element_size()
    a_row, b_row = _row_bytes(a), _row_bytes(b)
    if a_row is None or b_row is None or b.stride(0) * b.element_size() != row_stride:
        return True
    if a_first > b_first:
        a, a_first, a_row, b_first, b_row = b, b_first, b_row, a_first, a_row
    # b's first row starts `into_row` bytes into row `rows_apart` of a, and may reach the next
    rows_apart, into_row = divmod(b_first - a_first, row_stride)
    return into_row < a_row or (into_row + b_row > row_stride and rows_apart + 1 < a.shape[0])


def _check_output_memory(o_extend, inputs: Mapping[str, torch.Tensor]) -> None:
    """ValueError, naming o_extend, for an output that shares memory with itself or with an
    input: the kernel would read what it has overwritten, or write one element twice. The one
    exception is o_extend as q_extend itself (the same view): a program reads its query rows
    before it writes the same rows, and no other program reads them."""
    if _overlaps_itself(o_extend):
        raise ValueError(f"o_extend: strides {o_extend.stride()} for shape {tuple(o_extend.shape)} "
                         "make some of its elements share memory; each needs its own")
    q_extend = inputs["q_extend"]
    in_place = o_extend.data_ptr() == q_extend.data_ptr() and o_extend.stride() == q_extend.stride()
    for name, t in inputs.items():
        if not (name == "q_extend" and in_place) and _share_memory(o_extend, t):
            raise ValueError(f"o_extend: shares memory with {name}, which the kernel reads while "
                             "it writes o_extend; pass a separate output (or q_extend itself, "
                             "to write in place)")


def _longest_extend(qo_indptr, n_tokens: int, max_len_extend: Optional[int], validate: bool) -> int:
    """``max_len_extend``, or the longest extend read from ``qo_indptr`` when it is None.

    ValueError where ``max_len_extend`` is shorter than the longest extend (the rows past it
    would be skipped) and that shows without a device sync: always against the mean extend,
    exactly with ``validate`` or where qo_indptr is on the CPU.
    """
    batch = qo_indptr.numel() - 1
    if validate or max_len_extend is None:
        qo_host = _check_indptr("qo_indptr", qo_indptr, 0, n_tokens, last_exact=n_tokens)
    elif qo_indptr.device.type == "cpu":
        qo_host = qo_indptr
    else:
        mean = -(-n_tokens // batch) if batch else 0
        if max_len_extend < mean:
            raise ValueError(f"max_len_extend={max_len_extend} is shorter than the longest extend "
                             f"(at least {mean}: {n_tokens} rows over {batch} sequences)")
        return max_len_extend
    longest = int((qo_host[1:] - qo_host[:-1]).max()) if batch else 0
    if max_len_extend is None:
        return longest
    if max_len_extend < longest:
        raise ValueError(f"max_len_extend={max_len_extend} is shorter than the longest extend ({longest})")
    return max_len_extend


def _program_grid(cfg: LaunchConfig, heads_q: int, batch: int, max_len_extend: int) -> tuple:
    """The grid of a kernel with a program per (head, query block, sequence), in the config's
    order; ValueError, naming the argument, where CUDA's y and z extents cannot hold it."""
    n_blocks = triton.cdiv(max_len_extend, cfg.block_m)
    if n_blocks > MAX_GRID_YZ:
        raise ValueError(f"max_len_extend={max_len_extend}: {n_blocks} query blocks of {cfg.block_m}; "
                         f"the launch grid holds at most {MAX_GRID_YZ}")
    if cfg.grid_order == "heads":
        if batch > MAX_GRID_YZ:
            raise ValueError(f"qo_indptr: {batch} sequences; the launch grid of "
                             f"grid_order='heads' holds at most {MAX_GRID_YZ}")
        return heads_q, n_blocks, batch
    if heads_q > MAX_GRID_YZ:
        raise ValueError(f"q_extend: {heads_q} query heads; the launch grid of "
                         f"grid_order='sequences' holds at most {MAX_GRID_YZ}")
    return batch, heads_q, n_blocks


def _work_item_grid(cfg: LaunchConfig, heads_q: int, gqa_group: int, batch: int,
                    max_len_extend: int, device: torch.device) -> Tuple[tuple, tuple]:
    """The warp-specialized kernel's one-axis grid (a program per item, or per SM with
    ``persistent``) and its work-item arguments: the items' extents (item heads, blocks of
    ``block_m`` rows, sequences) and, with ``dynamic_items``, the item counter, zeroed (None
    without: the kernel then reads none). ValueError, naming the argument, where its int32
    item and row counters cannot hold them."""
    pack = packed_heads(cfg, gqa_group)
    n_blocks = triton.cdiv(max_len_extend * pack, cfg.block_m)
    if n_blocks * cfg.block_m > INT32_MAX:
        raise ValueError(f"max_len_extend={max_len_extend}: {n_blocks} blocks of {cfg.block_m} rows; "
                         f"the kernel counts rows in int32, at most {INT32_MAX}")
    items = heads_q // pack * n_blocks * batch
    programs = min(items, sm_count(device)) if cfg.persistent else items
    # a program's next item steps past the last item by at most the number of programs; the
    # dynamic counter, once per program past the last item
    if items + programs > INT32_MAX:
        raise ValueError(f"qo_indptr: {batch} sequences of up to {n_blocks} blocks of "
                         f"{cfg.block_m} rows for {heads_q // pack} item heads are {items} "
                         f"work items; the kernel counts at most {INT32_MAX - programs}")
    item_counter = _item_counter(device) if cfg.dynamic_items else None
    return (programs,), (heads_q // pack, n_blocks, batch, item_counter)


# The dynamic schedule's counters per (device, stream): [the next item, the programs done],
# zeroed once here and again by the last program of every launch (extend_attention_ws.py), so
# that a call launches no fill kernel. Launches on one stream run one after another; each stream
# has its own pair. (A CUDA graph captured on one stream and replayed on another alongside a
# launch on the first would share the pair: not supported.)
_ITEM_COUNTERS: Dict[Tuple[int, int], torch.Tensor] = {}


def _item_counter(device: torch.device) -> torch.Tensor:
    if device.type != "cuda":  # a launch recorded in the tests, not run
        return torch.zeros(2, dtype=torch.int32, device=device)
    key = (device.index if device.index is not None else torch.cuda.current_device(),
           torch.cuda.current_stream(device).cuda_stream)
    counter = _ITEM_COUNTERS.get(key)
    if counter is None:
        counter = _ITEM_COUNTERS[key] = torch.zeros(2, dtype=torch.int32, device=device)
    return counter


def extend_attention_fwd(q_extend, k_extend, v_extend, o_extend, k_buffer, v_buffer,
                         qo_indptr, kv_indptr, kv_indices, *,
                         sliding_window_size=-1, sm_scale=None, logit_cap=0.0,
                         max_len_extend=None, config="default", validate=True) -> None:
    """Write extend attention into ``o_extend``; see the module docstring for the semantics.

    Shapes: q/o ``[E, H_Q, D]``; k/v_extend ``[E, H_KV, D]``; k/v_buffer ``[T, H_KV, D]``;
    qo_indptr, kv_indptr ``[B+1]``; kv_indices ``[kv_indptr[-1]]`` rows of the pool. All on
    one CUDA device, or on the CPU in fp16 under Triton's interpreter. ``o_extend`` shares no
    memory with the inputs, except that it may be ``q_extend`` itself (in place).

    ``max_len_extend``: the longest extend, ``max(qo_indptr[i+1] - qo_indptr[i])``; None reads
    it from qo_indptr (a device sync). The launch covers that many query rows per sequence, so
    a smaller value leaves the rows past it unwritten. ``validate`` checks it; with
    ``validate=False`` it is checked only where no sync is needed: against the mean extend,
    and exactly where qo_indptr is on the CPU.

    ``validate=False`` skips only the checks that read tensor contents on the device (a sync).
    """
    _check_tensor("q_extend", q_extend, 3, SUPPORTED_DTYPES, getattr(q_extend, "device", None))
    device, dtype = q_extend.device, q_extend.dtype
    arch = launch_arch(device)
    if RUNS_IN_INTERPRETER and dtype not in INTERPRETER_DTYPES:
        raise ValueError(f"q_extend: dtype {dtype} under Triton's interpreter, which computes with "
                         "NumPy: it has no bfloat16 and would answer garbage; use float16 or a GPU")
    inputs = {"q_extend": q_extend, "k_extend": k_extend, "v_extend": v_extend,
              "k_buffer": k_buffer, "v_buffer": v_buffer, "qo_indptr": qo_indptr,
              "kv_indptr": kv_indptr, "kv_indices": kv_indices}
    for name in ("k_extend", "v_extend", "k_buffer", "v_buffer"):
        _check_tensor(name, inputs[name], 3, (dtype,), device)
    _check_tensor("o_extend", o_extend, 3, (dtype,), device)
    for name in ("qo_indptr", "kv_indptr", "kv_indices"):
        _check_tensor(name, inputs[name], 1, INDEX_DTYPES, device)

    n_tokens, heads_q, head_dim = q_extend.shape
    heads_kv = k_extend.shape[1]
    if head_dim not in SUPPORTED_HEAD_DIMS:
        raise ValueError(f"q_extend: head dim {head_dim} not supported; expected one of {SUPPORTED_HEAD_DIMS}")
    if heads_kv < 1 or heads_q % heads_kv:
        raise ValueError(f"k_extend: {heads_kv} KV heads do not divide the {heads_q} query heads")
    expected = {"k_extend": (n_tokens, heads_kv, head_dim), "v_extend": (n_tokens, heads_kv, head_dim),
                "o_extend": (n_tokens, heads_q, head_dim)}
    for name, t in (("k_extend", k_extend), ("v_extend", v_extend), ("o_extend", o_extend)):
        if tuple(t.shape) != expected[name]:
            raise ValueError(f"{name}: shape {tuple(t.shape)}; expected {expected[name]}")
    if k_buffer.shape[1:] != (heads_kv, head_dim):
        raise ValueError(f"k_buffer: shape {tuple(k_buffer.shape)}; expected (T, {heads_kv}, {head_dim})")
    if tuple(v_buffer.shape) != tuple(k_buffer.shape):
        raise ValueError(f"v_buffer: shape {tuple(v_buffer.shape)}; expected {tuple(k_buffer.shape)} like k_buffer")
    if qo_indptr.numel() < 1:
        raise ValueError("qo_indptr: needs B+1 >= 1 entries")
    if kv_indptr.numel() != qo_indptr.numel():
        raise ValueError(f"kv_indptr: {kv_indptr.numel()} entries, but qo_indptr has {qo_indptr.numel()} (both B+1)")
    _check_output_memory(o_extend, inputs)
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(head_dim)
    _check_scalars(sliding_window_size, sm_scale, logit_cap, max_len_extend, validate)
    batch = qo_indptr.numel() - 1
    max_len_extend = _longest_extend(qo_indptr, n_tokens, max_len_extend, validate)
    if validate:
        _check_indptr("kv_indptr", kv_indptr, 0, kv_indices.numel())
        if kv_indices.numel():
            lo, hi = int(kv_indices.min()), int(kv_indices.max())
            if lo < 0 or hi >= k_buffer.shape[0]:
                raise ValueError(f"kv_indices: rows [{lo}, {hi}] fall outside the pool of {k_buffer.shape[0]} rows")
    cfg = resolve_config(config, head_dim, shape_class(sliding_window_size, max_len_extend), arch=arch)
    check_work_items(cfg)
    if (cfg.num_warps == 12 or cfg.block_m == 192) and not cfg.warp_specialize \
            and not cfg.overlap_softmax:
        raise ValueError(f"config.num_warps={cfg.num_warps}, config.block_m={cfg.block_m}: only "
                         "warp_specialize runs 12 warps of 192 query rows (three consumer "
                         "warpgroups); Triton's kernels take powers of two")
    if cfg.warp_specialize or cfg.overlap_softmax:
        if cfg.warp_specialize:
            knob = "warp_specialize"
            check_warp_specialize(cfg, head_dim, q_extend.element_size())
        else:
            knob = "overlap_softmax"
            check_overlap_softmax(cfg, head_dim, q_extend.element_size())
        reason = gluon_unavailable(arch)
        if reason is not None:
            raise ValueError(f"config.{knob}=True: {reason}; q_extend is on {device}")
    if batch == 0 or n_tokens == 0 or max_len_extend == 0:
        return
    if cfg.warp_specialize:
        descriptors = extend_descriptors(k_extend, v_extend, cfg.block_n) if cfg.tma_extend else None
        if descriptors is None:
            # extend tiles copied row by row, as prefix tiles are
            cfg = dataclasses.replace(cfg, tma_extend=False)
        grid, work_items = _work_item_grid(cfg, heads_q, heads_q // heads_kv, batch, max_len_extend,
                                           device)
        work_items += descriptors or (None, None)
    else:
        grid, work_items = _program_grid(cfg, heads_q, batch, max_len_extend), ()
    kernel_for(cfg)[grid](
        q_extend, k_extend, v_extend, o_extend, k_buffer, v_buffer,
        qo_indptr, kv_indptr, kv_indices,
        float(sm_scale) * LOG2E, float(logit_cap), sliding_window_size,
        q_extend.stride(0), q_extend.stride(1), k_extend.stride(0), k_extend.stride(1),
        v_extend.stride(0), v_extend.stride(1), o_extend.stride(0), o_extend.stride(1),
        k_buffer.stride(0), k_buffer.stride(1), v_buffer.stride(0), v_buffer.stride(1),
        *work_items,
        **kernel_constexprs(cfg, gqa_group=heads_q // heads_kv, head_dim=head_dim,
                            use_window=sliding_window_size > 0, use_logit_cap=logit_cap > 0,
                            shared_offsets=shared_kv_offsets(k_extend, v_extend, k_buffer,
                                                             v_buffer)),
        **launch_options(cfg),
    )
