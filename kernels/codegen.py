"""Compile the kernel for a GPU target without a GPU and report what the compiler made of it.

Triton compiles for sm_80, sm_90 and sm_100 on a CPU-only machine; the resource figures come
from the ``cuobjdump`` that ships in the Triton wheel. The arguments are specialized the way
Triton's launcher specializes them at run time for contiguous tensors: every pointer
16-byte aligned and every stride divisible by 16 elements, so the loads vectorize here as
they do on the device.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from triton.experimental.gluon import language as gl
from triton.experimental.gluon._runtime import GluonASTSource

from .extend_attention_ws import kv_tile_layout
from .extend_attention import (RUNS_IN_INTERPRETER, LaunchConfig, SUPPORTED_HEAD_DIMS, kernel_constexprs,
                               kernel_for, launch_options, resolve_config)

_TRITON_DTYPES = {"bf16": "bf16", "fp16": "fp16", "bfloat16": "bf16", "float16": "fp16"}
_POINTERS = ("Q", "K_ext", "V_ext", "O", "K_buf", "V_buf")
_INDEX_POINTERS = ("qo_indptr", "kv_indptr", "kv_indices", "item_counter")
_GLUON_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}
_SCALARS = {"sm_scale_log2": "fp32", "logit_cap": "fp32", "sliding_window": "i32",
            "n_heads": "i32", "n_blocks": "i32", "n_seqs": "i32"}
_RESOURCES = re.compile(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)")


@dataclasses.dataclass(frozen=True)
class CodegenReport:
    registers: int  # per thread
    stack_bytes: int  # per-thread stack frame: spills and local arrays
    shared_bytes: int  # static + the dynamic shared memory Triton allocates
    ld_global_cg: int  # `ld.global.cg` instructions in the PTX
    ld_global: int  # all `ld.global` instructions in the PTX
    num_warps: int  # warps per block, a warp-specialized kernel's producer included
    ptx: str = dataclasses.field(repr=False, compare=False)
    cubin: bytes = dataclasses.field(repr=False, compare=False)

    def sass(self) -> str:
        """The machine code (``cuobjdump -sass``), disassembled on demand: it costs about as
        much as a cached compile."""
        return _cuobjdump("-sass", self.cubin)

    def loops(self) -> List[SassLoop]:
        """The machine code's loops (``sass_loops``)."""
        return sass_loops(self.sass())


@dataclasses.dataclass(frozen=True)
class SassLoop:
    """One loop of the machine code: the instructions from a backward branch's target to the
    branch, and how many of them each opcode is (``HGMMA``, ``MUFU``, ``LDGSTS``, ...: the
    first word, its modifiers dropped). Static counts of the whole body: where the body
    branches (a masked and an unmasked softmax), one pass issues only some of it, between
    ``fewest`` and ``most`` instructions."""

    start: int  # address of the first instruction
    end: int  # address of the backward branch
    opcodes: Dict[str, int]
    # Instructions one pass from ``start`` to ``end`` issues along its shortest and longest
    # path: a forward branch inside the body taken or not, an inner loop's body counted once,
    # a branch out of the loop (a slow path laid out elsewhere) not taken. None where no path
    # within the span reaches the backward branch (the body jumps to code laid out after it).
    fewest: Optional[int]
    most: Optional[int]

    @property
    def instructions(self) -> int:
        return sum(self.opcodes.values())


class _Instruction(NamedTuple):
    address: int
    opcode: str  # the first word, modifiers dropped
    unconditional: bool  # no guard predicate, or @PT
    target: Optional[int]  # a branch's target address


_SASS_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)[^;]*;")
_BRANCH_TARGET = re.compile(r"\bBRA\b[^;]*?0x([0-9a-f]+)\s*;")


