"""Bad input: a ValueError naming the argument, raised before any launch."""

import dataclasses

import pytest
import torch

from benchmarks.workloads import make_inputs
from conftest import DEVICE
from kernels import LaunchConfig, extend_attention_fwd
from kernels import extend_attention as ea


@pytest.fixture
def inputs():
    return make_inputs((6, 0, 9), (5, 3, 4), heads="4/2", head_dim=64, dtype="fp16",
                       device=DEVICE, pool="fragmented", pool_slack=2)


@pytest.fixture(autouse=True)
def no_launch(monkeypatch):
    """Any launch during these tests is a failure: validation must come first."""
    class Refuse:
        def __getitem__(self, grid):
            raise AssertionError("the kernel was launched on bad input")
    monkeypatch.setattr(ea, "_extend_attention_kernel", Refuse())
    monkeypatch.setattr(ea, "_extend_attention_hopper_kernel", Refuse())


def call(inputs, **changes):
    names = ["q_extend", "k_extend", "v_extend", "o_extend", "k_buffer", "v_buffer",
             "qo_indptr", "kv_indptr", "kv_indices"]
    args = dict(zip(names, inputs.args))
    kwargs = {k: changes.pop(k) for k in list(changes) if k not in names}
    args.update(changes)
    extend_attention_fwd(*args.values(), **kwargs)


def expect(inputs, match, **changes):
    with pytest.raises(ValueError, match=match):
        call(inputs, **changes)


def test_dtype_mismatch(inputs):
    expect(inputs, "k_extend", k_extend=inputs.k_extend.float())
    expect(inputs, "q_extend", q_extend=inputs.q_extend.float(), o_extend=inputs.o_extend.float())


def test_output_dtype_mismatch(inputs):
    expect(inputs, "o_extend", o_extend=inputs.o_extend.to(torch.bfloat16))


def test_index_dtype(inputs):
    expect(inputs, "kv_indices", kv_indices=inputs.kv_indices.float())


def test_not_a_tensor(inputs):
    expect(inputs, "v_buffer", v_buffer=[1, 2, 3])


def test_shape_mismatch(inputs):
    expect(inputs, "v_extend", v_extend=inputs.v_extend[:-1])
    expect(inputs, "o_extend", o_extend=inputs.o_extend[:, :2])
    expect(inputs, "k_buffer", k_buffer=inputs.k_buffer[:, :1])
    expect(inputs, "v_buffer", v_buffer=inputs.v_buffer[:-1])
    expect(inputs, "q_extend", q_extend=inputs.q_extend[0])


def test_heads_not_multiple(inputs):
    n, _, d = inputs.q_extend.shape
    q = torch.zeros(n, 3, d, dtype=inputs.q_extend.dtype, device=DEVICE)
    expect(inputs, "KV heads", q_extend=q, o_extend=torch.zeros_like(q))


def test_unsupported_head_dim():
    bad = make_inputs((2,), (3,), heads="2/1", head_dim=64, dtype="fp16", device=DEVICE)
    q = bad.q_extend[..., :48]
    with pytest.raises(ValueError, match="head dim"):
        extend_attention_fwd(q, bad.k_extend[..., :48], bad.v_extend[..., :48], bad.o_extend[..., :48],
                             bad.k_buffer[..., :48], bad.v_buffer[..., :48], *bad.args[6:])


def test_non_contiguous_head_dim(inputs):
    q = inputs.q_extend.transpose(1, 2).contiguous().transpose(1, 2)
    expect(inputs, "q_extend.*stride", q_extend=q)


def test_device_mismatch(inputs):
    if DEVICE == "cpu":
        expect(inputs, "kv_indices", kv_indices=inputs.kv_indices.to("meta"))
    else:
        expect(inputs, "kv_indices", kv_indices=inputs.kv_indices.cpu())


