"""Correctness of the extend-attention kernel against the float64 reference.

On CPU the kernel runs through the Triton interpreter on small shapes in fp16; the tests
marked ``gpu`` run compiled on the H100 with bf16 and fp16 and larger shapes (see conftest).
Every output is poisoned with NaN before the call, so an unwritten row fails.
"""

import dataclasses
import random

import pytest
import torch

from benchmarks.harness import tolerance
from benchmarks.workloads import DTYPES, make_inputs
from conftest import DEVICE
from kernels import (VARIANTS, LaunchConfig, extend_attention_fwd, extend_attention_reference,
                     relative_error)
from kernels import extend_attention as ea

# Relative L2 error against float64: the one tolerance per dtype, justified in the harness.
TOLERANCE = {name: tolerance(DTYPES[name]) for name in DTYPES}

# Small blocks make tiny shapes cross several query blocks and key tiles, so the masks at
# tile edges are exercised; the named variants use the per-head-dim defaults.
SMALL_BLOCKS = LaunchConfig(block_m=16, block_n=16, num_warps=2)
# The named variants pick the grid order by window class; this one launches heads first
# whatever the window, so that both orders meet windows and no window.
SMALL_BLOCKS_CG = LaunchConfig(prefix_kv_cache=".cg", extend_kv_cache=".cg", q_cache=".ca",
                               index_cache=".ca", block_m=32, block_n=16, num_stages=2, num_warps=4,
                               grid_order="heads")
# Each prefix tile's pool rows loaded one tile ahead (LaunchConfig.prefetch_indices); the
# named variants use it only through `default`'s tuned table.
SMALL_BLOCKS_PREFETCH = LaunchConfig(block_m=16, block_n=16, num_warps=2, num_stages=2,
                                     prefetch_indices=True)


def run_and_check(prefix_lens, extend_lens, *, heads="4/2", head_dim=64, dtype="fp16",
                  pool="fragmented", window=-1, logit_cap=0.0, config="default", seed=0,
                  sm_scale=None, in_place=False):
    """Run the kernel and compare with the reference; ``in_place`` writes the output over
    ``q_extend`` (then a row left unwritten shows as the query it still holds)."""
    inputs = make_inputs(prefix_lens, extend_lens, heads=heads, head_dim=head_dim, dtype=dtype,
                         pool=pool, device=DEVICE, seed=seed, pool_slack=5)
    # the reference first: in place, the call overwrites q_extend
    ref = extend_attention_reference(*inputs.reference_args, sliding_window_size=window,
                                     logit_cap=logit_cap, sm_scale=sm_scale)
    out = inputs.q_extend if in_place else inputs.o_extend
    args = list(inputs.args)
    args[3] = out
    extend_attention_fwd(*args, sliding_window_size=window, logit_cap=logit_cap,
                         sm_scale=sm_scale, config=config)
    assert out.dtype == inputs.q_extend.dtype
    assert not torch.isnan(out).any(), "some output rows were never written"
    err = relative_error(out, ref)
    assert err < TOLERANCE[dtype], f"relative error {err:.2e} over {TOLERANCE[dtype]:.0e}"
    return err


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("window,logit_cap", [(-1, 0.0), (5, 0.0), (-1, 4.0), (40, 2.5)])
def test_every_variant_matches_reference(variant, window, logit_cap):
    run_and_check((0, 37, 70), (45, 1, 20), window=window, logit_cap=logit_cap, config=variant)


@pytest.mark.parametrize("config", [SMALL_BLOCKS, SMALL_BLOCKS_CG, SMALL_BLOCKS_PREFETCH],
                         ids=["small", "small_all_modifiers", "small_prefetch"])
