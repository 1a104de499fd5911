"""Extend attention for Hopper (sm_90) in Gluon: the softmax overlaps the tensor cores.

The same semantics as ``extend_attention._extend_attention_kernel`` (see that module), in an
explicitly scheduled loop that Triton's compiler does not build from the ``tl`` kernel:
iteration ``t`` issues the scores of key tile ``t + 1`` (Q·Kᵀ) and the output update of
tile ``t`` (P·V) as asynchronous warpgroup MMAs, waits only for the scores, and computes
tile ``t + 1``'s softmax while the tensor cores still work on P·V (FlashAttention-3's
intra-warpgroup overlap). In the ``tl`` kernel every softmax waits for every MMA.

K/V tiles are gathered row by row (prefix rows through ``kv_indices``) with ``cp.async``
into a ring of ``NUM_STAGES`` shared-memory stages; with ``PREFETCH_INDICES`` each prefix
tile's pool rows are loaded one iteration before its gather is issued, so the gather does
not wait on the index load.

Measured on the H100 (docs/MEASUREMENTS.md, step 7): on the ``tl`` kernel's blocks this one
is 4–7% slower at n_ctx 8192 and faster only at short extends, where the register-capped
``tl`` row is faster still; ``default`` does not use it. It runs only on an sm_90 GPU, with
the Gluon API of Triton 3.6 (``GLUON_TRITON_RELEASES`` in extend_attention.py), and is not
covered by Triton's interpreter.
"""

from __future__ import annotations

from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (async_copy, fence_async_shared,
                                                               warpgroup_mma, warpgroup_mma_wait)

from .online_softmax import online_softmax, soft_cap


