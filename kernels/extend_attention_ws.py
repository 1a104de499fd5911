"""Extend attention for Hopper (sm_90) in Gluon, warp-specialized: loads and math in separate warps.

The same semantics as ``extend_attention._extend_attention_kernel`` (see that module). A work
item is ``BLOCK_M = 128`` query rows (of one head, or of a KV head's packed query heads: below),
split between two consumer warpgroups of 64 rows, and one producer warpgroup serves both
(FlashAttention-3's division of labour); with ``BLOCK_M = 192``, three consumers (FA3's split at
head dim 64, where a consumer's MMAs per score are half head dim 128's; measured faster at head
dim 128's short extends too, on 64-key tiles, and since step 30 at its long ones), each with
fewer registers:

- the producer gathers each K/V tile (prefix rows through ``kv_indices``) with ``cp.async``
  into a ring of ``NUM_STAGES`` shared-memory stages and arrives on the stage's ``ready``
  mbarrier as its copies land (``cp.async.mbarrier.arrive``);
- each consumer keeps its 64 query rows in shared memory, waits for a stage, and per tile
  issues one burst of tensor-core work, tile t's scores (Q·Kᵀ) together with tile t - 1's
  P·V, runs tile t's softmax and frees tile t - 1's stage (``free`` counts both consumers).
  With ``OVERLAP_PV`` (LaunchConfig.overlap_pv) it waits for the scores alone and runs the
  softmax while P·V still runs (FlashAttention-3's intra-warpgroup overlap); otherwise it
  waits for both MMAs first.

Nothing synchronizes the two consumers with each other, so while one runs its softmax the
other can use the tensor cores, and no consumer issue slot goes to address arithmetic or
copies; ``setmaxnreg`` moves registers from the producer to the consumers.

The work items are (head, query block, sequence) triples, numbered on a one-dimensional grid
(``_work_item``). A program takes items ``program_id, program_id + num_programs, ...``: one
each where the launcher starts a program per item, or, with ``PERSISTENT``, a strided share
of them on a grid of one program per SM. Every partition walks the same items and counts
the key tiles across them, so the ring runs on from one item to the next: the producer
gathers the next item's first tiles while the consumers still finish the last one's, and the
fixed cost of a program (its start, the ring's fill, the output's store) is paid once per SM
instead of once per item, which is most of an item's time where the items are short. The
persistent order walks a sequence's query blocks from its last (the most keys under the
causal mask) to its first, so that within each sequence the longest items start first.
With ``DYNAMIC_ITEMS`` (LaunchConfig.dynamic_items) a persistent program takes each item after
its first from a counter the launcher zeroes, in the same order, instead of its strided share:
a program whose items were short takes more of them, so the programs finish together where
the items' lengths differ (short extends, most of all). The producer takes the next item when
it starts an item and hands it to both consumers through a small ring of item ids in shared
memory, so that a consumer knows its next item one item ahead (for ``PREFETCH_Q``). FA3's
tile scheduler takes its tiles the same way; measured on the H200 (step 15), it pays where
the items are many and of different lengths, and costs where they are short (a window).
Sequences stay the slowest axis, as without persistence: the programs in flight then share
one sequence's K/V through L2 (with the blocks slowest instead, 132 programs streamed 16
sequences' K/V at once and ran 13% slower at n_ctx 8192).

With ``GQA_PACK = G`` (the query heads of one KV head, LaunchConfig.pack_gqa) an item is a
KV head's 128 rows of G query heads times 128 / G tokens, as FlashAttention-3's PackGQA and
FlashInfer do: a sequence's last block pads at most 128 / G - 1 tokens instead of 127, which
is a quarter of the rows where the extends average 256 tokens, and the G heads read one K/V
stream instead of G.

With ``ONE_KEY_STREAM`` (LaunchConfig.one_key_stream) an item's keys run as one stream of
tiles, the prefix's and then the extend's, so that the tile at the prefix's end holds both and
an item pays for one partial tile instead of two (``_key_stream``); the producer copies that
tile row by row, where two streams let TMA copy the extend's first tile.

With ``PREFETCH_Q`` (LaunchConfig.prefetch_q, on a persistent grid) each consumer copies its
next item's query rows with ``cp.async`` into the other of its two Q buffers while it computes
the current item, so that an item does not start by loading its rows and waiting for them.

Measured on the H100 (docs/MEASUREMENTS.md, step 9). Tried there and not kept, all measured
slower or no faster: consumers taking strict turns at the tensor cores (FA3's ping-pong, with
mbarriers), Q in registers, indices two tiles ahead, and no proxy fence. The softmax
overlapping P·V, not kept there either (on 64-key tiles), is a knob since step 12 (H200).
Runs only on an sm_90 GPU, with the Gluon API of Triton 3.6 (``GLUON_TRITON_RELEASES`` in
extend_attention.py); Triton's interpreter does not cover Gluon.
"""

from __future__ import annotations

import torch
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor
from triton.experimental.gluon.language.nvidia.hopper import (async_copy, fence_async_shared, mbarrier,
                                                               tma, warpgroup_mma, warpgroup_mma_wait)

from .extend_attention_hopper import (_issue_tile, _key_stream, _load_pool_rows, _normalized,
                                      _sequence_extent, _softmax_tile, _zero_lane_sums,
                                      row_copy_layout)

_GLUON_DTYPES = {torch.bfloat16: gl.bfloat16, torch.float16: gl.float16}


@gluon.constexpr_function
def kv_tile_layout(block_n: int, head_dim: int, dtype):
    """The shared-memory layout of a K or V tile of ``block_n`` rows (``dtype`` a Gluon
    dtype): the kernel's ring stages, and the tiles a TMA descriptor copies into them."""
    return gl.NVMMASharedLayout.get_default_for([block_n, head_dim], dtype)