def sass_loops(sass: str) -> List[SassLoop]:
    """Every loop of ``sass`` (``cuobjdump -sass`` text), one per backward branch, innermost
    (fewest instructions) first. A warp-specialized kernel's partitions are laid out one after
    the other, so a loop's span may take in the code of another partition's loop."""
    code: List[_Instruction] = []
    for line in sass.splitlines():
        match = _SASS_LINE.search(line)
        if match:
            guard, opcode = match.group(2), match.group(3)
            target = _BRANCH_TARGET.search(line) if opcode == "BRA" else None
            code.append(_Instruction(int(match.group(1), 16), opcode,
                                     guard is None or guard.strip() == "@PT",
                                     int(target.group(1), 16) if target else None))
    loops = {(instruction.target, instruction.address) for instruction in code
             if instruction.target is not None and instruction.target <= instruction.address}
    found = []
    for start, end in loops:
        body = [instruction for instruction in code if start <= instruction.address <= end]
        opcodes: Dict[str, int] = {}
        for instruction in body:
            opcodes[instruction.opcode] = opcodes.get(instruction.opcode, 0) + 1
        fewest, most = _pass_lengths(body)
        found.append(SassLoop(start, end, opcodes, fewest, most))
    return sorted(found, key=lambda loop: (loop.instructions, loop.start))


def _pass_lengths(body: List[_Instruction]) -> Tuple[Optional[int], Optional[int]]:
    """The fewest and most instructions along a path from a loop body's first instruction to
    its last (the backward branch), as ``SassLoop.fewest`` and ``most`` count them: from the
    end back, each instruction's paths are those of the instructions it can pass to."""
    index = {instruction.address: i for i, instruction in enumerate(body)}
    last = len(body) - 1
    fewest: List[Optional[int]] = [None] * len(body)
    most: List[Optional[int]] = [None] * len(body)
    fewest[last] = most[last] = 1
    for i in range(last - 1, -1, -1):
        instruction = body[i]
        stops = instruction.unconditional and instruction.opcode in ("BRA", "EXIT", "RET")
        successors = [] if stops else [i + 1]
        target = instruction.target
        if target is not None and target > instruction.address and target in index:
            successors.append(index[target])
        reached = [j for j in successors if fewest[j] is not None]
        if reached:
            fewest[i] = 1 + min(fewest[j] for j in reached)
            most[i] = 1 + max(most[j] for j in reached)
    return fewest[0], most[0]