@gluon.constexpr_function
def row_copy_layout(head_dim, num_warps):
    """The layout of a [rows, head_dim] tile copied between global and shared memory:
    16-byte vectors (8 elements) along the head dim, a warp's lanes across it."""
    vec = 8
    lanes_d = min(head_dim // vec, 32)
    return gl.BlockedLayout([1, vec], [32 // lanes_d, lanes_d], [num_warps, 1], [1, 0])


@gluon.jit
def _sequence_extent(qo_indptr, kv_indptr, seq, INDEX_CACHE: gl.constexpr):
    """Sequence ``seq``'s rows: (qo_start, len_extend, kv_start, len_prefix); lengths in int32
    (shared-memory stage indices must be), row offsets in int64."""
    qo_start = gl.load(qo_indptr + seq, cache_modifier=INDEX_CACHE).to(gl.int64)
    len_extend = (gl.load(qo_indptr + seq + 1, cache_modifier=INDEX_CACHE).to(gl.int64)
                  - qo_start).to(gl.int32)
    kv_start = gl.load(kv_indptr + seq, cache_modifier=INDEX_CACHE).to(gl.int64)
    len_prefix = (gl.load(kv_indptr + seq + 1, cache_modifier=INDEX_CACHE).to(gl.int64)
                  - kv_start).to(gl.int32)
    return qo_start, len_extend, kv_start, len_prefix


@gluon.jit
def _program_sequence(qo_indptr, kv_indptr, GQA_GROUP: gl.constexpr, INDEX_CACHE: gl.constexpr,
                      HEADS_FIRST: gl.constexpr):
    """The program's head, query block and sequence: (head, block, kv_head, qo_start,
    len_extend, kv_start, len_prefix)."""
    if HEADS_FIRST:
        head, block, seq = gl.program_id(0), gl.program_id(1), gl.program_id(2)
    else:
        seq, head, block = gl.program_id(0), gl.program_id(1), gl.program_id(2)
    qo_start, len_extend, kv_start, len_prefix = _sequence_extent(qo_indptr, kv_indptr, seq,
                                                                  INDEX_CACHE)
    return head, block, head // GQA_GROUP, qo_start, len_extend, kv_start, len_prefix


@gluon.jit
def _key_stream(block, len_prefix, len_extend, sliding_window, BLOCK_M: gl.constexpr,
                BLOCK_N: gl.constexpr, USE_WINDOW: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """The block's keys, from the first key its first query sees (any, without a window) to its
    last query (causal), in tiles of ``BLOCK_N``: (stream, n_tiles).

    Two streams: the prefix's keys [prefix_lo, len_prefix), then the extend's [extend_lo,
    extend_hi), each in tiles from its start, so that an item pays for two partial tiles (the
    prefix's last and its diagonal); ``stream`` is (prefix_lo, n_prefix_tiles, extend_lo,
    extend_hi). With ``ONE_KEY_STREAM``, one: the keys as positions in the sequence (the
    extend's key ``p`` at ``len_prefix + p``), [key_lo, key_hi), in tiles from key_lo, the one
    at the prefix's end holding both kinds of key, so that an item pays for one partial tile;
    ``stream`` is (key_lo, key_hi)."""
    extend_hi = gl.minimum((block + 1) * BLOCK_M, len_extend)
    if USE_WINDOW:
        first_key = gl.maximum(len_prefix + block * BLOCK_M - sliding_window, 0)
    else:
        first_key = 0
    if ONE_KEY_STREAM:
        key_hi = len_prefix + extend_hi
        stream = (first_key, key_hi)
        n_tiles = gl.cdiv(key_hi - first_key, BLOCK_N)
    else:
        if USE_WINDOW:
            prefix_lo = gl.minimum(first_key, len_prefix)
            extend_lo = gl.maximum(first_key - len_prefix, 0)
        else:
            prefix_lo = 0
            extend_lo = 0
        n_prefix_tiles = gl.cdiv(len_prefix - prefix_lo, BLOCK_N)
        stream = (prefix_lo, n_prefix_tiles, extend_lo, extend_hi)
        n_tiles = n_prefix_tiles + gl.cdiv(extend_hi - extend_lo, BLOCK_N)
    return stream, n_tiles


@gluon.jit
def _tile_keys(t, stream, BLOCK_N: gl.constexpr):
    """Tile ``t`` of two streams (``_key_stream``'s): (its first key in the prefix or the
    extend, is it a prefix tile)."""
    prefix_lo, n_prefix_tiles, extend_lo, _ = stream
    is_prefix = t < n_prefix_tiles
    start = gl.where(is_prefix, prefix_lo + t * BLOCK_N, extend_lo + (t - n_prefix_tiles) * BLOCK_N)
    return start, is_prefix


@gluon.jit
def _tile_position(t, stream, len_prefix, BLOCK_N: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """The position in the sequence of tile ``t``'s first key."""
    if ONE_KEY_STREAM:
        position = stream[0] + t * BLOCK_N
    else:
        start, is_prefix = _tile_keys(t, stream, BLOCK_N)
        position = gl.where(is_prefix, start, len_prefix + start)
    return position


@gluon.jit
def _load_pool_rows(kv_indices, kv_start, t, n_tiles, stream, len_prefix, key_offs,
                    BLOCK_N: gl.constexpr, INDEX_CACHE: gl.constexpr,
                    ONE_KEY_STREAM: gl.constexpr):
    """The pool rows of tile ``t``'s prefix keys ``key_offs`` (zeros for extend keys and past
    the stream)."""
    if ONE_KEY_STREAM:
        keys = stream[0] + t * BLOCK_N + key_offs
        in_prefix = (keys < len_prefix) & (t < n_tiles)
    else:
        prefix_lo, n_prefix_tiles, _, _ = stream
        keys = prefix_lo + t * BLOCK_N + key_offs
        in_prefix = (keys < len_prefix) & (t < n_prefix_tiles)
    return gl.load(kv_indices + kv_start + keys, mask=in_prefix, other=0,
                   cache_modifier=INDEX_CACHE).to(gl.int64)


@gluon.jit
def _row_offsets(rows, kv_head, stride_t, stride_h, offs_d):
    """The int32 element offsets of ``rows`` (int32) at KV head ``kv_head``, every column of
    ``offs_d``: one multiply-add a row, shared by K and V where their strides are the same."""
    return (rows * stride_t + kv_head * stride_h)[:, None] + offs_d[None, :]


@gluon.jit
def _issue_tile(k_stage, v_stage, t, pool_rows, n_tiles, stream, len_prefix, K_buf, V_buf, K_ext,
                V_ext, qo_start, kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
                stride_kt, stride_kh, stride_vt, stride_vh, key_offs, offs_d,
                BLOCK_N: gl.constexpr, PREFIX_KV_CACHE: gl.constexpr,
                EXTEND_KV_CACHE: gl.constexpr, ONE_KEY_STREAM: gl.constexpr,
                SHARED_KV_OFFSETS: gl.constexpr = False):
    """Start copying the K and V rows ``key_offs`` of tile ``t`` of ``stream``
    (``_key_stream``'s) into one stage, as one cp.async group.

    Tiles past the stream (``t >= n_tiles``) copy nothing but still commit a group, so that
    the group count the waits rely on stays one per tile. A tile of prefix keys alone, or of
    extend keys alone, copies from one tensor; one stream's tile at the prefix's end picks
    each row's tensor, with the prefix's cache modifier. With ``SHARED_KV_OFFSETS`` (the
    launcher's ``shared_kv_offsets``: K and V alike, pools and extends, and every element
    offset within 32 bits) a row's offset is computed once, in 32 bits, for both copies,
    instead of a 64-bit product per tensor.
    """
    if ONE_KEY_STREAM:
        key_lo, key_hi = stream
        start = key_lo + t * BLOCK_N
        keys = start + key_offs  # positions
        in_range = (keys < key_hi) & (t < n_tiles)
        if start + BLOCK_N <= len_prefix:
            k_ptrs, v_ptrs = _row_pointers(K_buf, V_buf, pool_rows, kv_head, stride_kbt,
                                           stride_kbh, stride_vbt, stride_vbh, offs_d,
                                           SHARED_KV_OFFSETS)
            _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, PREFIX_KV_CACHE)
        elif start >= len_prefix:
            k_ptrs, v_ptrs = _row_pointers(K_ext, V_ext, qo_start + (keys - len_prefix), kv_head,
                                           stride_kt, stride_kh, stride_vt, stride_vh, offs_d,
                                           SHARED_KV_OFFSETS)
            _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, EXTEND_KV_CACHE)
        else:
            is_prefix = keys < len_prefix
            if SHARED_KV_OFFSETS:
                # one offset a row, and each row's tensor: as few registers as the other
                # tiles take (two sets of pointers spilled the producer)
                rows = gl.where(is_prefix, pool_rows, qo_start + (keys - len_prefix)).to(gl.int32)
                offsets = _row_offsets(rows, kv_head, stride_kbt, stride_kbh, offs_d)
                k_ptrs = gl.where(is_prefix, K_buf, K_ext)[:, None] + offsets
                v_ptrs = gl.where(is_prefix, V_buf, V_ext)[:, None] + offsets
            else:
                k_pool, v_pool = _row_pointers(K_buf, V_buf, pool_rows, kv_head, stride_kbt,
                                               stride_kbh, stride_vbt, stride_vbh, offs_d, False)
                k_new, v_new = _row_pointers(K_ext, V_ext, qo_start + (keys - len_prefix),
                                             kv_head, stride_kt, stride_kh, stride_vt, stride_vh,
                                             offs_d, False)
                k_ptrs = gl.where(is_prefix[:, None], k_pool, k_new)
                v_ptrs = gl.where(is_prefix[:, None], v_pool, v_new)
            _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, PREFIX_KV_CACHE)
    else:
        start, is_prefix = _tile_keys(t, stream, BLOCK_N)
        keys = start + key_offs
        if is_prefix:
            in_range = (keys < len_prefix) & (t < n_tiles)
            k_ptrs, v_ptrs = _row_pointers(K_buf, V_buf, pool_rows, kv_head, stride_kbt,
                                           stride_kbh, stride_vbt, stride_vbh, offs_d,
                                           SHARED_KV_OFFSETS)
            _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, PREFIX_KV_CACHE)
        else:
            in_range = (keys < stream[3]) & (t < n_tiles)
            k_ptrs, v_ptrs = _row_pointers(K_ext, V_ext, qo_start + keys, kv_head, stride_kt,
                                           stride_kh, stride_vt, stride_vh, offs_d,
                                           SHARED_KV_OFFSETS)
            _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, EXTEND_KV_CACHE)
    async_copy.commit_group()


