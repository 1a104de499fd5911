"""What the compiler makes of each variant for sm_90 (and of `default` for the other GPUs),
checked on a CPU-only machine."""

import dataclasses
import re

import pytest

from conftest import needs_gluon
from kernels import VARIANTS, LaunchConfig
from kernels import extend_attention as ea
from kernels.codegen import compile_for_target, sass_loops


def gathered_vector_loads_per_tile(head_dim, num_warps, block_n=64):
    """16-byte loads per thread for one K and one V tile of BLOCK_N x D bf16."""
    return 2 * block_n * head_dim * 2 // 16 // (32 * num_warps)


@pytest.mark.parametrize("head_dim", [64, 128, 256])
def test_cg_marks_exactly_the_gathered_prefix_loads(head_dim):
    cg = compile_for_target("cg", head_dim=head_dim)
    baseline = compile_for_target("baseline", head_dim=head_dim)
    assert baseline.ld_global_cg == 0
    # the same program but for the modifier on some loads...
    assert cg.ptx.replace("ld.global.cg.", "ld.global.") == baseline.ptx
    # ...and those loads are whole K/V tiles of 16-byte gathers (one set per prefix loop)
    per_tile = gathered_vector_loads_per_tile(head_dim, cg.num_warps)
    assert cg.ld_global_cg > 0 and cg.ld_global_cg % per_tile == 0
    assert set(re.findall(r"ld\.global\.cg\.[\w.]+", cg.ptx)) == {"ld.global.cg.v4.b32"}


def test_pipelining_drops_the_cg_modifier():
    """A finding this project exists to surface, pinned so that a Triton change shows up.

    With num_stages=2 Triton 3.6 turns the gathered loads into cp.async.cg copies to shared
    memory, whatever modifier the load asked for: `stages2` and `cg_stages2` (the upstream
    change) compile to identical PTX, so the upstream speedup cannot come from `.cg`.
    """
    stages2 = compile_for_target("stages2", head_dim=128)
    cg_stages2 = compile_for_target("cg_stages2", head_dim=128)
    assert cg_stages2.ld_global_cg == 0
    assert "cp.async.cg.shared.global" in cg_stages2.ptx
    assert stages2.ptx == cg_stages2.ptx


def test_prefetched_indices_let_the_gathered_loads_pipeline():
    """Step 5's finding (docs/MEASUREMENTS.md), pinned so that a Triton change shows up.

    The `tl` kernel with step 5's blocks at head dim 128 (num_stages=3): every loop should
    wait only for the tile two ahead (`cp.async.wait_group 2`). With each tile's pool rows
    loaded in the tile's own iteration, Triton 3.6 pipelines that index load instead, and
    the two prefix loops wait for every copy (`wait_group 0`) at the top of each iteration;
    only the two extend loops keep the deep wait.
    """
    prefetched = LaunchConfig(block_m=128, block_n=64, num_warps=8, num_stages=3,
                              grid_order="heads", prefetch_indices=True)
    in_place = dataclasses.replace(prefetched, prefetch_indices=False)

    def deep_waits(config):
        return len(re.findall(r"cp\.async\.wait_group\s+2;", compile_for_target(config, head_dim=128).ptx))

    assert deep_waits(prefetched) == 4
    assert deep_waits(in_place) == 2


@needs_gluon
def test_overlap_softmax_keeps_the_softmax_between_the_two_mma_waits():
    """The Gluon kernel's point (LaunchConfig.overlap_softmax), pinned in the SASS.

    Each iteration waits for the scores' MMA (`WARPGROUP.DEPBAR.LE gsb0, 0x1`), then runs
    the softmax (one MUFU.EX2 per score) while P·V runs, then waits for P·V (`0x0`). ptxas
    moves that second wait to the top of its basic block, so the kernel ends the softmax
    in the blocks before it; a ptxas or kernel change that puts the wait back above the
    exponentials shows up here.
    """
    config = LaunchConfig(block_m=128, block_n=64, num_warps=8, num_stages=3,
                          grid_order="heads", prefetch_indices=True, overlap_softmax=True)
    report = compile_for_target(config, head_dim=128)
    assert report.stack_bytes == 0
    events = re.findall(r"WARPGROUP\.DEPBAR\.LE gsb0, (0x[01])|(MUFU\.EX2)", report.sass())
    exps_after_scores_wait, overlapped = None, []
    for wait, exp in events:
        if wait == "0x1":
            exps_after_scores_wait = 0
        elif exp and exps_after_scores_wait is not None:
            exps_after_scores_wait += 1
        elif wait == "0x0" and exps_after_scores_wait is not None:
            overlapped.append(exps_after_scores_wait)
            exps_after_scores_wait = None
    scores_per_thread = 128 * 64 // (32 * 8)
    assert overlapped and min(overlapped) >= scores_per_thread, overlapped


