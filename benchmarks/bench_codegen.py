"""What the compiler makes of each variant for the H100 (sm_90), per head dim, and of
`default` for the other GPUs it runs on; no GPU needed.

Compiled on the CPU by ``kernels.codegen.compile_for_target`` for the PR shape (bf16, 64/8
heads, no window): registers per thread, spilled (stack) bytes per thread and shared memory
per block, each a cost (asv marks a rise as a loss). They move with the kernel's code and
the compiler, not with the machine, so they run everywhere, also where the GPU benchmarks
are skipped. The ``ld.global.cg`` count, whose rise is no loss, is judged by
``ci/codegen_gate.py`` instead; its stored history (``track_ld_global_cg``) stays readable.
"""

import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import kernels
from kernels import codegen

from . import workloads as w
from .versions import CODEGEN, explicit

REPORTED = ("registers", "stack_bytes", "shared_bytes")


def _compile_point(point, arch=90) -> dict:
    variant, head_dim = point
    report = codegen.compile_for_target(variant, head_dim=head_dim, arch=arch)
    return {field: getattr(report, field) for field in REPORTED}


def _compile_for_target(point) -> dict:
    head_dim, target = point
    return _compile_point(("default", head_dim), arch=TARGET_ARCHS[target])


def _compile_in_parallel(compile_one, points) -> dict:
    """{point: compile_one(point)}, one process per core: serially the compiles took 42 s of
    the suite's budget on the H100 machine. Forked workers: nothing here has touched CUDA."""
    workers = max(1, min(len(points), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(points, pool.map(compile_one, points)))


def compile_grid(variants, head_dims) -> dict:
    """{(variant, head_dim): the reported numbers} for the variants this commit has."""
    # a commit from before a variant lacks it: setup skips its points
    points = [(variant, head_dim) for variant in variants if variant in kernels.VARIANTS
              for head_dim in head_dims]
    return _compile_in_parallel(_compile_point, points)


class _Reported:
    """The reported numbers of the point ``setup`` picked (``self.report``), one track each."""

    def track_registers(self, reports, *point):
        return self.report["registers"]

    track_registers.unit = "registers/thread"

    def track_stack_bytes(self, reports, *point):
        return self.report["stack_bytes"]

    track_stack_bytes.unit = "bytes/thread"

    def track_shared_bytes(self, reports, *point):
        return self.report["shared_bytes"]

    track_shared_bytes.unit = "bytes/block"


@explicit(f"codegen {CODEGEN}")
class Codegen(_Reported):
    params = [list(w.VARIANT_NAMES), list(w.SUBGRID_HEAD_DIMS)]
    param_names = ["variant", "head_dim"]
    timeout = 60

    def setup_cache(self):
        # one process (and its workers) compiles every point; each point's process reads its own
        return compile_grid(*self.params)

    setup_cache.timeout = 600

    def setup(self, reports, variant, head_dim):
        if (variant, head_dim) not in reports:
            raise NotImplementedError(f"variant {variant!r} is not in this commit's kernels.VARIANTS")
        self.report = reports[(variant, head_dim)]


# The other GPUs `default` runs on, as their codegen targets: sm_80 (A100; the L40S runs the
# same code as sm_89) and sm_100 (B200).
TARGET_ARCHS = {"sm_80": 80, "sm_100": 100}


@explicit(f"codegen {CODEGEN}")
class CodegenTargets(_Reported):
    """`default` compiled for the GPUs other than the H100 (no window, bf16, 64/8 heads), in the
    config it takes there (kernels.extend_attention.tuned_blocks): a commit that breaks or
    bloats it on another GPU shows here. A class of its own, so that Codegen's parameters stay."""

    params = [list(w.SUBGRID_HEAD_DIMS), list(TARGET_ARCHS)]
    param_names = ["head_dim", "target"]
    timeout = 60

    def setup_cache(self):
        # a commit from before the targets existed compiles no point: setup skips them
        if not hasattr(kernels.extend_attention, "tuned_blocks"):
            return {}
        return _compile_in_parallel(_compile_for_target, list(itertools.product(*self.params)))

    setup_cache.timeout = 600

    def setup(self, reports, head_dim, target):
        if (head_dim, target) not in reports:
            raise NotImplementedError("this commit's `default` takes no config per GPU "
                                      "(kernels.extend_attention.tuned_blocks)")
        self.report = reports[(head_dim, target)]