def extend_descriptors(k_extend: torch.Tensor, v_extend: torch.Tensor, block_n: int):
    """TMA descriptors of ``k_extend`` and ``v_extend`` as [tokens, kv heads * head dim], in
    tiles of ``block_n`` rows of one head (``TMA_EXTEND``), or None where TMA cannot read
    them: heads not packed in a row, or a base or row stride off 16 bytes."""
    tokens, heads, head_dim = k_extend.shape
    layout = kv_tile_layout(block_n, head_dim, _GLUON_DTYPES[k_extend.dtype])
    descriptors = []
    for t in (k_extend, v_extend):
        if (tokens == 0 or t.stride(1) != head_dim or t.data_ptr() % 16
                or t.stride(0) * t.element_size() % 16):
            return None
        descriptors.append(TensorDescriptor(t, [tokens, heads * head_dim], [t.stride(0), 1],
                                            [block_n, head_dim], layout))
    return tuple(descriptors)


CONSUMER_ROWS = gl.constexpr(64)  # query rows per consumer warpgroup (one warpgroup MMA's M)
PRODUCER_WARPS = gl.constexpr(4)
# Tiles of more rows are copied this many rows at a time, each chunk's pool rows loaded just
# before its copies: a 128-row tile's addresses (and the next tile's rows) spill the producer.
MAX_CHUNK = gl.constexpr(64)


@gluon.jit
def _work_item(item, n_heads, n_blocks, n_seqs, HEADS_FIRST: gl.constexpr, PERSISTENT: gl.constexpr):
    """Item ``item`` of the grid: (head, query block, sequence). Heads first: a sequence's heads
    and query blocks run next to each other and share its K/V through L2. A persistent grid
    walks each sequence's query blocks from the last (the most keys) to the first."""
    if HEADS_FIRST:
        head = item % n_heads
        rest = item // n_heads
        block = rest % n_blocks
        seq = rest // n_blocks
    else:
        seq = item % n_seqs
        rest = item // n_seqs
        head = rest % n_heads
        block = rest // n_heads
    if PERSISTENT:
        block = n_blocks - 1 - block
    return head, block, seq