def test_indptr_lengths(inputs):
    expect(inputs, "kv_indptr", kv_indptr=inputs.kv_indptr[:-1])
    expect(inputs, "qo_indptr", qo_indptr=inputs.qo_indptr[:0], kv_indptr=inputs.kv_indptr[:0])


def test_indptr_does_not_match_tensors(inputs):
    qo = inputs.qo_indptr.clone()
    qo[-1] -= 1
    expect(inputs, r"qo_indptr\[-1\]", qo_indptr=qo)
    kv = inputs.kv_indptr.clone()
    kv[-1] = inputs.kv_indices.numel() + 1
    expect(inputs, "kv_indptr", kv_indptr=kv)
    qo = inputs.qo_indptr.clone()
    qo[0] = 1
    expect(inputs, r"qo_indptr\[0\]", qo_indptr=qo)


def test_non_monotone_indptr(inputs):
    qo = inputs.qo_indptr.clone()
    qo[1] = int(qo[2]) + 1  # [0, 9, 8, 12]
    expect(inputs, "qo_indptr: not monotone", qo_indptr=qo)
    kv = inputs.kv_indptr.clone()
    kv[1] = kv[2] + 1
    expect(inputs, "kv_indptr: not monotone", kv_indptr=kv)


def test_kv_indices_outside_pool(inputs):
    rows = inputs.kv_indices.clone()
    rows[3] = inputs.k_buffer.shape[0]
    expect(inputs, "kv_indices", kv_indices=rows)
    rows[3] = -1
    expect(inputs, "kv_indices", kv_indices=rows)


def test_unknown_variant_and_bad_knobs(inputs):
    expect(inputs, "config", config="fastest")
    expect(inputs, "config", config=dict(num_stages=2))
    with pytest.raises(ValueError, match="prefix_kv_cache"):
        LaunchConfig(prefix_kv_cache=".xx")
    with pytest.raises(ValueError, match="num_stages"):
        LaunchConfig(num_stages=0)
    with pytest.raises(ValueError, match="block_m"):
        LaunchConfig(block_m=48)
    with pytest.raises(ValueError, match="num_warps"):
        dataclasses.replace(LaunchConfig(), num_warps=3)
    with pytest.raises(ValueError, match="grid_order"):
        LaunchConfig(grid_order="diagonal")
    with pytest.raises(ValueError, match="prefetch_indices"):
        LaunchConfig(prefetch_indices="yes")
    with pytest.raises(ValueError, match="overlap_softmax"):
        LaunchConfig(overlap_softmax=1)


OVERLAP = dict(overlap_softmax=True, block_m=64, block_n=32, num_warps=4, num_stages=3)


def test_overlap_softmax_needs_what_the_gluon_kernel_is_written_for(inputs):
    expect(inputs, r"config.block_m=128: .* 16 \* num_warps = 64",
           config=LaunchConfig(**{**OVERLAP, "block_m": 128}))
    expect(inputs, "config.num_stages=2", config=LaunchConfig(**{**OVERLAP, "num_stages": 2}))
    expect(inputs, "config.extend_kv_cache='.cv'",
           config=LaunchConfig(**OVERLAP, extend_kv_cache=".cv"))
    expect(inputs, "config.num_stages=8: .* shared memory",
           config=LaunchConfig(**{**OVERLAP, "num_stages": 8, "block_n": 256}))


@pytest.mark.skipif(DEVICE == "cuda" and torch.cuda.get_device_capability() == (9, 0),
                    reason="on sm_90 the Gluon kernel runs (tests/test_kernel.py)")
def test_overlap_softmax_refused_off_sm90(inputs):
    expect(inputs, "config.overlap_softmax=True: .* sm_90", config=LaunchConfig(**OVERLAP))


WS = dict(warp_specialize=True, block_m=128, block_n=64, num_warps=8, num_stages=3)