@pytest.mark.parametrize("seed", range(6))
def test_random_shapes_across_tiles(config, seed):
    rng = random.Random(seed)
    batch = rng.randint(1, 4)
    group = rng.choice([1, 2, 4])
    heads_kv = rng.choice([1, 2])
    prefix = tuple(rng.choice([0, rng.randint(1, 60)]) for _ in range(batch))
    extend = tuple(rng.randint(1, 50) for _ in range(batch))
    window = rng.choice([-1, 0, 1, 7, 16, 200])  # shorter than a block, longer than the sequence
    run_and_check(prefix, extend, heads=f"{group * heads_kv}/{heads_kv}", window=window,
                  logit_cap=rng.choice([0.0, 3.0]), pool=rng.choice(["contiguous", "fragmented"]),
                  config=config, seed=seed, sm_scale=rng.choice([None, 0.07]))


@pytest.mark.parametrize("head_dim", [64, 128, 256])
def test_head_dims(head_dim):
    run_and_check((20, 3), (17, 30), heads="2/1", head_dim=head_dim, window=9, config=SMALL_BLOCKS)


@pytest.mark.parametrize("head_dim", [64, 128, 256])
@pytest.mark.parametrize("window", [-1, 9])
def test_default_at_every_head_dim(head_dim, window):
    """`default` as it runs here: on the interpreter (and on any GPU but sm_90) its `tl` rows."""
    run_and_check((20, 0, 3), (17, 9, 30), heads="4/2", head_dim=head_dim, window=window)