@gluon.jit
def _copy_rows(k_stage, v_stage, k_ptrs, v_ptrs, in_range, CACHE: gl.constexpr):
    """cp.async of the rows ``in_range`` of K and V into their stages (the others zeroed)."""
    async_copy.async_copy_global_to_shared(k_stage, k_ptrs, mask=in_range[:, None],
                                           cache_modifier=CACHE)
    async_copy.async_copy_global_to_shared(v_stage, v_ptrs, mask=in_range[:, None],
                                           cache_modifier=CACHE)


@gluon.jit
def _row_pointers(K, V, rows, kv_head, stride_kt, stride_kh, stride_vt, stride_vh, offs_d,
                  SHARED_KV_OFFSETS: gl.constexpr):
    """The pointers to every element of ``rows`` (int64) of ``K`` and ``V`` at ``kv_head``."""
    if SHARED_KV_OFFSETS:
        offsets = _row_offsets(rows.to(gl.int32), kv_head, stride_kt, stride_kh, offs_d)
        return K + offsets, V + offsets
    rows = rows.to(gl.int64)
    return (K + rows[:, None] * stride_kt + kv_head * stride_kh + offs_d[None, :],
            V + rows[:, None] * stride_vt + kv_head * stride_vh + offs_d[None, :])


@gluon.jit
def _softmax_tile(s, m_i, l_i, t, stream, len_prefix, key_end, q_pos, score_cols,
                  block_first_pos, block_last_pos, qk_scale, logit_cap, sliding_window,
                  BLOCK_N: gl.constexpr, USE_WINDOW: gl.constexpr, USE_LOGIT_CAP: gl.constexpr,
                  ONE_KEY_STREAM: gl.constexpr):
    """Tile ``t``'s softmax step (tile ``t`` of ``stream``, ``_key_stream``'s; the sequence's
    keys end at ``key_end``); only tiles that reach past their keys' end or the block's
    diagonal (the block's rows at positions ``block_first_pos`` to ``block_last_pos``), or,
    with a window, before the window of the block's last row, pay for the mask.

    Each branch runs the whole step: ptxas moves the wait for the P·V MMA up to the top of
    the basic block it sits in, above any softmax there, so the softmax must end in the
    blocks before it for the two to overlap (pinned in tests/test_codegen.py).
    """
    # the position of the tile's first key, and the end of the keys it may see
    key_pos = _tile_position(t, stream, len_prefix, BLOCK_N, ONE_KEY_STREAM)
    if ONE_KEY_STREAM:
        tile_end = key_end
    else:
        tile_end = gl.where(t < stream[1], len_prefix, key_end)
    if USE_LOGIT_CAP:
        s = soft_cap(s, qk_scale, logit_cap)
    needs_mask = (key_pos + BLOCK_N > tile_end) | (key_pos + BLOCK_N - 1 > block_first_pos)
    if USE_WINDOW:
        # the tile's first key must be inside every row's window, the last row's included
        needs_mask = needs_mask | (block_last_pos - key_pos > sliding_window)
    if needs_mask:
        # A row sees the keys from its window's first (else any) to itself, before the
        # tile's keys end: two bounds a row, in the tile's columns, so that each score pays two
        # compares against per-row values (a row that sees none has first > last).
        if ONE_KEY_STREAM:
            # not min(q_pos, end) - key_pos: with one stream that min is the same for every
            # tile, and held across the loop it spilled head dim 128's long row
            last = gl.minimum(q_pos - key_pos, tile_end - 1 - key_pos)
        else:
            last = gl.minimum(q_pos, tile_end - 1) - key_pos
        visible = score_cols[None, :] <= last[:, None]
        if USE_WINDOW:
            # a window past the sequence's length is none for every row that is stored (rows
            # past the extend are not); capped so that the bound stays within int32 for any
            # window the launcher accepts
            window = gl.minimum(sliding_window, key_end)
            first = (q_pos - key_pos) - window
            visible &= score_cols[None, :] >= first[:, None]
        p, alpha, m_new = online_softmax(gl.where(visible, s, float("-inf")), m_i, qk_scale,
                                         USE_LOGIT_CAP)
        l_new = _fold_lane_sums(l_i, alpha, p)
    else:
        p, alpha, m_new = online_softmax(s, m_i, qk_scale, USE_LOGIT_CAP)
        l_new = _fold_lane_sums(l_i, alpha, p)
    return p, alpha, m_new, l_new