def test_warp_specialize_needs_what_the_gluon_kernel_is_written_for(inputs):
    expect(inputs, "config.block_m=64, config.num_warps=8: .* two consumer warpgroups",
           config=LaunchConfig(**{**WS, "block_m": 64}))
    expect(inputs, "config.overlap_softmax=True: warp_specialize",
           config=LaunchConfig(**WS, overlap_softmax=True))
    expect(inputs, "config.num_stages=1", config=LaunchConfig(**{**WS, "num_stages": 1}))
    expect(inputs, "config.prefetch_indices=True: with block_n=128",
           config=LaunchConfig(**{**WS, "block_n": 128}, prefetch_indices=True))
    expect(inputs, "config.max_registers=128: warp_specialize sets its own split",
           config=LaunchConfig(**WS, max_registers=128))
    expect(inputs, "config.prefix_kv_cache='.cv'", config=LaunchConfig(**WS, prefix_kv_cache=".cv"))
    expect(inputs, "config.num_stages=4: .* shared memory",
           config=LaunchConfig(**{**WS, "num_stages": 4, "block_n": 256}))
    with pytest.raises(ValueError, match="warp_specialize"):
        LaunchConfig(warp_specialize="yes")


@pytest.mark.skipif(DEVICE == "cuda" and torch.cuda.get_device_capability() == (9, 0),
                    reason="on sm_90 the Gluon kernel runs (tests/test_kernel.py)")
def test_warp_specialize_refused_off_sm90(inputs):
    expect(inputs, "config.warp_specialize=True: .* sm_90", config=LaunchConfig(**WS))


def test_bad_scalars(inputs):
    expect(inputs, "sm_scale", sm_scale=-1.0)
    expect(inputs, "logit_cap", logit_cap=float("nan"))
    expect(inputs, "sliding_window_size", sliding_window_size=1.5)
    expect(inputs, "max_len_extend", max_len_extend=-3)
    expect(inputs, "max_len_extend", max_len_extend=2)  # shorter than the longest extend (5)


def test_validate_false_skips_content_checks_only(inputs):
    rows = inputs.kv_indices.clone()
    rows[0] = 10 ** 6
    expect(inputs, "kv_indices", kv_indices=rows)  # caught when validating
    expect(inputs, "k_extend", k_extend=inputs.k_extend.float(), validate=False)  # metadata still checked


def test_grid_limits():
    # CUDA caps a grid's y and z extents at 65535: refused, not launched wrong. Heads first
    # (no window) puts the sequences in z; every order puts the query blocks in y or z.
    many = make_inputs((0,) * (ea.MAX_GRID_YZ + 1), (1,) * (ea.MAX_GRID_YZ + 1), heads="2/1",
                       head_dim=64, dtype="fp16", device=DEVICE)
    expect(many, "qo_indptr: 65536 sequences", validate=False, max_len_extend=1)
    one = make_inputs((0,), (1,), heads="2/1", head_dim=64, dtype="fp16", device=DEVICE)
    too_long = 128 * (ea.MAX_GRID_YZ + 1)  # a claimed extend longer than any grid: with validate=False
    expect(one, "max_len_extend=", validate=False, max_len_extend=too_long)


def test_shape_class_picks_the_row_of_the_tuned_table():
    windows = (-1, 0, 1, ea.TUNED_WINDOW_MAX, ea.TUNED_WINDOW_MAX + 1)
    assert [ea.shape_class(w, 4000) for w in windows] == ["long", "long", "windowed", "windowed", "long"]
    assert ea.shape_class(-1, ea.LONG_EXTEND_MIN - 1) == "short"
    assert ea.shape_class(-1, ea.LONG_EXTEND_MIN) == "long"
    # the upstream variants keep one configuration for short and long extends
    for variant in ("baseline", "cg", "stages2", "cg_stages2"):
        assert ea.resolve_config(variant, 128, "short") == ea.resolve_config(variant, 128, "long")
    with pytest.raises(ValueError, match="shape"):
        ea.resolve_config("default", 128, "huge")