@pytest.mark.parametrize("config", ["default", SMALL_BLOCKS, SMALL_BLOCKS_CG, SMALL_BLOCKS_PREFETCH],
                         ids=["default", "small", "small_all_modifiers", "small_prefetch"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_output_written_over_q_extend(config, head_dim):
    """o_extend may be q_extend itself: each program reads its query rows before it writes
    the same rows, and no other program reads them."""
    run_and_check((20, 0, 41), (37, 9, 30), head_dim=head_dim, window=-1, logit_cap=3.0,
                  config=config, in_place=True)


def test_output_beside_q_k_v_in_one_fused_buffer():
    """An output carved from the same buffer as q, k and v, in columns of its own, is no overlap."""
    inputs = make_inputs((12, 30), (19, 7), heads="4/2", head_dim=64, dtype="fp16", device=DEVICE)
    n, hq, d = inputs.q_extend.shape
    hkv = inputs.k_extend.shape[1]
    fused = torch.full((n, 2 * hq + 2 * hkv, d), float("nan"), dtype=torch.float16, device=DEVICE)
    q, k, v, out = (fused[:, :hq], fused[:, hq:hq + hkv], fused[:, hq + hkv:hq + 2 * hkv],
                    fused[:, hq + 2 * hkv:])
    q.copy_(inputs.q_extend), k.copy_(inputs.k_extend), v.copy_(inputs.v_extend)
    extend_attention_fwd(q, k, v, out, *inputs.args[4:], config=SMALL_BLOCKS)
    ref = extend_attention_reference(*inputs.reference_args)
    assert relative_error(out, ref) < TOLERANCE["fp16"]
    assert torch.equal(q, inputs.q_extend) and torch.equal(k, inputs.k_extend)


def test_zero_prefix_extend_one_and_empty_sequence():
    run_and_check((0, 0, 5), (1, 0, 1), config=SMALL_BLOCKS)


def test_empty_batch_is_a_noop():
    inputs = make_inputs((), (), device=DEVICE, heads="4/2", head_dim=64, dtype="fp16", pool_slack=3)
    extend_attention_fwd(*inputs.args)  # B = 0, E = 0: nothing to do, nothing launched


def test_strided_views_and_only_own_rows_written():
    """q/k/v taken as views of wider tensors (as after a fused qkv projection)."""
    inputs = make_inputs((12, 30), (19, 7), heads="4/2", head_dim=64, dtype="fp16", device=DEVICE)
    n, hq, d = inputs.q_extend.shape
    hkv = inputs.k_extend.shape[1]
    fused = torch.randn(n, hq + 2 * hkv, d, dtype=torch.float16, device=DEVICE)
    fused[:, :hq], fused[:, hq:hq + hkv], fused[:, hq + hkv:] = inputs.q_extend, inputs.k_extend, inputs.v_extend
    q, k, v = fused[:, :hq], fused[:, hq:hq + hkv], fused[:, hq + hkv:]
    out_wide = torch.full((n, hq + 3, d), float("nan"), dtype=torch.float16, device=DEVICE)
    out = out_wide[:, :hq]
    extend_attention_fwd(q, k, v, out, *inputs.args[4:], config=SMALL_BLOCKS)
    ref = extend_attention_reference(q, k, v, *inputs.reference_args[3:])
    assert relative_error(out, ref) < TOLERANCE["fp16"]
    assert torch.isnan(out_wide[:, hq:]).all(), "the kernel wrote outside o_extend's view"


def test_lengths_not_multiples_of_blocks_and_long_prefix():
    run_and_check((129,), (67,), heads="2/2", window=100)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("head_dim,heads", [(128, "64/8"), (64, "32/32"), (256, "16/8")])
@pytest.mark.parametrize("window", [-1, 127, 512])
def test_gpu_large_shapes(dtype, variant, head_dim, heads, window):
    gen = random.Random(hash((dtype, variant, head_dim, window)) & 0xFFFF)
    prefix = tuple(gen.randint(0, 1500) for _ in range(6))
    extend = tuple(gen.randint(1, 700) for _ in range(6))
    run_and_check(prefix, extend, heads=heads, head_dim=head_dim, dtype=dtype, window=window,
                  config=variant, logit_cap=gen.choice([0.0, 30.0]), pool="fragmented")


@pytest.mark.gpu
@pytest.mark.parametrize("apart", [None, "v_buffer", "v_extend"])
def test_gpu_default_copies_with_and_without_one_offset_per_row(apart):
    """`default`'s warp-specialized rows (head dims 64 and 128, short and long extends) take
    one 32-bit offset per row for K and V where the launcher finds them alike
    (ea.shared_kv_offsets); a V pool or V extend that is a view of a wider tensor has other
    strides, and the copies fall back to a 64-bit product per tensor."""
    for head_dim, extend in ((128, (300, 1, 1500)), (64, (200, 40, 900)), (128, (2100, 5, 700))):
        inputs = make_inputs((700, 1300, 90), extend, heads="16/2", head_dim=head_dim, dtype="bf16",
                             pool="fragmented", device=DEVICE, pool_slack=5)
        args = list(inputs.args)
        if apart is not None:
            index = {"v_extend": 2, "v_buffer": 5}[apart]
            tensor = args[index]
            wide = torch.zeros(tensor.shape[0], 3, head_dim, dtype=tensor.dtype, device=DEVICE)
            wide[:, 1:] = tensor
            args[index] = wide[:, 1:]
        assert ea.shared_kv_offsets(args[1], args[2], args[4], args[5]) is (apart is None)
        ref = extend_attention_reference(*inputs.reference_args)
        extend_attention_fwd(*args)
        assert relative_error(inputs.o_extend, ref) < TOLERANCE["bf16"]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("head_dim,heads", [(128, "64/8"), (64, "32/32"), (64, "16/2"), (256, "16/8")])
def test_gpu_default_long_extends(dtype, head_dim, heads):
    """`default`'s long rows (test_gpu_large_shapes' extends are all short): a persistent grid
    at head dims 64 and 128 since step 13 and 256 since step 31, whose programs each walk items
    of every length (from a counter at head dims 128 and 256, steps 30 and 31)."""
    extend = (ea.LONG_EXTEND_MIN + 37, 1, 900, ea.LONG_EXTEND_MIN)
    run_and_check((300, 2100, 0, 17), extend, heads=heads, head_dim=head_dim, dtype=dtype,
                  pool="fragmented")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("config", [SMALL_BLOCKS, SMALL_BLOCKS_CG, SMALL_BLOCKS_PREFETCH],
                         ids=["small", "small_all_modifiers", "small_prefetch"])
@pytest.mark.parametrize("seed", range(4))
def test_gpu_random_shapes(dtype, config, seed):
    rng = random.Random(100 + seed)
    prefix = tuple(rng.choice([0, rng.randint(1, 300)]) for _ in range(3))
    extend = tuple(rng.randint(1, 200) for _ in range(3))
    run_and_check(prefix, extend, heads="8/2", dtype=dtype, window=rng.choice([-1, 3, 64]),
                  logit_cap=rng.choice([0.0, 5.0]), config=config, seed=seed)


# The Gluon kernel for Hopper (LaunchConfig.overlap_softmax) compiles only for sm_90: it is
# tested on the H100 alone. Small blocks with 4 warps cross many tiles on small shapes; the
# 8-warp configs are the ones the tuned table may take.
OVERLAP_CONFIGS = {
    "m64n16s3": LaunchConfig(block_m=64, block_n=16, num_warps=4, num_stages=3,
                             overlap_softmax=True, prefetch_indices=False),
    "m64n32s4_pf_modifiers": LaunchConfig(block_m=64, block_n=32, num_warps=4, num_stages=4,
                                          overlap_softmax=True, prefetch_indices=True,
                                          prefix_kv_cache=".cg", extend_kv_cache=".ca",
                                          q_cache=".cg", index_cache=".cg", grid_order="sequences"),
    "m128n64s4_pf": LaunchConfig(block_m=128, block_n=64, num_warps=8, num_stages=4,
                                 overlap_softmax=True, prefetch_indices=True),
}

# The warp-specialized Gluon kernel (LaunchConfig.warp_specialize) takes one block shape (two
# consumer warpgroups of 64 rows): tested over key tiles of every size it may take.
WS_CONFIGS = {
    f"m128n{block_n}s{stages}": LaunchConfig(block_m=128, block_n=block_n, num_warps=8,
                                             num_stages=stages, warp_specialize=True)
    for block_n, stages in ((16, 2), (32, 3), (64, 3), (128, 2))
}
WS_CONFIGS["m128n64s4_pf_modifiers"] = LaunchConfig(
    block_m=128, block_n=64, num_warps=8, num_stages=4, warp_specialize=True,
    prefetch_indices=True, prefix_kv_cache=".cg", extend_kv_cache=".ca", q_cache=".cg",
    index_cache=".cg", grid_order="sequences")
# ... persistent (LaunchConfig.persistent), in both grid orders, and with packed query heads
# (LaunchConfig.pack_gqa; a group of 1 packs nothing)
WS_CONFIGS.update({f"{name}_persistent": dataclasses.replace(WS_CONFIGS[name], persistent=True)
                   for name in ("m128n16s2", "m128n64s3", "m128n128s2", "m128n64s4_pf_modifiers")})
WS_CONFIGS.update({f"{name}_packed": dataclasses.replace(WS_CONFIGS[name], pack_gqa=True)
                   for name in ("m128n32s3", "m128n64s3_persistent", "m128n64s4_pf_modifiers_persistent")})
# ... and with each consumer's next Q copied ahead (LaunchConfig.prefetch_q), a Q cache
# modifier included
WS_CONFIGS.update({f"{name}_prefetch_q": dataclasses.replace(WS_CONFIGS[name], prefetch_q=True)
                   for name in ("m128n16s2_persistent", "m128n64s3_persistent_packed",
                                "m128n64s4_pf_modifiers_persistent_packed")})
# ... and with the softmax overlapping the previous tile's P·V (LaunchConfig.overlap_pv), on
# the smallest and the largest key tiles and on the tuned windowed row's knobs
WS_CONFIGS.update({f"{name}_overlap_pv": dataclasses.replace(WS_CONFIGS[name], overlap_pv=True)
                   for name in ("m128n16s2", "m128n128s2_persistent",
                                "m128n64s4_pf_modifiers_persistent_packed_prefetch_q")})
# ... and with each program taking its items from a counter (LaunchConfig.dynamic_items)
WS_CONFIGS.update({f"{name}_dynamic": dataclasses.replace(WS_CONFIGS[name], dynamic_items=True)
                   for name in ("m128n16s2_persistent", "m128n128s2_persistent",
                                "m128n64s4_pf_modifiers_persistent_packed_prefetch_q")})
# ... and with whole extend tiles copied by TMA (LaunchConfig.tma_extend)
WS_CONFIGS.update({f"{name}_tma": dataclasses.replace(WS_CONFIGS[name], tma_extend=True)
                   for name in ("m128n16s2", "m128n128s2_persistent", "m128n64s3_persistent_packed",
                                "m128n16s2_persistent_dynamic")})
# ... and with three consumer warpgroups (block_m=192), on the knobs of `default`'s rows
WS_CONFIGS.update({
    "m192n64s3_persistent_packed_prefetch_q_tma": LaunchConfig(
        block_m=192, block_n=64, num_warps=12, num_stages=3, warp_specialize=True, persistent=True,
        pack_gqa=True, prefetch_q=True, tma_extend=True),
    "m192n128s2_persistent_dynamic": LaunchConfig(
        block_m=192, block_n=128, num_warps=12, num_stages=2, warp_specialize=True,
        persistent=True, dynamic_items=True),
    "m192n64s3_persistent_packed_prefetch_q_tma_dynamic": LaunchConfig(
        block_m=192, block_n=64, num_warps=12, num_stages=3, warp_specialize=True, persistent=True,
        pack_gqa=True, prefetch_q=True, tma_extend=True, dynamic_items=True)})
# ... and with the output written through the Q buffers (LaunchConfig.o_through_shared): one
# Q buffer (a later item's Q loaded into it), two (copied ahead into it), three consumers
WS_CONFIGS.update({f"{name}_o_through_shared": dataclasses.replace(WS_CONFIGS[name],
                                                                   o_through_shared=True)
                   for name in ("m128n16s2", "m128n64s3_persistent_packed",
                                "m128n64s4_pf_modifiers_persistent_packed_prefetch_q_overlap_pv",
                                "m192n64s3_persistent_packed_prefetch_q_tma")})
# ... and with each item's keys in one stream (LaunchConfig.one_key_stream): the tile at the
# prefix's end holds both kinds of key, copied row by row; with one program per item or
# persistent, prefetched indices and other cache modifiers, 128-key tiles in two chunks, TMA
# tiles of the extend, three consumers
WS_CONFIGS.update({f"{name}_one_key_stream": dataclasses.replace(WS_CONFIGS[name],
                                                                 one_key_stream=True)
                   for name in ("m128n16s2", "m128n128s2_persistent",
                                "m128n64s4_pf_modifiers_persistent_packed_prefetch_q_overlap_pv",
                                "m192n64s3_persistent_packed_prefetch_q_tma_o_through_shared")})
GLUON_CONFIGS = {**{f"overlap_{name}": config for name, config in OVERLAP_CONFIGS.items()},
                 **{f"ws_{name}": config for name, config in WS_CONFIGS.items()}}


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("config", GLUON_CONFIGS.values(), ids=GLUON_CONFIGS.keys())
@pytest.mark.parametrize("seed", range(6))
def test_gpu_gluon_kernels_random_shapes(dtype, config, seed):
    rng = random.Random(200 + seed)
    batch = rng.randint(1, 4)
    prefix = tuple(rng.choice([0, rng.randint(1, 400)]) for _ in range(batch))
    extend = tuple(rng.randint(1, 300) for _ in range(batch))
    group = rng.choice([1, 4, 8])
    run_and_check(prefix, extend, heads=f"{2 * group}/2", head_dim=rng.choice([64, 128]),
                  dtype=dtype, window=rng.choice([-1, 0, 5, 64, 1000]),
                  logit_cap=rng.choice([0.0, 5.0]), pool=rng.choice(["contiguous", "fragmented"]),
                  config=config, seed=seed, sm_scale=rng.choice([None, 0.05]))


# The 8-warp blocks the tuned table may take, on larger shapes: the overlapped kernel with
# 3 stages and prefetched indices, the warp-specialized one with 2 stages (64-row chunks for
# 128-key tiles, indices loaded per chunk).
GLUON_LARGE = {"overlap_softmax": dict(overlap_softmax=True, num_stages=3, prefetch_indices=True),
               "warp_specialize": dict(warp_specialize=True, num_stages=2),
               "persistent": dict(warp_specialize=True, num_stages=2, persistent=True),
               "persistent_packed": dict(warp_specialize=True, num_stages=2, persistent=True,
                                         pack_gqa=True),
               "persistent_packed_prefetch_q": dict(warp_specialize=True, num_stages=2,
                                                    persistent=True, pack_gqa=True,
                                                    prefetch_q=True),
               "persistent_packed_overlap_pv": dict(warp_specialize=True, num_stages=2,
                                                    persistent=True, pack_gqa=True,
                                                    overlap_pv=True),
               "persistent_packed_prefetch_q_dynamic": dict(warp_specialize=True, num_stages=2,
                                                            persistent=True, pack_gqa=True,
                                                            prefetch_q=True, dynamic_items=True),
               "persistent_packed_tma": dict(warp_specialize=True, num_stages=2, persistent=True,
                                             pack_gqa=True, tma_extend=True),
               # `default`'s rows with a window at head dims 64 and 128, and its short rows
               "persistent_packed_prefetch_q_tma": dict(warp_specialize=True, num_stages=2,
                                                        persistent=True, pack_gqa=True,
                                                        prefetch_q=True, tma_extend=True),
               # ... with the output written through the Q buffers
               "persistent_packed_prefetch_q_tma_o_through_shared": dict(
                   warp_specialize=True, num_stages=2, persistent=True, pack_gqa=True,
                   prefetch_q=True, tma_extend=True, o_through_shared=True)}


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("head_dim,block_n", [(64, 64), (128, 64), (128, 128), (256, 32)])
@pytest.mark.parametrize("window", [-1, 127])
@pytest.mark.parametrize("kernel", GLUON_LARGE)
def test_gpu_gluon_kernels_large_shapes(dtype, head_dim, block_n, window, kernel):
    gen = random.Random(hash((kernel, dtype, head_dim, block_n, window)) & 0xFFFF)
    prefix = tuple(gen.randint(0, 1500) for _ in range(6))
    extend = tuple(gen.randint(1, 700) for _ in range(6))
    config = LaunchConfig(block_m=128, block_n=block_n, num_warps=8, **GLUON_LARGE[kernel])
    run_and_check(prefix, extend, heads="16/2", head_dim=head_dim, dtype=dtype, window=window,
                  config=config, logit_cap=gen.choice([0.0, 30.0]), pool="fragmented")


@pytest.mark.gpu
@pytest.mark.parametrize("programs", [1, 3, 7])
@pytest.mark.parametrize("config", [WS_CONFIGS["m128n16s2_persistent"],
                                    WS_CONFIGS["m128n64s4_pf_modifiers_persistent"],
                                    WS_CONFIGS["m128n64s3_persistent_packed"],
                                    WS_CONFIGS["m128n16s2_persistent_prefetch_q"],
                                    WS_CONFIGS["m128n64s4_pf_modifiers_persistent_packed_prefetch_q"],
                                    WS_CONFIGS["m128n64s4_pf_modifiers_persistent_packed_prefetch_q_overlap_pv"],
                                    WS_CONFIGS["m128n16s2_persistent_dynamic"],
                                    WS_CONFIGS["m128n64s4_pf_modifiers_persistent_packed_prefetch_q_dynamic"],
                                    WS_CONFIGS["m128n16s2_persistent_dynamic_tma"],
                                    WS_CONFIGS["m192n64s3_persistent_packed_prefetch_q_tma_dynamic"]],
                         ids=["m128n16s2", "m128n64s4_pf_sequences", "m128n64s3_packed",
                              "m128n16s2_prefetch_q", "m128n64s4_pf_sequences_packed_prefetch_q",
                              "m128n64s4_pf_sequences_packed_prefetch_q_overlap_pv",
                              "m128n16s2_dynamic", "m128n64s4_pf_sequences_packed_prefetch_q_dynamic",
                              "m128n16s2_dynamic_tma", "m192n64s3_packed_prefetch_q_tma_dynamic"])
def test_gpu_persistent_programs_walk_many_items(monkeypatch, programs, config):
    """Few programs, so that each walks many items (empty ones too) and the K/V ring runs on
    across them for many laps; any phase slip between producer and consumers hangs or
    answers wrong, and so does a Q buffer copied ahead for the wrong item (an empty item's
    copy in flight over the next one's), and, with items taken from a counter, a ring of item
    ids out of step (a program of more items than the ring's slots hung until step 15)."""
    monkeypatch.setattr(ea, "sm_count", lambda device: programs)
    gen = random.Random(programs)
    prefix = tuple(gen.choice([0, gen.randint(1, 600)]) for _ in range(5))
    extend = tuple(gen.randint(1, 400) for _ in range(5))
    for window in (-1, 100):
        run_and_check(prefix, extend, heads="8/2", head_dim=128, dtype="bf16", window=window,
                      config=config, pool="fragmented")


@pytest.mark.gpu
def test_gpu_the_item_counter_is_zero_after_every_launch(monkeypatch):
    """The dynamic schedule's counters are the launcher's, one pair per stream, and the last
    program of each launch zeroes them for the next: after calls of every size, on two streams,
    and a call of one program, they read zero, and every answer is right."""
    config = WS_CONFIGS["m192n64s3_persistent_packed_prefetch_q_tma_dynamic"]
    other = torch.cuda.Stream()
    for programs, stream in ((None, None), (3, None), (None, other), (1, other)):
        if programs is not None:
            monkeypatch.setattr(ea, "sm_count", lambda device, n=programs: n)
        with torch.cuda.stream(stream or torch.cuda.current_stream()):
            for extend in ((40, 300, 7), (1,), (900, 2, 512, 64)):
                run_and_check(tuple(3 * e for e in extend), extend, heads="16/2", head_dim=128,
                              dtype="bf16", config=config)
                counter = ea._item_counter(torch.device(DEVICE))
                assert counter.tolist() == [0, 0]
        monkeypatch.undo()


@pytest.mark.gpu
def test_gpu_default_runs_the_fastest_kernel_this_device_has(monkeypatch):
    """At head dim 128 without a window `default` runs the warp-specialized kernel where the
    Gluon kernels run (sm_90 with Triton 3.6), and the `tl` kernel on every other GPU."""
    arch = torch.cuda.get_device_capability()
    fastest = "ws" if arch == (9, 0) and ea.GLUON_RUNS_ON_THIS_TRITON else "tl"
    launched = []

    class Spy:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, grid):
            launched.append(self.name)
            return self.kernel[grid]

    monkeypatch.setattr(ea, "_extend_attention_kernel", Spy("tl", ea._extend_attention_kernel))
    monkeypatch.setattr(ea, "_extend_attention_ws_kernel", Spy("ws", ea._extend_attention_ws_kernel))
    for extend in (700, ea.LONG_EXTEND_MIN):  # a short and a long shape class
        run_and_check((900, 0, 1500), (extend, 5, 300), heads="16/2", head_dim=128, dtype="bf16")
    assert launched == [fastest, fastest]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("config", ["default", SMALL_BLOCKS_CG, *GLUON_CONFIGS.values()],
                         ids=["default", "small_all_modifiers", *GLUON_CONFIGS.keys()])
def test_gpu_output_written_over_q_extend(dtype, config):
    run_and_check((0, 300, 1200), (500, 7, 260), heads="16/2", head_dim=128, dtype=dtype,
                  window=-1, logit_cap=5.0, config=config, in_place=True)