@needs_gluon
def test_warp_specialized_kernel_moves_registers_to_the_consumers():
    """`default`'s D=128 rows without a window (LaunchConfig.warp_specialize), in the SASS:
    three consumer warpgroups and a producer (step 19's short row, the long row's too since
    step 30).

    Four warpgroups share 128 registers per thread; setmaxnreg gives each consumer 152 and the
    producer 56. The few words of stack (16 bytes; 8 with the output stored from registers)
    are stored and loaded around the items, never in the three consumers' key-tile loops (12
    HGMMA each: a 64-key tile's scores over D=128 and the previous tile's P·V).
    """
    row = ea.resolve_config("default", 128, "long", arch=90)
    assert row == ea.resolve_config("default", 128, "short", arch=90)
    assert row.block_m == 192 and row.dynamic_items and row.o_through_shared
    assert ea.ws_registers(row) == ea.WsRegisters(128, 152, 56)
    report = compile_for_target(row, head_dim=128, shape="long")
    assert report.num_warps == 16 and report.registers == 128 and report.stack_bytes <= 16
    assert report.shared_bytes <= 227 * 1024
    tile_loops = [loop for loop in report.loops() if loop.opcodes.get("HGMMA", 0) == 12]
    assert len(tile_loops) == 3
    for loop in tile_loops:
        assert not {"STL", "LDL"} & set(loop.opcodes), loop.opcodes
    sass = report.sass()
    assert "USETMAXREG.TRY_ALLOC.CTAPOOL UP0, 0x98" in sass  # consumers: 152
    assert "USETMAXREG.DEALLOC.CTAPOOL 0x38" in sass  # producer: 56


@needs_gluon
def test_max_registers_sets_a_warp_specialized_kernels_split():
    """LaunchConfig.max_registers on the warp-specialized kernel is each consumer's
    registers, and the producer gets what the consumers leave of the launch's 3 x 168 a
    thread: `default`'s D=64 long row asks 224 (step 29), so setmaxnreg gives the producer
    56, and neither spills."""
    row = ea.resolve_config("default", 64, "long", arch=90)
    assert row.max_registers == 224
    assert ea.ws_registers(row) == ea.WsRegisters(168, 224, 56)
    report = compile_for_target(row, head_dim=64, shape="long")
    assert report.registers == 168 and report.stack_bytes == 0
    sass = report.sass()
    assert "USETMAXREG.TRY_ALLOC.CTAPOOL UP0, 0xe0" in sass  # consumers: 224
    assert "USETMAXREG.DEALLOC.CTAPOOL 0x38" in sass  # producer: 56