@gluon.jit
def _publish_item(item_ring, k, item, ITEM_SLOTS: gl.constexpr):
    """The producer hands the ``k``-th item it took from the counter to both consumers, in
    slot k % ITEM_SLOTS of ``item_ring`` (ids, ready and free mbarriers) once both have read
    the item the slot held before."""
    item_ids, item_ready, item_free = item_ring
    slot = k % ITEM_SLOTS
    # the ring's first lap finds every slot free (phase 1 counts as completed)
    mbarrier.wait(item_free.index(slot), ((k // ITEM_SLOTS) & 1) ^ 1)
    layout: gl.constexpr = gl.BlockedLayout([1], [32], [gl.num_warps()], [0])
    item_ids.index(slot).store(gl.full([1], item, gl.int32, layout))
    mbarrier.arrive(item_ready.index(slot))


@gluon.jit
def _read_item(item_ring, k, ITEM_SLOTS: gl.constexpr):
    """A consumer's ``k``-th item from the counter, as the producer handed it over; frees the
    slot."""
    item_ids, item_ready, item_free = item_ring
    slot = k % ITEM_SLOTS
    mbarrier.wait(item_ready.index(slot), (k // ITEM_SLOTS) & 1)
    layout: gl.constexpr = gl.BlockedLayout([1], [32], [gl.num_warps()], [0])
    item = gl.max(item_ids.index(slot).load(layout), 0)
    mbarrier.arrive(item_free.index(slot))
    return item


@gluon.jit
def _item_keys(item, qo_indptr, kv_indptr, sliding_window, n_heads, n_blocks, n_seqs,
               ITEM_GROUP: gl.constexpr, TOKENS: gl.constexpr, BLOCK_N: gl.constexpr,
               INDEX_CACHE: gl.constexpr, HEADS_FIRST: gl.constexpr, PERSISTENT: gl.constexpr,
               USE_WINDOW: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """What every partition reads of item ``item``, whose block holds ``TOKENS`` query tokens
    and whose ``ITEM_GROUP`` heads share a KV head (1 where an item's head is its KV head:
    packed query heads): (has_queries, head, block, kv_head, qo_start, len_extend, kv_start,
    len_prefix, stream, n_tiles): its keys as ``_key_stream``'s."""
    head, block, seq = _work_item(item, n_heads, n_blocks, n_seqs, HEADS_FIRST, PERSISTENT)
    qo_start, len_extend, kv_start, len_prefix = _sequence_extent(qo_indptr, kv_indptr, seq,
                                                                  INDEX_CACHE)
    stream, n_tiles = _key_stream(block, len_prefix, len_extend, sliding_window, TOKENS, BLOCK_N,
                                  USE_WINDOW, ONE_KEY_STREAM)
    return (block * TOKENS < len_extend, head, block, head // ITEM_GROUP, qo_start, len_extend,
            kv_start, len_prefix, stream, n_tiles)


@gluon.jit
def _produce_item(K_ext, V_ext, K_buf, V_buf, kv_indices, k_smem, v_smem, ready, free, tma_descs,
                  first_tile, kv_start, qo_start, kv_head, len_prefix, len_extend, n_tiles,
                  stream, stride_kt, stride_kh, stride_vt, stride_vh, stride_kbt,
                  stride_kbh, stride_vbt, stride_vbh, offs_d, key_offs, HEAD_DIM: gl.constexpr,
                  BLOCK_N: gl.constexpr, NUM_STAGES: gl.constexpr, PREFIX_KV_CACHE: gl.constexpr,
                  EXTEND_KV_CACHE: gl.constexpr, INDEX_CACHE: gl.constexpr,
                  PREFETCH_INDICES: gl.constexpr, TMA_EXTEND: gl.constexpr,
                  SHARED_KV_OFFSETS: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """One item's tiles into the ring: its tile t is the program's tile ``first_tile + t``,
    which goes to stage (first_tile + t) % NUM_STAGES once both consumers freed it. With
    ``TMA_EXTEND`` a tile of extend keys alone, all of them in the sequence's extend, is
    copied by TMA (``tma_descs``: descriptors of k_extend and v_extend as [tokens, kv heads *
    head dim]), one instruction per K and V from one thread, instead of row by row by every
    thread."""
    CHUNK: gl.constexpr = BLOCK_N if BLOCK_N <= MAX_CHUNK else MAX_CHUNK
    if PREFETCH_INDICES:
        # each tile's pool rows are loaded one tile ahead (one chunk per tile: checked at launch)
        next_rows = _load_pool_rows(kv_indices, kv_start, 0, n_tiles, stream, len_prefix,
                                    key_offs, BLOCK_N, INDEX_CACHE, ONE_KEY_STREAM)
    for t in range(n_tiles):
        ring_tile = first_tile + t
        stage = ring_tile % NUM_STAGES
        # the ring's first lap finds every stage free (phase 1 counts as completed)
        mbarrier.wait(free.index(stage), ((ring_tile // NUM_STAGES) & 1) ^ 1)
        # the tile's first key in the extend, if it holds extend keys alone
        if ONE_KEY_STREAM:
            start = stream[0] + t * BLOCK_N - len_prefix
            extend_keys_alone = start >= 0
        else:
            start = stream[2] + (t - stream[1]) * BLOCK_N
            extend_keys_alone = t >= stream[1]
        # rows past the sequence's extend are the next sequence's: those tiles stay row copies
        # with their rows masked, so that no other sequence's value reaches P·V
        if TMA_EXTEND and extend_keys_alone and start + BLOCK_N <= len_extend:
            k_desc, v_desc = tma_descs
            row = (qo_start + start).to(gl.int32)
            # one arrival with the tile's bytes, the other producer threads' arrivals at once
            mbarrier.expect(ready.index(stage), 2 * k_desc.block_type.nbytes)
            tma.async_copy_global_to_shared(k_desc, [row, kv_head * HEAD_DIM], ready.index(stage),
                                            k_smem.index(stage))
            tma.async_copy_global_to_shared(v_desc, [row, kv_head * HEAD_DIM], ready.index(stage),
                                            v_smem.index(stage))
            mbarrier.arrive(ready.index(stage), count=PRODUCER_WARPS * 32 - 1)
        else:
            for chunk in gl.static_range(BLOCK_N // CHUNK):
                chunk_offs = chunk * CHUNK + key_offs
                if PREFETCH_INDICES:
                    pool_rows = next_rows
                    next_rows = _load_pool_rows(kv_indices, kv_start, t + 1, n_tiles, stream,
                                                len_prefix, key_offs, BLOCK_N, INDEX_CACHE,
                                                ONE_KEY_STREAM)
                else:
                    pool_rows = _load_pool_rows(kv_indices, kv_start, t, n_tiles, stream,
                                                len_prefix, chunk_offs, BLOCK_N, INDEX_CACHE,
                                                ONE_KEY_STREAM)
                _issue_tile(k_smem.index(stage).slice(chunk * CHUNK, CHUNK),
                            v_smem.index(stage).slice(chunk * CHUNK, CHUNK), t, pool_rows,
                            n_tiles, stream, len_prefix, K_buf, V_buf, K_ext, V_ext,
                            qo_start, kv_head, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
                            stride_kt, stride_kh, stride_vt, stride_vh, chunk_offs, offs_d,
                            BLOCK_N, PREFIX_KV_CACHE, EXTEND_KV_CACHE, ONE_KEY_STREAM,
                            SHARED_KV_OFFSETS)
            # every producer thread arrives once its own copies of this tile have landed
            async_copy.mbarrier_arrive(ready.index(stage), increment_count=False)


@gluon.jit
def _produce_work_item(item, first_tile, K_ext, V_ext, K_buf, V_buf, qo_indptr, kv_indptr,
                       kv_indices, k_smem, v_smem, ready, free, tma_descs, sliding_window, n_heads,
                       n_blocks, n_seqs, stride_kt, stride_kh, stride_vt, stride_vh, stride_kbt, stride_kbh,
                       stride_vbt, stride_vbh, offs_d, key_offs, ITEM_GROUP: gl.constexpr,
                       TOKENS: gl.constexpr, HEAD_DIM: gl.constexpr, BLOCK_N: gl.constexpr,
                       NUM_STAGES: gl.constexpr, USE_WINDOW: gl.constexpr,
                       PREFIX_KV_CACHE: gl.constexpr, EXTEND_KV_CACHE: gl.constexpr,
                       INDEX_CACHE: gl.constexpr, HEADS_FIRST: gl.constexpr,
                       PREFETCH_INDICES: gl.constexpr, PERSISTENT: gl.constexpr,
                       TMA_EXTEND: gl.constexpr, SHARED_KV_OFFSETS: gl.constexpr,
                       ONE_KEY_STREAM: gl.constexpr):
    """Item ``item``'s tiles into the ring from the program's tile ``first_tile``; returns the
    program's next tile."""
    (has_queries, head, block, kv_head, qo_start, len_extend, kv_start, len_prefix, stream,
     n_tiles) = _item_keys(
        item, qo_indptr, kv_indptr, sliding_window, n_heads, n_blocks, n_seqs, ITEM_GROUP,
        TOKENS, BLOCK_N, INDEX_CACHE, HEADS_FIRST, PERSISTENT, USE_WINDOW, ONE_KEY_STREAM)
    if has_queries:
        _produce_item(K_ext, V_ext, K_buf, V_buf, kv_indices, k_smem, v_smem, ready, free,
                      tma_descs, first_tile, kv_start, qo_start, kv_head, len_prefix, len_extend,
                      n_tiles, stream, stride_kt, stride_kh, stride_vt, stride_vh,
                      stride_kbt, stride_kbh, stride_vbt, stride_vbh, offs_d, key_offs, HEAD_DIM,
                      BLOCK_N, NUM_STAGES, PREFIX_KV_CACHE, EXTEND_KV_CACHE, INDEX_CACHE,
                      PREFETCH_INDICES, TMA_EXTEND, SHARED_KV_OFFSETS, ONE_KEY_STREAM)
        first_tile += n_tiles
    return first_tile


@gluon.jit
def _producer(K_ext, V_ext, K_buf, V_buf, qo_indptr, kv_indptr, kv_indices, k_smem, v_smem, ready,
              free, item_ring, item_counter, tma_descs, sliding_window, n_heads,
              n_blocks, n_seqs, stride_kt, stride_kh, stride_vt, stride_vh, stride_kbt,
              stride_kbh, stride_vbt, stride_vbh, ITEM_SLOTS: gl.constexpr,
              GQA_GROUP: gl.constexpr, HEAD_DIM: gl.constexpr, BLOCK_M: gl.constexpr,
              BLOCK_N: gl.constexpr, NUM_STAGES: gl.constexpr, USE_WINDOW: gl.constexpr,
              PREFIX_KV_CACHE: gl.constexpr, EXTEND_KV_CACHE: gl.constexpr,
              INDEX_CACHE: gl.constexpr, HEADS_FIRST: gl.constexpr, PREFETCH_INDICES: gl.constexpr,
              PERSISTENT: gl.constexpr, GQA_PACK: gl.constexpr, DYNAMIC_ITEMS: gl.constexpr,
              TMA_EXTEND: gl.constexpr, SHARED_KV_OFFSETS: gl.constexpr,
              ONE_KEY_STREAM: gl.constexpr):
    """Fill the ring with the tiles of the program's items, one item after the other; with
    ``DYNAMIC_ITEMS`` take each next item from the counter and hand it to the consumers."""
    TOKENS: gl.constexpr = BLOCK_M // GQA_PACK  # the query tokens of an item
    copy_layout: gl.constexpr = row_copy_layout(HEAD_DIM, gl.num_warps())
    CHUNK: gl.constexpr = BLOCK_N if BLOCK_N <= MAX_CHUNK else MAX_CHUNK
    offs_d = gl.arange(0, HEAD_DIM, layout=gl.SliceLayout(0, copy_layout))
    key_offs = gl.arange(0, CHUNK, layout=gl.SliceLayout(1, copy_layout))
    first_tile = 0
    # what each item's call takes after its item and first tile, shared by the two loops: the
    # run-time values (a tuple assigned holds no constexpr, Triton would make it a tensor),
    # then the constexprs
    item_args = (K_ext, V_ext, K_buf, V_buf, qo_indptr, kv_indptr, kv_indices, k_smem, v_smem,
                 ready, free, tma_descs, sliding_window, n_heads, n_blocks, n_seqs, stride_kt,
                 stride_kh, stride_vt, stride_vh, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
                 offs_d, key_offs)
    ITEM_CONSTEXPRS: gl.constexpr = (GQA_GROUP // GQA_PACK, TOKENS, HEAD_DIM, BLOCK_N, NUM_STAGES,
                                     USE_WINDOW, PREFIX_KV_CACHE, EXTEND_KV_CACHE, INDEX_CACHE,
                                     HEADS_FIRST, PREFETCH_INDICES, PERSISTENT, TMA_EXTEND,
                                     SHARED_KV_OFFSETS, ONE_KEY_STREAM)
    # a loop of its own per schedule, so that the strided one compiles as it did before step 15
    # (whose single loop measured the windowed row 1-2% slower at W256)
    if DYNAMIC_ITEMS:
        k = 0  # the items the program took from the counter
        item = gl.program_id(0)
        while item < n_heads * n_blocks * n_seqs:
            # taken before this item's tiles, so that the consumers can copy its rows ahead
            following = gl.num_programs(0) + gl.atomic_add(item_counter, 1, sem="relaxed")
            _publish_item(item_ring, k, following, ITEM_SLOTS)
            k += 1
            first_tile = _produce_work_item(item, first_tile, *(item_args + ITEM_CONSTEXPRS))
            item = following
        # every program has taken its last item: the last to get here zeroes the counter (and
        # the count of programs done) for the next launch on the stream, which the launcher's
        # cached counter would otherwise need a fill kernel for, every call
        done = gl.atomic_add(item_counter + 1, 1, sem="acq_rel")
        if done == gl.num_programs(0) - 1:
            gl.atomic_xchg(item_counter, 0, sem="relaxed")
            gl.atomic_xchg(item_counter + 1, 0, sem="relaxed")
    else:
        for item in range(gl.program_id(0), n_heads * n_blocks * n_seqs, gl.num_programs(0)):
            first_tile = _produce_work_item(item, first_tile, *(item_args + ITEM_CONSTEXPRS))


@gluon.jit
def _item_rows(X, qo_start, len_extend, row0, head, stride_xt, stride_xh,
               HEAD_DIM: gl.constexpr, GQA_PACK: gl.constexpr, layout: gl.constexpr):
    """A consumer's 64 rows of Q or O (``X``) from item row ``row0``, in ``layout``:
    (pointers, mask of the rows that exist). Row ``r`` is query token ``r // GQA_PACK`` of the
    sequence's extend, at query head ``head * GQA_PACK + r % GQA_PACK``: with packed query heads
    an item's rows are its KV head's query heads, token after token."""
    rows = row0 + gl.arange(0, CONSUMER_ROWS, layout=gl.SliceLayout(1, layout))
    tokens = rows // GQA_PACK
    heads = head * GQA_PACK + rows % GQA_PACK
    cols = gl.arange(0, HEAD_DIM, layout=gl.SliceLayout(0, layout))
    ptrs = X + (qo_start + tokens)[:, None] * stride_xt + (heads * stride_xh)[:, None] + cols[None, :]
    return ptrs, (tokens < len_extend)[:, None]


@gluon.jit
def _load_query_rows(q_smem, Q, qo_start, len_extend, row0, head, stride_qt, stride_qh,
                     HEAD_DIM: gl.constexpr, Q_CACHE: gl.constexpr, GQA_PACK: gl.constexpr):
    """The consumer's query rows into ``q_smem`` through registers, waited for. The last
    item's MMAs that read the buffer have all been waited for."""
    ptrs, exists = _item_rows(Q, qo_start, len_extend, row0, head, stride_qt, stride_qh,
                              HEAD_DIM, GQA_PACK, row_copy_layout(HEAD_DIM, 4))
    q_smem.store(gl.load(ptrs, mask=exists, other=0.0, cache_modifier=Q_CACHE))
    fence_async_shared()
    gl.thread_barrier()


@gluon.jit
def _copy_query_rows(q_smem, Q, qo_start, len_extend, row0, head, stride_qt, stride_qh,
                     HEAD_DIM: gl.constexpr, Q_CACHE: gl.constexpr, GQA_PACK: gl.constexpr):
    """Start copying the consumer's query rows into ``q_smem`` (cp.async, one group); rows
    past the extend are not read."""
    ptrs, exists = _item_rows(Q, qo_start, len_extend, row0, head, stride_qt, stride_qh,
                              HEAD_DIM, GQA_PACK, row_copy_layout(HEAD_DIM, 4))
    async_copy.async_copy_global_to_shared(q_smem, ptrs, mask=exists, cache_modifier=Q_CACHE)
    async_copy.commit_group()


@gluon.jit
def _consume_item(O, k_smem, v_smem, q_smem, ready, free, first_tile, row0, qo_start, head,
                  len_prefix, len_extend, n_tiles, stream, sm_scale_log2, logit_cap,
                  sliding_window, stride_ot, stride_oh, HEAD_DIM: gl.constexpr,
                  BLOCK_N: gl.constexpr, NUM_STAGES: gl.constexpr, USE_WINDOW: gl.constexpr,
                  USE_LOGIT_CAP: gl.constexpr, GQA_PACK: gl.constexpr, OVERLAP_PV: gl.constexpr,
                  O_THROUGH_SHARED: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """One warpgroup's 64 query rows of one item, in ``q_smem`` (rows as ``_item_rows``),
    over the item's tiles (``stream``, ``_key_stream``'s), the program's tiles ``first_tile``
    onwards."""
    dtype: gl.constexpr = O.dtype.element_ty
    s_layout: gl.constexpr = gl.NVMMADistributedLayout(
        version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, BLOCK_N, 16])
    o_layout: gl.constexpr = gl.NVMMADistributedLayout(
        version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, HEAD_DIM, 16])
    p_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=o_layout, k_width=2)

    score_cols = gl.arange(0, BLOCK_N, layout=gl.SliceLayout(0, s_layout))
    q_pos = len_prefix + (row0 + gl.arange(0, CONSUMER_ROWS, layout=gl.SliceLayout(1, s_layout))) // GQA_PACK
    first_pos = len_prefix + row0 // GQA_PACK
    last_pos = len_prefix + (row0 + CONSUMER_ROWS - 1) // GQA_PACK
    key_end = len_prefix + len_extend
    # finite start so that a row masked across a whole tile gives exp2(-inf - m) = 0, not NaN
    m_i = gl.full([CONSUMER_ROWS], -1.0e30, gl.float32, layout=gl.SliceLayout(1, s_layout))
    l_i = _zero_lane_sums(CONSUMER_ROWS, BLOCK_N, s_layout)
    acc = gl.zeros([CONSUMER_ROWS, HEAD_DIM], gl.float32, o_layout)

    # Tile 0's scores alone; then each iteration issues tile t's scores with tile t - 1's P·V,
    # one burst of tensor-core work per tile, runs tile t's softmax (with OVERLAP_PV while that
    # P·V still runs) and frees tile t - 1's stage once P·V is done.
    stage = first_tile % NUM_STAGES
    mbarrier.wait(ready.index(stage), (first_tile // NUM_STAGES) & 1)
    # the producer's cp.async writes (generic proxy) before the MMAs' reads (async proxy)
    fence_async_shared()
    s = warpgroup_mma(q_smem, k_smem.index(stage).permute((1, 0)),
                      gl.zeros([CONSUMER_ROWS, BLOCK_N], gl.float32, s_layout), use_acc=False)
    p, alpha, m_i, l_i = _softmax_tile(s, m_i, l_i, 0, stream, len_prefix, key_end, q_pos,
                                       score_cols, first_pos, last_pos, sm_scale_log2, logit_cap,
                                       sliding_window, BLOCK_N, USE_WINDOW, USE_LOGIT_CAP,
                                       ONE_KEY_STREAM)
    for t in range(1, n_tiles):
        previous = stage
        ring_tile = first_tile + t
        stage = ring_tile % NUM_STAGES
        mbarrier.wait(ready.index(stage), (ring_tile // NUM_STAGES) & 1)
        fence_async_shared()
        p_op = gl.convert_layout(p.to(dtype), p_layout)
        s_token = warpgroup_mma(q_smem, k_smem.index(stage).permute((1, 0)),
                                gl.zeros([CONSUMER_ROWS, BLOCK_N], gl.float32, s_layout),
                                use_acc=False, is_async=True)
        acc_token = warpgroup_mma(p_op, v_smem.index(previous), acc, is_async=True)
        if OVERLAP_PV:
            s = warpgroup_mma_wait(num_outstanding=1, deps=(s_token, ))
        else:
            s, acc, p_op = warpgroup_mma_wait(num_outstanding=0, deps=(s_token, acc_token, p_op))
            mbarrier.arrive(free.index(previous))
        p, alpha, m_i, l_i = _softmax_tile(s, m_i, l_i, t, stream, len_prefix, key_end, q_pos,
                                           score_cols, first_pos, last_pos, sm_scale_log2,
                                           logit_cap, sliding_window, BLOCK_N, USE_WINDOW,
                                           USE_LOGIT_CAP, ONE_KEY_STREAM)
        if OVERLAP_PV:
            acc, p_op = warpgroup_mma_wait(num_outstanding=0, deps=(acc_token, p_op))
            mbarrier.arrive(free.index(previous))
        acc = acc * gl.convert_layout(alpha, gl.SliceLayout(1, o_layout))[:, None]
    acc = warpgroup_mma(gl.convert_layout(p.to(dtype), p_layout), v_smem.index(stage), acc)
    mbarrier.arrive(free.index(stage))

    out = _normalized(acc, l_i).to(dtype)
    if O_THROUGH_SHARED:
        # O leaves through the item's Q buffer, whose MMAs are all done: stored in the
        # accumulator's layout, read back in 16-byte pieces along each row and written a warp's
        # whole rows at a time
        q_smem.store(out)
        gl.thread_barrier()
        copy_layout: gl.constexpr = row_copy_layout(HEAD_DIM, 4)
        ptrs, exists = _item_rows(O, qo_start, len_extend, row0, head, stride_ot, stride_oh,
                                  HEAD_DIM, GQA_PACK, copy_layout)
        gl.store(ptrs, q_smem.load(copy_layout), mask=exists)
        # every warp's rows read before a later item's Q lands in the buffer
        gl.thread_barrier()
    else:
        # each thread's 4-byte pieces of the accumulator's layout: every 32-byte sector written
        # twice over (ncu at 8192/W127, session 16: half the stores' sectors excessive)
        ptrs, exists = _item_rows(O, qo_start, len_extend, row0, head, stride_ot, stride_oh,
                                  HEAD_DIM, GQA_PACK, o_layout)
        gl.store(ptrs, out, mask=exists)


@gluon.jit
def _consume_work_item(item, taken, first_tile, slot, prefetched, half, Q, O, qo_indptr, kv_indptr,
                       k_smem, v_smem, q_smem, ready, free, sm_scale_log2, logit_cap,
                       sliding_window, n_heads, n_blocks, n_seqs, n_items, stride_qt, stride_qh,
                       stride_ot, stride_oh, ITEM_GROUP: gl.constexpr, TOKENS: gl.constexpr,
                       HEAD_DIM: gl.constexpr, BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr,
                       NUM_STAGES: gl.constexpr, USE_WINDOW: gl.constexpr,
                       USE_LOGIT_CAP: gl.constexpr, Q_CACHE: gl.constexpr,
                       INDEX_CACHE: gl.constexpr, HEADS_FIRST: gl.constexpr,
                       PERSISTENT: gl.constexpr, GQA_PACK: gl.constexpr, PREFETCH_Q: gl.constexpr,
                       OVERLAP_PV: gl.constexpr, DYNAMIC_ITEMS: gl.constexpr,
                       O_THROUGH_SHARED: gl.constexpr, ONE_KEY_STREAM: gl.constexpr):
    """The consumer's rows of item ``item`` from the program's tile ``first_tile``, in Q buffer
    ``slot``; ``prefetched`` is the item whose rows the other buffer receives. The program's
    next item is ``taken`` from the counter (DYNAMIC_ITEMS), else the strided share's next.
    Returns (first_tile, slot, prefetched) for the next item."""
    (has_queries, head, block, kv_head, qo_start, len_extend, kv_start, len_prefix, stream,
     n_tiles) = _item_keys(
        item, qo_indptr, kv_indptr, sliding_window, n_heads, n_blocks, n_seqs, ITEM_GROUP,
        TOKENS, BLOCK_N, INDEX_CACHE, HEADS_FIRST, PERSISTENT, USE_WINDOW, ONE_KEY_STREAM)
    if has_queries:
        row0 = block * BLOCK_M + half * CONSUMER_ROWS
        if PREFETCH_Q:
            if prefetched != item:
                # the copy in flight is an empty item's (or none): it must land before this
                # one, which overwrites the same buffer
                async_copy.wait_group(0)
                _copy_query_rows(q_smem.index(slot), Q, qo_start, len_extend, row0, head,
                                 stride_qt, stride_qh, HEAD_DIM, Q_CACHE, GQA_PACK)
            async_copy.wait_group(0)
            if DYNAMIC_ITEMS:
                following = taken
            else:
                following = item + gl.num_programs(0)
            if following < n_items:
                # the other buffer's MMAs (the last item's) have all been waited for
                next_head, next_block, next_seq = _work_item(following, n_heads, n_blocks, n_seqs,
                                                             HEADS_FIRST, PERSISTENT)
                next_qo_start, next_len_extend, _, _ = _sequence_extent(
                    qo_indptr, kv_indptr, next_seq, INDEX_CACHE)
                _copy_query_rows(q_smem.index(1 - slot), Q, next_qo_start, next_len_extend,
                                 next_block * BLOCK_M + half * CONSUMER_ROWS, next_head,
                                 stride_qt, stride_qh, HEAD_DIM, Q_CACHE, GQA_PACK)
                prefetched = following
            # every thread's copies of this item's rows, before the MMAs (async proxy)
            fence_async_shared()
            gl.thread_barrier()
        else:
            _load_query_rows(q_smem.index(slot), Q, qo_start, len_extend, row0, head,
                             stride_qt, stride_qh, HEAD_DIM, Q_CACHE, GQA_PACK)
        _consume_item(O, k_smem, v_smem, q_smem.index(slot), ready, free, first_tile, row0,
                      qo_start, head, len_prefix, len_extend, n_tiles, stream, sm_scale_log2,
                      logit_cap, sliding_window, stride_ot, stride_oh, HEAD_DIM, BLOCK_N,
                      NUM_STAGES, USE_WINDOW, USE_LOGIT_CAP, GQA_PACK, OVERLAP_PV,
                      O_THROUGH_SHARED, ONE_KEY_STREAM)
        first_tile += n_tiles
        if PREFETCH_Q:
            slot = 1 - slot
    return first_tile, slot, prefetched


@gluon.jit
def _consumer(q_smem, half, Q, O, qo_indptr, kv_indptr, k_smem, v_smem, ready, free, item_ring,
              sm_scale_log2, logit_cap, sliding_window, n_heads, n_blocks, n_seqs, stride_qt,
              stride_qh, stride_ot, stride_oh,
              ITEM_SLOTS: gl.constexpr, GQA_GROUP: gl.constexpr, HEAD_DIM: gl.constexpr,
              BLOCK_M: gl.constexpr, BLOCK_N: gl.constexpr, NUM_STAGES: gl.constexpr,
              USE_WINDOW: gl.constexpr, USE_LOGIT_CAP: gl.constexpr, Q_CACHE: gl.constexpr,
              INDEX_CACHE: gl.constexpr, HEADS_FIRST: gl.constexpr, PERSISTENT: gl.constexpr,
              GQA_PACK: gl.constexpr, PREFETCH_Q: gl.constexpr, OVERLAP_PV: gl.constexpr,
              DYNAMIC_ITEMS: gl.constexpr, O_THROUGH_SHARED: gl.constexpr,
              ONE_KEY_STREAM: gl.constexpr):
    """One warpgroup: the ``half``-th 64 query rows of each of the program's items (of two or
    three: ``BLOCK_M // CONSUMER_ROWS``), its Q buffers ``q_smem``. With
    ``PREFETCH_Q`` its next item's rows are copied into the other of its two Q buffers while
    it computes this item, instead of loaded (and waited for) when the item starts."""
    TOKENS: gl.constexpr = BLOCK_M // GQA_PACK  # the query tokens of an item
    n_items = n_heads * n_blocks * n_seqs
    first_tile = 0
    slot = 0  # the Q buffer of this item
    prefetched = -1  # the item whose rows the other buffer receives
    # what each item's call takes after its item, its Q buffer and this warpgroup's rows, shared
    # by the two loops, as the producer's
    item_args = (Q, O, qo_indptr, kv_indptr, k_smem, v_smem, q_smem, ready, free, sm_scale_log2,
                 logit_cap, sliding_window, n_heads, n_blocks, n_seqs, n_items, stride_qt,
                 stride_qh, stride_ot, stride_oh)
    ITEM_CONSTEXPRS: gl.constexpr = (GQA_GROUP // GQA_PACK, TOKENS, HEAD_DIM, BLOCK_M, BLOCK_N,
                                     NUM_STAGES, USE_WINDOW, USE_LOGIT_CAP, Q_CACHE, INDEX_CACHE,
                                     HEADS_FIRST, PERSISTENT, GQA_PACK, PREFETCH_Q, OVERLAP_PV,
                                     DYNAMIC_ITEMS, O_THROUGH_SHARED, ONE_KEY_STREAM)
    # a loop of its own per schedule, as the producer's
    if DYNAMIC_ITEMS:
        k = 0  # the items the producer handed over
        item = gl.program_id(0)
        while item < n_items:
            following = _read_item(item_ring, k, ITEM_SLOTS)
            k += 1
            first_tile, slot, prefetched = _consume_work_item(
                item, following, first_tile, slot, prefetched, half,
                *(item_args + ITEM_CONSTEXPRS))
            item = following
    else:
        for item in range(gl.program_id(0), n_items, gl.num_programs(0)):
            first_tile, slot, prefetched = _consume_work_item(
                item, item, first_tile, slot, prefetched, half, *(item_args + ITEM_CONSTEXPRS))


@gluon.jit
def _extend_attention_ws_kernel(
    Q, K_ext, V_ext, O, K_buf, V_buf,
    qo_indptr, kv_indptr, kv_indices,
    sm_scale_log2, logit_cap, sliding_window,
    stride_qt, stride_qh, stride_kt, stride_kh, stride_vt, stride_vh,
    stride_ot, stride_oh, stride_kbt, stride_kbh, stride_vbt, stride_vbh,
    n_heads, n_blocks, n_seqs, item_counter, k_ext_desc, v_ext_desc,
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
    PERSISTENT: gl.constexpr,
    GQA_PACK: gl.constexpr,
    PREFETCH_Q: gl.constexpr,
    OVERLAP_PV: gl.constexpr,
    DYNAMIC_ITEMS: gl.constexpr,
    O_THROUGH_SHARED: gl.constexpr,
    TMA_EXTEND: gl.constexpr,
    SHARED_KV_OFFSETS: gl.constexpr,
    ONE_KEY_STREAM: gl.constexpr,
    CONSUMER_REGISTERS: gl.constexpr,
    PRODUCER_REGISTERS: gl.constexpr,
):
    CONSUMERS: gl.constexpr = BLOCK_M // CONSUMER_ROWS
    gl.static_assert(BLOCK_M == CONSUMERS * CONSUMER_ROWS and (CONSUMERS == 2 or CONSUMERS == 3),
                     "two or three consumer warpgroups of 64 rows")
    gl.static_assert(gl.num_warps() == 4, "the default partition is one consumer warpgroup")
    gl.static_assert(NUM_STAGES >= 2, "tile t + 1 loads while tile t is used")
    gl.static_assert(CONSUMER_ROWS % GQA_PACK == 0, "a consumer's rows hold whole tokens")
    gl.static_assert(PERSISTENT or not PREFETCH_Q, "a program of one item has no next item")
    gl.static_assert(PERSISTENT or not DYNAMIC_ITEMS, "a program of one item takes no other")
    gl.static_assert(not (TMA_EXTEND and PREFETCH_INDICES),
                     "TMA tiles skip the row copies that load the next tile's indices")
    dtype: gl.constexpr = Q.dtype.element_ty
    kv_smem_layout: gl.constexpr = kv_tile_layout(BLOCK_N, HEAD_DIM, dtype)
    q_smem_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([CONSUMER_ROWS, HEAD_DIM],
                                                                       dtype)
    k_smem = gl.allocate_shared_memory(dtype, [NUM_STAGES, BLOCK_N, HEAD_DIM], kv_smem_layout)
    v_smem = gl.allocate_shared_memory(dtype, [NUM_STAGES, BLOCK_N, HEAD_DIM], kv_smem_layout)
    # each consumer's Q buffers: two with PREFETCH_Q (this item's and the next one's)
    Q_BUFFERS: gl.constexpr = 2 if PREFETCH_Q else 1
    q_smem_0 = gl.allocate_shared_memory(dtype, [Q_BUFFERS, CONSUMER_ROWS, HEAD_DIM], q_smem_layout)
    q_smem_1 = gl.allocate_shared_memory(dtype, [Q_BUFFERS, CONSUMER_ROWS, HEAD_DIM], q_smem_layout)
    if CONSUMERS == 3:
        q_smem_2 = gl.allocate_shared_memory(dtype, [Q_BUFFERS, CONSUMER_ROWS, HEAD_DIM],
                                             q_smem_layout)
    ready = gl.allocate_shared_memory(gl.int64, [NUM_STAGES, 1], mbarrier.MBarrierLayout())
    free = gl.allocate_shared_memory(gl.int64, [NUM_STAGES, 1], mbarrier.MBarrierLayout())
    for i in gl.static_range(NUM_STAGES):
        mbarrier.init(ready.index(i), count=PRODUCER_WARPS * 32)
        mbarrier.init(free.index(i), count=CONSUMERS)
    # the items the producer takes from the counter (DYNAMIC_ITEMS), held for the consumers
    ITEM_SLOTS: gl.constexpr = NUM_STAGES + 1
    if DYNAMIC_ITEMS:
        item_ids = gl.allocate_shared_memory(gl.int32, [ITEM_SLOTS, 1],
                                             gl.SwizzledSharedLayout(1, 1, 1, order=[0]))
        item_ready = gl.allocate_shared_memory(gl.int64, [ITEM_SLOTS, 1], mbarrier.MBarrierLayout())
        item_free = gl.allocate_shared_memory(gl.int64, [ITEM_SLOTS, 1], mbarrier.MBarrierLayout())
        for i in gl.static_range(ITEM_SLOTS):
            mbarrier.init(item_ready.index(i), count=1)
            mbarrier.init(item_free.index(i), count=CONSUMERS)
        item_ring = (item_ids, item_ready, item_free)
    else:
        # the strided schedule hands nothing over, and its partitions capture nothing for it
        item_ring = ()
    if TMA_EXTEND:
        tma_descs = (k_ext_desc, v_ext_desc)
    else:
        tma_descs = ()

    # what every consumer takes after its Q buffers and its index: the run-time arguments (an
    # assigned tuple holds no constexpr: Triton makes its values tensors), then the constexprs
    consumer_args = (Q, O, qo_indptr, kv_indptr, k_smem, v_smem, ready, free, item_ring,
                     sm_scale_log2, logit_cap, sliding_window, n_heads, n_blocks, n_seqs,
                     stride_qt, stride_qh, stride_ot, stride_oh)
    CONSUMER_CONSTEXPRS: gl.constexpr = (ITEM_SLOTS, GQA_GROUP, HEAD_DIM, BLOCK_M, BLOCK_N,
                                         NUM_STAGES, USE_WINDOW, USE_LOGIT_CAP, Q_CACHE,
                                         INDEX_CACHE, HEADS_FIRST, PERSISTENT, GQA_PACK,
                                         PREFETCH_Q, OVERLAP_PV, DYNAMIC_ITEMS, O_THROUGH_SHARED,
                                         ONE_KEY_STREAM)
    producer_args = (K_ext, V_ext, K_buf, V_buf, qo_indptr, kv_indptr, kv_indices, k_smem,
                     v_smem, ready, free, item_ring, item_counter, tma_descs, sliding_window,
                     n_heads, n_blocks, n_seqs, stride_kt, stride_kh, stride_vt, stride_vh,
                     stride_kbt, stride_kbh, stride_vbt, stride_vbh)
    PRODUCER_CONSTEXPRS: gl.constexpr = (ITEM_SLOTS, GQA_GROUP, HEAD_DIM, BLOCK_M, BLOCK_N,
                                         NUM_STAGES, USE_WINDOW, PREFIX_KV_CACHE, EXTEND_KV_CACHE,
                                         INDEX_CACHE, HEADS_FIRST, PREFETCH_INDICES, PERSISTENT,
                                         GQA_PACK, DYNAMIC_ITEMS, TMA_EXTEND, SHARED_KV_OFFSETS,
                                         ONE_KEY_STREAM)
    # (a partition's function cannot be held in a variable either)
    if CONSUMERS == 3:
        gl.warp_specialize([(_consumer, (q_smem_0, 0) + consumer_args + CONSUMER_CONSTEXPRS),
                            (_consumer, (q_smem_1, 1) + consumer_args + CONSUMER_CONSTEXPRS),
                            (_consumer, (q_smem_2, 2) + consumer_args + CONSUMER_CONSTEXPRS),
                            (_producer, producer_args + PRODUCER_CONSTEXPRS)],
                           [4, 4, PRODUCER_WARPS],
                           [CONSUMER_REGISTERS, CONSUMER_REGISTERS, PRODUCER_REGISTERS])
    else:
        gl.warp_specialize([(_consumer, (q_smem_0, 0) + consumer_args + CONSUMER_CONSTEXPRS),
                            (_consumer, (q_smem_1, 1) + consumer_args + CONSUMER_CONSTEXPRS),
                            (_producer, producer_args + PRODUCER_CONSTEXPRS)],
                           [4, PRODUCER_WARPS], [CONSUMER_REGISTERS, PRODUCER_REGISTERS])