def _cuobjdump(flag: str, cubin: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        return subprocess.run([_tool("cuobjdump"), flag, file.name],
                              check=True, capture_output=True, text=True).stdout


def _tool(name: str) -> str:
    path = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", name)
    if not os.path.exists(path):
        raise RuntimeError(f"{name} not found in the Triton wheel at {path}")
    return path


def _signature(kernel, dtype: str, absent: Sequence[str]) -> dict:
    """Each argument's type; the ``absent`` ones are constexpr (passed as None)."""
    sig = {}
    for name in kernel.arg_names:
        if name in absent:
            sig[name] = "constexpr"
        elif name in _POINTERS:
            sig[name] = f"*{_TRITON_DTYPES[dtype]}"
        elif name in _INDEX_POINTERS:
            sig[name] = "*i32"
        elif name in _SCALARS:
            sig[name] = _SCALARS[name]
        elif name.startswith("stride"):
            sig[name] = "i32"
        else:
            sig[name] = "constexpr"
    return sig


@functools.lru_cache(maxsize=None)
def compile_for_target(config: Union[str, LaunchConfig] = "default", *, head_dim: int = 128,
                       dtype: str = "bf16", gqa_group: int = 8, shape: str = "long",
                       use_logit_cap: bool = False, arch: int = 90) -> CodegenReport:
    """Compile one variant for ``sm_{arch}`` and report registers, stack, shared memory and loads.

    ``shape`` is the call's shape class (``SHAPE_CLASSES``): it picks the tuned blocks, and
    "windowed" compiles the sliding-window code. A variant compiles as it would launch on
    that GPU: ``default`` takes the tuned table of ``arch`` (``tuned_blocks``).
    """
    if head_dim not in SUPPORTED_HEAD_DIMS:
        raise ValueError(f"head_dim={head_dim}: expected one of {SUPPORTED_HEAD_DIMS}")
    if dtype not in _TRITON_DTYPES:
        raise ValueError(f"dtype={dtype!r}: expected one of {sorted(_TRITON_DTYPES)}")
    # the config `default` takes on that GPU; a ValueError for an unknown shape class
    cfg = resolve_config(config, head_dim, shape, arch=arch)
    use_window = shape == "windowed"
    options = dict(head_dim=head_dim, dtype=dtype, gqa_group=gqa_group, use_window=use_window,
                   use_logit_cap=use_logit_cap, arch=arch)
    if RUNS_IN_INTERPRETER:
        # Under TRITON_INTERPRET=1 the kernel is an interpreted function that cannot be
        # compiled: compile in a fresh interpreter without that switch.
        return _compile_in_subprocess(cfg, options)
    return _compile(cfg, **options)


def _compile_in_subprocess(cfg: LaunchConfig, options: dict) -> CodegenReport:
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    request = json.dumps({"config": dataclasses.asdict(cfg), "options": options})
    done = subprocess.run([sys.executable, "-m", "kernels.codegen", request], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"compiling for sm_{options['arch']} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    return CodegenReport(**{**report, "cubin": base64.b64decode(report["cubin"])})


def _compile(cfg: LaunchConfig, *, head_dim, dtype, gqa_group, use_window, use_logit_cap,
             arch) -> CodegenReport:
    kernel = kernel_for(cfg)
    # the item counter is passed only where the items are taken from it (dynamic_items)
    absent = (() if cfg.dynamic_items else ("item_counter",)) + (
        () if cfg.tma_extend else ("k_ext_desc", "v_ext_desc"))
    signature = _signature(kernel, dtype, absent)
    if cfg.tma_extend:
        # the TMA descriptors of k_extend and v_extend (extend_descriptors), tiles of one head
        layout = kv_tile_layout(cfg.block_n, head_dim, getattr(gl, _GLUON_DTYPES[dtype]))
        for name in ("k_ext_desc", "v_ext_desc"):
            signature[name] = f"tensordesc<{_TRITON_DTYPES[dtype]}[{cfg.block_n}, {head_dim}],{layout!r}>"
    arg_names = kernel.arg_names
    aligned = [["tt.divisibility", 16]]
    attrs = {(arg_names.index(n),): aligned for n in arg_names
             if n in _POINTERS or n in _INDEX_POINTERS or n.startswith("stride")}
    # pools whose K and V share strides and 32-bit offsets, as every benchmark's
    constexprs = kernel_constexprs(cfg, gqa_group=gqa_group, head_dim=head_dim,
                                   use_window=use_window, use_logit_cap=use_logit_cap,
                                   shared_offsets=True)
    constexprs.update({name: None for name in absent if name in arg_names})
    source = GluonASTSource if cfg.overlap_softmax or cfg.warp_specialize else ASTSource
    src = source(fn=kernel, signature=signature, constexprs=constexprs, attrs=attrs)
    compiled = triton.compile(src, target=GPUTarget("cuda", arch, 32),
                              options=launch_options(cfg))
    cubin = compiled.asm["cubin"]
    usage = _cuobjdump("--dump-resource-usage", cubin)
    match = _RESOURCES.search(usage)
    if match is None:
        raise RuntimeError(f"could not read the resource usage from cuobjdump:\n{usage}")
    registers, stack, static_shared, _ = map(int, match.groups())
    ptx = compiled.asm["ptx"]
    return CodegenReport(
        registers=registers, stack_bytes=stack, shared_bytes=static_shared + compiled.metadata.shared,
        ld_global_cg=len(re.findall(r"\bld\.global\.cg\b", ptx)),
        ld_global=len(re.findall(r"\bld\.global\b", ptx)),
        num_warps=compiled.metadata.num_warps, ptx=ptx, cubin=cubin)


if __name__ == "__main__":  # the subprocess side of _compile_in_subprocess
    request = json.loads(sys.argv[1])
    report = _compile(LaunchConfig(**request["config"]), **request["options"])
    print(json.dumps({**dataclasses.asdict(report), "cubin": base64.b64encode(report.cubin).decode()}))