def test_sass_loops_finds_each_backward_branch_with_its_opcodes():
    sass = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;
        /*0010*/                   HGMMA.64x64x16.F32.BF16 R24, gdesc[UR4], RZ ;
        /*0020*/                   MUFU.EX2 R3, R3 ;
        /*0030*/              @!P0 BRA 0x10 ;
        /*0040*/                   STG.E desc[UR6][R2.64], R5 ;
        /*0050*/                   BRA `(.L_x_1) 0x0 ;
        /*0060*/                   EXIT ;
        /*0070*/                   BRA 0x90 ;
    """
    inner, outer = sass_loops(sass)
    assert (inner.start, inner.end, inner.instructions) == (0x10, 0x30, 3)
    assert inner.opcodes == {"HGMMA": 1, "MUFU": 1, "BRA": 1}
    assert (outer.start, outer.end, outer.opcodes["STG"], outer.instructions) == (0x0, 0x50, 1, 6)
    # no branch inside either body but the inner loop's: one pass issues all of it
    assert (inner.fewest, inner.most, outer.fewest, outer.most) == (3, 3, 6, 6)


def test_sass_loops_counts_a_pass_along_its_fewest_and_most_instructions():
    """A body that branches (the masked and the unmasked softmax) issues one arm a pass; a
    branch out of the loop (a slow path laid out elsewhere) counts as not taken; a body whose
    every path leaves it has no pass length."""
    sass = """
        /*0000*/                   MOV R1, c[0x0][0x28] ;
        /*0010*/               @P0 BRA P1, 0x40 ;
        /*0020*/                   FADD R2, R2, R3 ;
        /*0030*/                   BRA 0x50 ;
        /*0040*/                   FMUL R2, R2, R3 ;
        /*0050*/               @P1 BRA 0x80 ;
        /*0060*/              @!P2 BRA 0x0 ;
        /*0070*/                   EXIT ;
        /*0080*/                   NOP ;
        /*0090*/                   BRA 0x60 ;
    """
    leaving, branching = sass_loops(sass)  # innermost (fewest instructions) first
    assert (branching.start, branching.end, branching.instructions) == (0x0, 0x60, 7)
    assert (branching.fewest, branching.most) == (5, 6)
    assert (leaving.start, leaving.end) == (0x60, 0x90)
    assert (leaving.fewest, leaving.most) == (None, None)


@needs_gluon
def test_warp_specialized_consumers_issue_one_burst_of_mma_per_key_tile():
    """`default`'s windowed D=128 row: each consumer's key-tile loop holds one tile's scores
    (8 HGMMA of k=16 over D=128) and the previous tile's P·V (4 over 64 keys), the softmax's
    exp2, and no copy or store: those are the producer's, and the item's epilogue."""
    loops = compile_for_target("default", head_dim=128, shape="windowed").loops()
    tile_loops = [loop for loop in loops if loop.opcodes.get("HGMMA", 0) == 12]
    assert len(tile_loops) == 2  # the two consumer warpgroups' copies of the loop
    for loop in tile_loops:
        assert loop.opcodes.get("MUFU", 0) >= 32  # 64 x 64 scores over 128 threads
        assert not {"LDGSTS", "STG", "LDG"} & set(loop.opcodes)
        # the masked and the unmasked softmax are the body's two arms: a pass issues one
        assert loop.fewest < loop.most < loop.instructions


@needs_gluon
@pytest.mark.parametrize("o_through_shared", [False, True])
def test_output_rows_leave_whole_through_the_q_buffer(o_through_shared):
    """`default`'s windowed D=128 row (o_through_shared since step 23), and that row storing
    from registers: a consumer thread's share of its 64 output rows (64 bf16) leaves as 32
    4-byte stores from the accumulator's layout, or, written to the Q buffer by stmatrix and
    read back, as 8 16-byte ones (two consumers: twice as many). Neither spills."""
    cfg = dataclasses.replace(ea.resolve_config("default", 128, "windowed", arch=90),
                              o_through_shared=o_through_shared)
    report = compile_for_target(cfg, head_dim=128, shape="windowed")
    stores = re.findall(r"\b(STG\.E[\w.]*|STSM[\w.]*)", report.sass())
    expected = ["STG.E.128"] * 16 + ["STSM.16.M88.4"] * 16 if o_through_shared else ["STG.E"] * 64
    assert sorted(stores) == sorted(expected)
    assert report.stack_bytes == 0


@pytest.mark.parametrize("arch", [80, 100])
@pytest.mark.parametrize("head_dim", [128, 256])
def test_default_compiles_for_the_other_gpus_within_their_shared_memory(arch, head_dim):
    """`default` without a window as it runs on an A100 or L40S (sm_80 code) and a B200
    (sm_100): the `tl` kernel, where sm_90 runs the Gluon kernel (D=128) or blocks that
    need more shared memory than sm_8x has (D=256). The codegen gate covers every shape class."""
    report = compile_for_target("default", head_dim=head_dim, shape="long", arch=arch)
    assert report.num_warps == ea.PORTABLE_BLOCKS[head_dim, "long"].num_warps  # no producer warps
    assert 0 < report.shared_bytes <= ea.MAX_SHARED_BYTES[arch]
    assert f".target sm_{arch}" in report.ptx


def test_upstream_variants_compile_without_spilling_at_head_dim_128():
    # `default` is exempt: its tuned blocks spill a little and still measured fastest; the
    # codegen gate (ci/codegen_gate.py) fails if its spills grow.
    for name in ("baseline", "cg", "stages2", "cg_stages2"):
        report = compile_for_target(name, head_dim=128)
        assert report.stack_bytes == 0, f"{name} spills {report.stack_bytes} bytes"
        assert report.registers <= 255


def test_rejects_unknown_arguments():
    with pytest.raises(ValueError, match="head_dim"):
        compile_for_target("cg", head_dim=96)
    with pytest.raises(ValueError, match="dtype"):
        compile_for_target("cg", dtype="fp8")


@needs_gluon
@pytest.mark.parametrize("head_dim,shape,dynamic", [(128, "short", True), (128, "windowed", False),
                                                    (128, "long", True), (64, "short", False),
                                                    (64, "long", False), (256, "windowed", False),
                                                    (256, "short", True), (256, "long", True)])
def test_only_the_dynamic_rows_take_items_from_a_counter(head_dim, shape, dynamic):
    """`default`'s warp-specialized rows: a row that takes its items from a counter
    (LaunchConfig.dynamic_items: steps 15, 30 and 31) carries the producer's atomic add per item,
    one more when it is done, and the last program's two exchanges that zero the counters for
    the next launch; the strided rows carry none (the counter measured slower there)."""
    report = compile_for_target("default", head_dim=head_dim, shape=shape)
    assert ea.resolve_config("default", head_dim, shape, arch=90).dynamic_items is dynamic
    assert sorted(re.findall(r"\batom\.[\w.]+", report.ptx)) == (
        ["atom.global.gpu.acq_rel.add.u32", "atom.global.gpu.relaxed.add.u32",
         "atom.global.gpu.relaxed.exch.b32", "atom.global.gpu.relaxed.exch.b32"] if dynamic else [])
    assert len(re.findall(r"\bATOMG\.E\.ADD\b", report.sass())) == (2 if dynamic else 0)
