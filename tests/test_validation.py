"""Bad input: a ValueError naming the argument, raised before any launch."""

import dataclasses
import itertools

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
    monkeypatch.setattr(ea, "_extend_attention_ws_kernel", Refuse())


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
    expect(inputs, "config.block_m=64, config.num_warps=8: .* two or three consumer warpgroups",
           config=LaunchConfig(**{**WS, "block_m": 64}))
    expect(inputs, "config.block_m=192, config.num_warps=8: .* two or three consumer warpgroups",
           config=LaunchConfig(**{**WS, "block_m": 192}))
    # three consumers (block_m=192, 12 warps): only on the warp-specialized kernel, at head
    # dims up to 128
    d256 = make_inputs((3,), (5,), heads="4/2", head_dim=256, dtype="fp16", device=DEVICE)
    expect(d256, "config.block_m=192: three consumer warpgroups .* head_dim=256",
           config=LaunchConfig(**{**WS, "block_m": 192, "num_warps": 12}))
    expect(inputs, "config.num_warps=12, config.block_m=192: only warp_specialize",
           config=LaunchConfig(block_m=192, num_warps=12))
    with pytest.raises(ValueError, match=r"config.block_n=192: expected a power of two in \[16, 256\]$"):
        LaunchConfig(block_n=192)
    expect(inputs, "config.overlap_softmax=True: warp_specialize",
           config=LaunchConfig(**WS, overlap_softmax=True))
    expect(inputs, "config.num_stages=1", config=LaunchConfig(**{**WS, "num_stages": 1}))
    expect(inputs, "config.prefetch_indices=True: with block_n=128",
           config=LaunchConfig(**{**WS, "block_n": 128}, prefetch_indices=True))
    expect(inputs, "config.max_registers=220: with warp_specialize, each consumer thread's "
           r"registers: a multiple of 8 .* \(it would have 64\)",
           config=LaunchConfig(**WS, max_registers=220))
    expect(inputs, r"config.max_registers=248: .* at least 24 \(it would have 8\)",
           config=LaunchConfig(**WS, max_registers=248))
    expect(inputs, "config.prefix_kv_cache='.cv'", config=LaunchConfig(**WS, prefix_kv_cache=".cv"))
    expect(inputs, "config.num_stages=4: .* shared memory",
           config=LaunchConfig(**{**WS, "num_stages": 4, "block_n": 256}))
    # prefetch_q copies Q with cp.async too, into two buffers per consumer
    prefetching = dict(WS, persistent=True, prefetch_q=True)
    expect(inputs, "config.q_cache='.cv': warp_specialize copies with cp.async",
           config=LaunchConfig(**prefetching, q_cache=".cv"))
    d128 = make_inputs((6, 0, 9), (5, 3, 4), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    expect(d128, "config.num_stages=3: 256 rows of Q and 3 K/V stages of 128 rows need 262144 bytes",
           config=LaunchConfig(**{**prefetching, "block_n": 128}))
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
    # (no window) puts the sequences in z; every order puts the query blocks in y or z. The
    # kernels with a 3-D grid (`baseline`'s; `default` on sm_90 walks work items on one axis:
    # test_the_warp_specialized_grid_is_one_axis_of_work_items).
    many = make_inputs((0,) * (ea.MAX_GRID_YZ + 1), (1,) * (ea.MAX_GRID_YZ + 1), heads="2/1",
                       head_dim=64, dtype="fp16", device=DEVICE)
    expect(many, "qo_indptr: 65536 sequences", validate=False, max_len_extend=1, config="baseline")
    one = make_inputs((0,), (1,), heads="2/1", head_dim=64, dtype="fp16", device=DEVICE)
    too_long = 128 * (ea.MAX_GRID_YZ + 1)  # a claimed extend longer than any grid: with validate=False
    expect(one, "max_len_extend=", validate=False, max_len_extend=too_long, config="baseline")


def test_the_warp_specialized_grid_is_one_axis_of_work_items(ws_launches):
    """Its one axis holds more sequences than CUDA's y and z extents; its int32 counters of rows
    and items are the limits, refused before any launch."""
    cfg = LaunchConfig(**WS, persistent=True, pack_gqa=True)
    many = make_inputs((0,) * (ea.MAX_GRID_YZ + 1), (1,) * (ea.MAX_GRID_YZ + 1), heads="4/2",
                       head_dim=128, dtype="fp16", device=DEVICE)
    extend_attention_fwd(*many.args, config=cfg, validate=False, max_len_extend=1)
    [(grid, args, _)] = ws_launches
    assert grid == (132,) and args[-6:] == (2, 1, ea.MAX_GRID_YZ + 1, None, None, None)
    one = make_inputs((0,), (1,), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    expect(one, "max_len_extend=1073741824: .* the kernel counts rows in int32", validate=False,
           max_len_extend=2 ** 30, config=cfg)
    expect(one, "qo_indptr: 1 sequences of up to 4194304 blocks .* work items", validate=False,
           max_len_extend=2 ** 29, config=dataclasses.replace(cfg, pack_gqa=False),
           q_extend=torch.zeros(1, 512, 128, dtype=torch.float16, device=DEVICE),
           o_extend=torch.zeros(1, 512, 128, dtype=torch.float16, device=DEVICE))


# The targets a call may have (kernels.extend_attention.launch_arch): none (the interpreter),
# A100, L40S, H100, B200.
TARGETS = (None, 80, 89, 90, 100)


def test_shape_class_picks_the_row_of_the_tuned_table():
    windows = (-1, 0, 1, ea.TUNED_WINDOW_MAX, ea.TUNED_WINDOW_MAX + 1)
    assert [ea.shape_class(w, 4000) for w in windows] == [
        "long", "long", "windowed", "windowed", "long"]
    # every table splits short and long extends at one length
    assert ea.shape_class(-1, ea.LONG_EXTEND_MIN - 1) == "short"
    assert ea.shape_class(-1, ea.LONG_EXTEND_MIN) == "long"
    # the sm_90 table runs one row at head dims 128 and 256's short and long extends (steps 30
    # and 31), two at head dim 64's; the `tl` tables one at 64 and 256, two at 128
    for table, counts in ((ea.TUNED_BLOCKS, {64: 2, 128: 1, 256: 1}),
                          (ea.TL_TUNED_BLOCKS, {64: 1, 128: 2, 256: 1})):
        assert {d: len({table[d, "short"], table[d, "long"]}) for d in counts} == counts
    # the upstream variants keep one configuration for short and long extends, on every target
    for variant, arch in itertools.product(("baseline", "cg", "stages2", "cg_stages2"), TARGETS):
        assert (ea.resolve_config(variant, 128, "short", arch=arch)
                == ea.resolve_config(variant, 128, "long", arch=arch))
    with pytest.raises(ValueError, match="shape"):
        ea.resolve_config("default", 128, "huge", arch=90)


# ---------------------------------------------------------------- the target: which kernel `default` runs

@pytest.fixture
def gluon_triton(monkeypatch):
    """Make the Triton release one the Gluon kernels are written for (or not), whatever is installed."""
    def use(runs: bool):
        monkeypatch.setattr(ea, "GLUON_RUNS_ON_THIS_TRITON", runs)
    return use


@pytest.mark.parametrize("shape", ["short", "long"])
def test_default_takes_the_warp_specialized_kernel_on_sm90(gluon_triton, shape):
    gluon_triton(True)
    cfg = ea.resolve_config("default", 128, shape, arch=ea.SM90)
    assert cfg.warp_specialize and cfg == dataclasses.replace(ea.TUNED_BLOCKS[128, shape], tuned=True)
    assert ea.kernel_for(cfg) is ea._extend_attention_ws_kernel


@pytest.mark.parametrize("arch", [arch for arch in TARGETS if arch != 90])
@pytest.mark.parametrize("head_dim", [64, 128, 256])
@pytest.mark.parametrize("shape", ea.SHAPE_CLASSES)
def test_default_runs_the_tl_kernel_off_sm90(gluon_triton, arch, head_dim, shape):
    gluon_triton(True)
    cfg = ea.resolve_config("default", head_dim, shape, arch=arch)
    assert not cfg.warp_specialize and not cfg.overlap_softmax
    assert ea.kernel_for(cfg) is ea._extend_attention_kernel
    assert cfg == dataclasses.replace(ea.PORTABLE_BLOCKS[head_dim, shape], tuned=True)


def test_default_on_sm90_with_a_triton_whose_gluon_api_differs(gluon_triton, inputs):
    gluon_triton(False)
    for shape in ("short", "long"):
        cfg = ea.resolve_config("default", 128, shape, arch=ea.SM90)
        assert cfg == dataclasses.replace(ea.TL_TUNED_BLOCKS[128, shape], tuned=True)
        assert not cfg.warp_specialize
    assert "Gluon API of Triton 3.6" in ea.gluon_unavailable(ea.SM90)


def test_only_head_dim_256_without_a_window_needs_other_blocks_off_sm90():
    """The portable rows are the H100's `tl` rows but where those need more shared memory
    than sm_8x has (ci/codegen_gate.py checks the compiled figures for sm_80 and sm_100)."""
    differ = {key for key in ea.TL_TUNED_BLOCKS if ea.PORTABLE_BLOCKS[key] != ea.TL_TUNED_BLOCKS[key]}
    assert differ == {(256, "short"), (256, "long")}
    assert {key for key in ea.TUNED_BLOCKS if ea.TUNED_BLOCKS[key].warp_specialize} == {
        (64, "windowed"), (64, "short"), (64, "long"), (128, "windowed"), (128, "short"),
        (128, "long"), (256, "windowed"), (256, "short"), (256, "long")}
    assert not any(row.warp_specialize or row.overlap_softmax for row in ea.PORTABLE_BLOCKS.values())


def test_one_offset_per_row_only_where_k_and_v_are_alike_and_fit_32_bits():
    """ea.shared_kv_offsets: the warp-specialized kernel computes one 32-bit offset per row for
    K and V only where the extends have one shape and one set of strides, the pools too, and
    the last element's offset in each is below 2**31."""
    def meta(*shape):
        return torch.empty(*shape, device="meta")

    extend, pool = meta(300, 8, 128), meta(1000, 8, 128)
    assert ea.shared_kv_offsets(extend, meta(300, 8, 128), pool, meta(1000, 8, 128))
    # a V pool or a V extend that is a view of a wider tensor has other strides
    assert not ea.shared_kv_offsets(extend, extend, pool, meta(1000, 10, 128)[:, 1:9])
    assert not ea.shared_kv_offsets(extend, meta(300, 10, 128)[:, 1:9], pool, pool)
    assert not ea.shared_kv_offsets(extend, extend, pool, meta(999, 8, 128))
    # views of one fused projection share their strides, whatever their bases
    fused = meta(300, 48, 128)
    assert ea.shared_kv_offsets(fused[:, 32:40], fused[:, 40:], pool, pool)
    rows = 2**31 // (8 * 128)  # the last element's offset is 2**31 - 1 ...
    assert ea.shared_kv_offsets(extend, extend, *[meta(rows, 8, 128)] * 2)
    # ... and 2**31 one row on
    assert not ea.shared_kv_offsets(extend, extend, *[meta(rows + 1, 8, 128)] * 2)
    assert not ea.shared_kv_offsets(*[meta(rows + 1, 8, 128)] * 2, pool, pool)


@pytest.fixture
def ws_launches(monkeypatch, gluon_triton):
    """The warp-specialized kernel's launches, as on an sm_90 GPU with 132 SMs: (grid, the
    positional arguments, the keywords) each, nothing run."""
    gluon_triton(True)
    launched = []

    class Record:
        def __getitem__(self, grid):
            return lambda *args, **kwargs: launched.append((grid, args, kwargs))

    monkeypatch.setattr(ea, "launch_arch", lambda device: ea.SM90)
    monkeypatch.setattr(ea, "_extend_attention_ws_kernel", Record())
    monkeypatch.setattr(ea, "sm_count", lambda device: 132)
    return launched


def test_the_launcher_runs_the_warp_specialized_kernel_where_it_resolves_sm90(ws_launches):
    """`default` at head dim 128 without a window, launched as on an sm_90 GPU: the
    launcher's target decides, and the Gluon kernel is the one launched."""
    d128 = make_inputs((6, 0, 9), (5, 3, 4), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    extend_attention_fwd(*d128.args)
    [(grid, args, kwargs)] = ws_launches
    # short extends: three consumer warpgroups (192-row items), 64-key tiles
    assert kwargs["BLOCK_M"] == 192 and kwargs["BLOCK_N"] == 64
    assert kwargs["CONSUMER_REGISTERS"] == ea.WS_REGISTERS[3].consumer
    # a persistent grid of items, each the 2 query heads of a KV head packed into its rows;
    # the items' extents: KV heads, blocks of 192 rows, sequences; the items
    # after each program's first taken from a counter
    assert kwargs["PERSISTENT"] and kwargs["GQA_PACK"] == 2 and kwargs["DYNAMIC_ITEMS"]
    # K and V are alike and small: one 32-bit offset per row serves both
    assert kwargs["SHARED_KV_OFFSETS"]
    assert grid == (2 * 1 * 3,) and args[-6:-3] == (2, 1, 3)
    counter = args[-3]
    # [the next item, the programs done], zero: the kernel's last program zeroes them again
    assert counter.dtype == torch.int32 and counter.tolist() == [0, 0]


def _launch_summary(launch, keyword):
    grid, args, kwargs = launch
    # the strided schedule takes no item counter
    assert args[-3] is None and not kwargs["DYNAMIC_ITEMS"]
    return grid, args[-6:-3], kwargs[keyword]


def test_a_persistent_launch_takes_one_program_per_sm_at_most(ws_launches, monkeypatch):
    monkeypatch.setattr(ea, "sm_count", lambda device: 5)
    d128 = make_inputs((6, 0, 9), (5, 3, 300), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    for persistent, programs in ((True, 5), (False, 4 * 3 * 3)):
        extend_attention_fwd(*d128.args, config=LaunchConfig(**WS, persistent=persistent))
        assert _launch_summary(ws_launches.pop(), "PERSISTENT") == ((programs,), (4, 3, 3), persistent)
    small = make_inputs((6,), (5,), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    extend_attention_fwd(*small.args, config=LaunchConfig(**WS, persistent=True))
    # fewer items than SMs: one program each
    assert _launch_summary(ws_launches.pop(), "PERSISTENT") == ((4,), (4, 1, 1), True)


def test_work_item_knobs_need_the_warp_specialized_kernel(inputs):
    for knob in ("persistent", "pack_gqa", "prefetch_q", "dynamic_items"):
        expect(inputs, f"config.{knob}=True: only the warp-specialized kernel walks work items",
               config=LaunchConfig(**{knob: True}))
        with pytest.raises(ValueError, match=f"config.{knob}='yes': expected a bool"):
            LaunchConfig(**{knob: "yes"})
    expect(inputs, "config.prefetch_q=True: a program of one item has no next item",
           config=LaunchConfig(**WS, prefetch_q=True))
    expect(inputs, "config.dynamic_items=True: a program of one item takes no other",
           config=LaunchConfig(**WS, dynamic_items=True))
    for kernel in ({}, OVERLAP):
        expect(inputs, "config.one_key_stream=True: only the warp-specialized kernel walks an "
               "item's keys as one stream", config=LaunchConfig(**kernel, one_key_stream=True))
    with pytest.raises(ValueError, match="config.one_key_stream=1: expected a bool"):
        LaunchConfig(one_key_stream=1)
    # the consumers' knobs, refused on the `tl` kernel and on the other Gluon kernel alike
    for knob in ("overlap_pv", "o_through_shared"):
        for kernel in ({}, OVERLAP):
            expect(inputs, f"config.{knob}=True: only the warp-specialized kernel's consumers",
                   config=LaunchConfig(**kernel, **{knob: True}))
        with pytest.raises(ValueError, match=f"config.{knob}=1: expected a bool"):
            LaunchConfig(**{knob: 1})


@pytest.mark.parametrize("heads,packed,item_heads,blocks", [
    ("4/2", 2, 2, 5),      # 300 tokens of 2 heads: 600 rows, 5 blocks of 128
    ("16/2", 8, 2, 19),    # 2400 rows
    ("128/1", 1, 128, 3),  # a group of 128 does not divide a consumer's 64 rows: not packed
])
def test_packed_heads_make_items_of_a_kv_heads_rows(ws_launches, heads, packed, item_heads, blocks):
    d128 = make_inputs((6, 9), (5, 300), heads=heads, head_dim=128, dtype="fp16", device=DEVICE)
    extend_attention_fwd(*d128.args, config=LaunchConfig(**WS, pack_gqa=True))
    assert _launch_summary(ws_launches.pop(), "GQA_PACK") == (
        (item_heads * blocks * 2,), (item_heads, blocks, 2), packed)


def test_an_explicit_gluon_config_is_refused_off_sm90_with_its_reason(inputs, monkeypatch, gluon_triton):
    gluon_triton(True)
    monkeypatch.setattr(ea, "launch_arch", lambda device: 80)
    expect(inputs, "config.warp_specialize=True: the Gluon kernels run on sm_90 GPUs only, not sm_80",
           config=LaunchConfig(**WS))
    expect(inputs, "config.overlap_softmax=True: .* not sm_80", config=LaunchConfig(**OVERLAP))
    monkeypatch.setattr(ea, "launch_arch", lambda device: ea.SM90)
    gluon_triton(False)
    expect(inputs, "config.warp_specialize=True: the Gluon kernels are written for the Gluon API "
                   "of Triton 3.6", config=LaunchConfig(**WS))


@pytest.mark.skipif(DEVICE != "cuda", reason="reads a CUDA device's capability")
def test_launch_arch_reads_the_cuda_capability():
    major, minor = torch.cuda.get_device_capability()
    assert ea.launch_arch(torch.device("cuda")) == 10 * major + minor


# ---------------------------------------------------------------- devices and dtypes no kernel serves

def test_bf16_under_the_interpreter_is_refused(monkeypatch):
    monkeypatch.setattr(ea, "RUNS_IN_INTERPRETER", True)
    bf16 = make_inputs((3,), (4,), heads="2/1", head_dim=64, dtype="bf16", device=DEVICE)
    with pytest.raises(ValueError, match="q_extend: dtype torch.bfloat16 under Triton's interpreter"):
        extend_attention_fwd(*bf16.args)


def test_cpu_tensors_without_the_interpreter_are_refused(monkeypatch):
    monkeypatch.setattr(ea, "RUNS_IN_INTERPRETER", False)
    cpu = make_inputs((3,), (4,), heads="2/1", head_dim=64, dtype="fp16", device="cpu")
    with pytest.raises(ValueError, match="q_extend: on cpu: the kernel runs on CUDA devices.*TRITON_INTERPRET"):
        extend_attention_fwd(*cpu.args)


def test_meta_tensors_are_refused(inputs):
    meta = [t.to("meta") for t in inputs.args]
    with pytest.raises(ValueError, match="q_extend: on the meta device"):
        extend_attention_fwd(*meta)


# ---------------------------------------------------------------- an output that shares memory

@pytest.fixture
def same_heads():
    """Query and KV heads alike, so that o_extend may take k_extend's shape."""
    return make_inputs((6, 0, 120), (5, 3, 130), heads="2/2", head_dim=64, dtype="fp16",
                       device=DEVICE, pool="fragmented", pool_slack=2)


def test_an_output_that_overlaps_itself_is_refused(inputs):
    n, hq, d = inputs.o_extend.shape
    expanded = inputs.o_extend[:1].expand(n, hq, d)  # row stride 0
    expect(inputs, r"o_extend: strides \(0, 64, 1\) .* share memory", o_extend=expanded)
    half_heads = inputs.o_extend.as_strided((n, hq, d), (hq * d, d // 2, 1))  # heads overlap
    expect(inputs, "o_extend: strides .* share memory", o_extend=half_heads)


def test_an_output_sharing_memory_with_an_input_is_refused(inputs, same_heads):
    n, hq, d = inputs.q_extend.shape
    rows = torch.zeros(n + 1, hq, d, dtype=inputs.q_extend.dtype, device=DEVICE)
    expect(inputs, "o_extend: shares memory with q_extend", q_extend=rows[1:], o_extend=rows[:-1])
    expect(same_heads, "o_extend: shares memory with k_extend", o_extend=same_heads.k_extend)
    expect(same_heads, "o_extend: shares memory with v_extend", o_extend=same_heads.v_extend[:, :, :])
    # the pool's last ten rows are the output's first ten
    pool, n_same = same_heads.k_buffer, same_heads.o_extend.shape[0]
    both = torch.zeros(pool.shape[0] - 10 + n_same, *pool.shape[1:], dtype=pool.dtype, device=DEVICE)
    both[:pool.shape[0]] = pool
    expect(same_heads, "o_extend: shares memory with k_buffer", k_buffer=both[:pool.shape[0]],
           o_extend=both[pool.shape[0] - 10:])
    # the bytes of kv_indices, taken as an output of fp16
    raw = torch.zeros(n * hq * d * 2, dtype=torch.uint8, device=DEVICE)
    o = raw.view(torch.float16).view(n, hq, d)
    indices = raw[:inputs.kv_indices.numel() * 4].view(torch.int32)
    indices.copy_(inputs.kv_indices)
    expect(inputs, "o_extend: shares memory with kv_indices", o_extend=o, kv_indices=indices)


def test_column_slices_of_one_buffer_share_memory_only_where_their_columns_meet():
    fused = torch.zeros(7, 6, 64, dtype=torch.float16)
    q, k, v, shifted = fused[:, :2], fused[:, 2:4], fused[:, 4:], fused[:, 1:3]
    assert not ea._share_memory(q, k) and not ea._share_memory(v, q) and not ea._share_memory(k, v)
    assert ea._share_memory(q, shifted) and ea._share_memory(shifted, k)
    assert ea._share_memory(q, fused[1:, :1])  # row 1 of q
    assert not ea._share_memory(fused[:3, 4:], fused[3:, :2])  # q's rows start where v's end
    # views that interleave otherwise count as sharing, whatever their elements
    assert ea._share_memory(fused[:, :, :32], fused[:, :, 32:])
    assert not ea._share_memory(fused[:0], fused)


# ---------------------------------------------------------------- scalars

def test_scalars_the_kernel_cannot_take_are_refused_with_their_names(inputs):
    for window in (2 ** 64, 2 ** 31, -2 ** 31 - 1, True, False, 3.0):
        expect(inputs, "sliding_window_size: expected an int in", sliding_window_size=window)
    for scale in (True, 1e-50, 1e39, float("inf"), "0.1"):
        expect(inputs, "sm_scale: expected a positive number", sm_scale=scale)
    for cap in (True, -1.0, 1e-45, 1e39, float("inf")):
        expect(inputs, "logit_cap: expected 0", logit_cap=cap)
    expect(inputs, "logit_cap: expected 0", logit_cap=1e-37, sm_scale=1e2)  # the ratio overflows
    for length in (True, 2.0, -1):
        expect(inputs, "max_len_extend: expected an int", max_len_extend=length)
    expect(inputs, "validate: expected a bool", validate="no")


def test_int32_edges_of_the_window_are_accepted(inputs, monkeypatch):
    launched = []

    class Record:
        def __getitem__(self, grid):
            return lambda *args, **kwargs: launched.append(args[11])  # sliding_window

    monkeypatch.setattr(ea, "_extend_attention_kernel", Record())
    for window in (ea.INT32_MAX, ea.INT32_MIN):
        call(inputs, sliding_window_size=window, config="baseline")
    assert launched == [ea.INT32_MAX, ea.INT32_MIN]


# ---------------------------------------------------------------- max_len_extend below the longest extend

def test_a_short_max_len_extend_is_refused_without_validation_where_it_costs_no_sync(inputs):
    # qo_indptr on the CPU (the interpreter): read exactly, although validate=False
    if inputs.qo_indptr.device.type == "cpu":
        expect(inputs, r"max_len_extend=4 is shorter than the longest extend \(5\)",
               max_len_extend=4, validate=False)
    # on a device, only the mean bound: its contents are never read (a meta tensor has none)
    on_device = torch.zeros(4, dtype=torch.int32, device="meta")
    with pytest.raises(ValueError, match=r"max_len_extend=3 .* \(at least 4: 12 rows over 3 sequences\)"):
        ea._longest_extend(on_device, 12, 3, validate=False)
    assert ea._longest_extend(on_device, 12, 4, validate=False) == 4  # may still be short: documented
    assert ea._longest_extend(on_device[:1], 0, 0, validate=False) == 0


def test_tma_extend_copies_where_the_heads_lie_packed(ws_launches):
    """tma_extend: descriptors of k_extend and v_extend, as [tokens, kv heads * head dim] in
    tiles of one head, where the heads lie packed in a row (a contiguous tensor, or a fused
    qkv buffer's slices); otherwise the extend tiles are copied row by row."""
    cfg = LaunchConfig(**WS, persistent=True, tma_extend=True)
    d128 = make_inputs((6, 0, 9), (5, 3, 300), heads="4/2", head_dim=128, dtype="fp16", device=DEVICE)
    extend_attention_fwd(*d128.args, config=cfg)
    grid, args, kwargs = ws_launches.pop()
    k_desc, v_desc = args[-2:]
    assert kwargs["TMA_EXTEND"] and k_desc.base is d128.k_extend and v_desc.base is d128.v_extend
    assert k_desc.shape == [308, 2 * 128] and k_desc.block_shape == [64, 128]
    # a head dim apart from its neighbours' by more than a head: no descriptor
    wide = torch.zeros(308, 2, 256, dtype=torch.float16, device=DEVICE)
    k_apart, v_apart = wide[:, :, :128].copy_(d128.k_extend), wide[:, :, 128:].copy_(d128.v_extend)
    args_apart = list(d128.args)
    args_apart[1:3] = [k_apart, v_apart]
    extend_attention_fwd(*args_apart, config=cfg)
    grid, args, kwargs = ws_launches.pop()
    assert not kwargs["TMA_EXTEND"] and args[-2:] == (None, None)
    expect(d128, "config.tma_extend=True: only the warp-specialized kernel's producer",
           config=LaunchConfig(tma_extend=True))
    expect(d128, "config.tma_extend=True: a tile copied by TMA skips",
           config=LaunchConfig(**WS, prefetch_indices=True, tma_extend=True))