# The running sums stay split by lane until the item's end, as FlashAttention-3 keeps them: the
# MMA accumulator gives each row's columns to a quad of 4 lanes (2 adjacent columns in every
# 8), so a tile's sum needs only the thread's own registers; the quad's shuffles are paid once
# an item (_normalized), not per tile.
@gluon.jit
def _lane_sums(p):
    """[rows, 4]: each row's sum over the columns each lane of its quad holds."""
    quads = gl.reshape(p, [p.shape[0], p.shape[1] // 8, 4, 2])
    return gl.sum(gl.sum(quads, 3), 1)


@gluon.jit
def _zero_lane_sums(ROWS: gl.constexpr, COLS: gl.constexpr, layout: gl.constexpr):
    """Running per-lane sums (``_lane_sums``) of [ROWS, COLS] score tiles in ``layout``, zeroed."""
    return gl.zeros_like(_lane_sums(gl.zeros([ROWS, COLS], gl.float32, layout)))


@gluon.jit
def _fold_lane_sums(l_lanes, alpha, p):
    """The running per-lane sums ``l_lanes`` rescaled by ``alpha`` plus tile P's."""
    row_layout: gl.constexpr = gl.SliceLayout(1, l_lanes.type.layout)
    return l_lanes * gl.convert_layout(alpha, row_layout)[:, None] + _lane_sums(p)


@gluon.jit
def _normalized(acc, l_lanes):
    """The output rows ``acc`` over their softmax sums (per-lane sums ``l_lanes``): one division
    a row, then a multiply an element. Dividing each element compiled to the full-range fp32
    division, a reciprocal with a scaling test and select around it for each of a thread's 64
    elements at head dim 128 (ncu at 8192/W127, session 19: a third of a consumer's samples
    after its last P·V)."""
    row_layout: gl.constexpr = gl.SliceLayout(1, acc.type.layout)
    inverse = 1.0 / gl.convert_layout(gl.sum(l_lanes, 1), row_layout)
    return acc * inverse[:, None]


@gluon.jit
def _extend_attention_hopper_kernel(
    Q, K_ext, V_ext, O, K_buf, V_buf,
    qo_indptr, kv_indptr, kv_indices,
    sm_scale_log2, logit_cap, sliding_window,
    stride_qt, stride_qh, stride_kt, stride_kh, stride_vt, stride_vh,
    stride_ot, stride_oh, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
    GQA_GROUP: gl.constexpr,
    HEAD_DIM: gl.constexpr,
    BLOCK_M: gl.constexpr,
    BLOCK_N: gl.constexpr,
    NUM_STAGES: gl.constexpr,
    USE_WINDOW: gl.constexpr,
    USE_LOGIT_CAP: gl.constexpr,
    PREFIX_KV_CACHE: gl.constexpr,
    EXTEND_KV_CACHE: gl.constexpr,
    Q_CACHE: gl.constexpr,
    INDEX_CACHE: gl.constexpr,
    HEADS_FIRST: gl.constexpr,
    PREFETCH_INDICES: gl.constexpr,
):
    num_warps: gl.constexpr = gl.num_warps()
    gl.static_assert(BLOCK_M == 16 * num_warps, "one 16-row MMA slice per warp")
    gl.static_assert(NUM_STAGES >= 3, "tile t + 1 must have landed while tile t + 2 loads")
    dtype: gl.constexpr = Q.dtype.element_ty
    # Scores [BLOCK_M, BLOCK_N] and output [BLOCK_M, HEAD_DIM] live in warpgroup-MMA
    # accumulators; P feeds the P·V MMA from registers.
    s_layout: gl.constexpr = gl.NVMMADistributedLayout(
        version=[3, 0], warps_per_cta=[num_warps, 1], instr_shape=[16, BLOCK_N, 16])
    o_layout: gl.constexpr = gl.NVMMADistributedLayout(
        version=[3, 0], warps_per_cta=[num_warps, 1], instr_shape=[16, HEAD_DIM, 16])
    p_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=o_layout, k_width=2)
    copy_layout: gl.constexpr = row_copy_layout(HEAD_DIM, num_warps)
    q_smem_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_M, HEAD_DIM], dtype)
    kv_smem_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BLOCK_N, HEAD_DIM], dtype)

    head, block, kv_head, qo_start, len_extend, kv_start, len_prefix = _program_sequence(
        qo_indptr, kv_indptr, GQA_GROUP, INDEX_CACHE, HEADS_FIRST)
    if block * BLOCK_M >= len_extend:
        return

    # two streams: this kernel is measured as it was (docs/MEASUREMENTS.md, step 7)
    ONE_KEY_STREAM: gl.constexpr = False
    stream, n_tiles = _key_stream(block, len_prefix, len_extend, sliding_window, BLOCK_M, BLOCK_N,
                                  USE_WINDOW, ONE_KEY_STREAM)
    key_end = len_prefix + len_extend

    q_smem = gl.allocate_shared_memory(dtype, [BLOCK_M, HEAD_DIM], q_smem_layout)
    k_smem = gl.allocate_shared_memory(dtype, [NUM_STAGES, BLOCK_N, HEAD_DIM], kv_smem_layout)
    v_smem = gl.allocate_shared_memory(dtype, [NUM_STAGES, BLOCK_N, HEAD_DIM], kv_smem_layout)

    offs_d = gl.arange(0, HEAD_DIM, layout=gl.SliceLayout(0, copy_layout))
    key_offs = gl.arange(0, BLOCK_N, layout=gl.SliceLayout(1, copy_layout))
    q_rows = block * BLOCK_M + gl.arange(0, BLOCK_M, layout=gl.SliceLayout(1, copy_layout))
    q_ptrs = Q + (qo_start + q_rows)[:, None] * stride_qt + head * stride_qh + offs_d[None, :]
    # Q and tile 0 share the first group.
    async_copy.async_copy_global_to_shared(q_smem, q_ptrs, mask=(q_rows < len_extend)[:, None],
                                           cache_modifier=Q_CACHE)
    for t in gl.static_range(NUM_STAGES - 1):
        pool_rows = _load_pool_rows(kv_indices, kv_start, t, n_tiles, stream, len_prefix, key_offs,
                                    BLOCK_N, INDEX_CACHE, ONE_KEY_STREAM)
        _issue_tile(k_smem.index(t), v_smem.index(t), t, pool_rows, n_tiles, stream, len_prefix,
                    K_buf, V_buf, K_ext, V_ext, qo_start, kv_head, stride_kbt,
                    stride_kbh, stride_vbt, stride_vbh, stride_kt, stride_kh, stride_vt,
                    stride_vh, key_offs, offs_d, BLOCK_N, PREFIX_KV_CACHE, EXTEND_KV_CACHE,
                    ONE_KEY_STREAM)
    if PREFETCH_INDICES:
        next_pool_rows = _load_pool_rows(kv_indices, kv_start, NUM_STAGES - 1, n_tiles, stream,
                                         len_prefix, key_offs, BLOCK_N, INDEX_CACHE,
                                         ONE_KEY_STREAM)

    score_cols = gl.arange(0, BLOCK_N, layout=gl.SliceLayout(0, s_layout))
    q_pos = len_prefix + block * BLOCK_M + gl.arange(0, BLOCK_M, layout=gl.SliceLayout(1, s_layout))
    block_first_pos = len_prefix + block * BLOCK_M
    block_last_pos = block_first_pos + BLOCK_M - 1

    # Tile 0's scores, synchronously: nothing to overlap them with yet.
    async_copy.wait_group(NUM_STAGES - 2)
    gl.thread_barrier()
    fence_async_shared()
    # Q moves to registers once, so that Q·Kᵀ reads only K from shared memory (with both
    # operands there it streams 32 KiB of Q per tile; measured 0-2% faster, step 7).
    q = q_smem.load(gl.DotOperandLayout(operand_index=0, parent=s_layout, k_width=2))
    s = warpgroup_mma(q, k_smem.index(0).permute((1, 0)),
                      gl.zeros([BLOCK_M, BLOCK_N], gl.float32, s_layout), use_acc=False)
    # finite start so that a row masked across a whole tile gives exp2(-inf - m) = 0, not NaN
    m_i = gl.full([BLOCK_M], -1.0e30, gl.float32, layout=gl.SliceLayout(1, s_layout))
    l_i = _zero_lane_sums(BLOCK_M, BLOCK_N, s_layout)
    p, alpha, m_i, l_i = _softmax_tile(s, m_i, l_i, 0, stream, len_prefix, key_end, q_pos,
                                       score_cols, block_first_pos, block_last_pos, sm_scale_log2,
                                       logit_cap, sliding_window, BLOCK_N, USE_WINDOW,
                                       USE_LOGIT_CAP, ONE_KEY_STREAM)
    acc = gl.zeros([BLOCK_M, HEAD_DIM], gl.float32, o_layout)

    for t in range(0, n_tiles - 1):
        # Tile t + 1 has landed (every thread's copies: the barrier), and both warpgroups are
        # done with tile t - 1, whose stage the copy issued below overwrites.
        async_copy.wait_group(NUM_STAGES - 3)
        gl.thread_barrier()
        s_token = warpgroup_mma(q, k_smem.index((t + 1) % NUM_STAGES).permute((1, 0)),
                                gl.zeros([BLOCK_M, BLOCK_N], gl.float32, s_layout),
                                use_acc=False, is_async=True)
        p_op = gl.convert_layout(p.to(dtype), p_layout)
        acc_token = warpgroup_mma(p_op, v_smem.index(t % NUM_STAGES), acc, is_async=True)
        # The copies for tile t + NUM_STAGES - 1 are issued while the MMAs run.
        ahead = t + NUM_STAGES - 1
        if PREFETCH_INDICES:
            pool_rows = next_pool_rows
            next_pool_rows = _load_pool_rows(kv_indices, kv_start, ahead + 1, n_tiles, stream,
                                             len_prefix, key_offs, BLOCK_N, INDEX_CACHE,
                                             ONE_KEY_STREAM)
        else:
            pool_rows = _load_pool_rows(kv_indices, kv_start, ahead, n_tiles, stream, len_prefix,
                                        key_offs, BLOCK_N, INDEX_CACHE, ONE_KEY_STREAM)
        _issue_tile(k_smem.index(ahead % NUM_STAGES), v_smem.index(ahead % NUM_STAGES), ahead,
                    pool_rows, n_tiles, stream, len_prefix, K_buf, V_buf, K_ext, V_ext,
                    qo_start, kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
                    stride_kt, stride_kh, stride_vt, stride_vh, key_offs, offs_d, BLOCK_N,
                    PREFIX_KV_CACHE, EXTEND_KV_CACHE, ONE_KEY_STREAM)
        # the scores of tile t + 1 are done; P·V of tile t may still run
        s = warpgroup_mma_wait(num_outstanding=1, deps=(s_token, ))
        p, alpha, m_i, l_i = _softmax_tile(s, m_i, l_i, t + 1, stream, len_prefix, key_end,
                                           q_pos, score_cols, block_first_pos, block_last_pos,
                                           sm_scale_log2, logit_cap, sliding_window, BLOCK_N,
                                           USE_WINDOW, USE_LOGIT_CAP, ONE_KEY_STREAM)
        acc, p_op = warpgroup_mma_wait(num_outstanding=0, deps=(acc_token, p_op))
        acc = acc * gl.convert_layout(alpha, gl.SliceLayout(1, o_layout))[:, None]

    async_copy.wait_group(0)
    last = n_tiles - 1
    p_op = gl.convert_layout(p.to(dtype), p_layout)
    acc = warpgroup_mma(p_op, v_smem.index(last % NUM_STAGES), acc)

    out = _normalized(acc, l_i)
    o_rows = block * BLOCK_M + gl.arange(0, BLOCK_M, layout=gl.SliceLayout(1, o_layout))
    o_cols = gl.arange(0, HEAD_DIM, layout=gl.SliceLayout(0, o_layout))
    o_ptrs = O + (qo_start + o_rows)[:, None] * stride_ot + head * stride_oh + o_cols[None, :]
    gl.store(o_ptrs, out.to(dtype), mask=(o_rows < len_extend)[:, None])
