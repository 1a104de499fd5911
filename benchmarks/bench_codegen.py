"""What the compiler makes of each variant for the H100 (sm_90), per head dim; no GPU needed.

Compiled on the CPU by ``kernels.codegen.compile_for_target`` for the PR shape (bf16, 64/8
heads, no window): registers per thread, spilled (stack) bytes per thread and shared memory
per block, each a cost (asv marks a rise as a loss). They move with the kernel's code and
the compiler, not with the machine, so they run everywhere, also where the GPU benchmarks
are skipped. The ``ld.global.cg`` count, whose rise is no loss, is judged by
``ci/codegen_gate.py`` instead; its stored history (``track_ld_global_cg``) stays readable.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import kernels
from kernels import codegen

from . import workloads as w
from .versions import CODEGEN, explicit

REPORTED = ("registers", "stack_bytes", "shared_bytes")


def _compile_point(point) -> dict:
    variant, head_dim = point
    report = codegen.compile_for_target(variant, head_dim=head_dim)
    return {field: getattr(report, field) for field in REPORTED}


def compile_grid(variants, head_dims) -> dict:
    """{(variant, head_dim): the reported numbers} for the variants this commit has.

    The compiles run in parallel, one per core: serially they took 42 s of the suite's
    budget on the H100 machine. Forked workers: nothing here has touched CUDA.
    """
    # a commit from before a variant lacks it: setup skips its points
    points = [(variant, head_dim) for variant in variants if variant in kernels.VARIANTS
              for head_dim in head_dims]
    workers = max(1, min(len(points), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip(points, pool.map(_compile_point, points)))


@explicit(f"codegen {CODEGEN}")
class Codegen:
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

    def track_registers(self, reports, variant, head_dim):
        return self.report["registers"]

    track_registers.unit = "registers/thread"

    def track_stack_bytes(self, reports, variant, head_dim):
        return self.report["stack_bytes"]

    track_stack_bytes.unit = "bytes/thread"

    def track_shared_bytes(self, reports, variant, head_dim):
        return self.report["shared_bytes"]

    track_shared_bytes.unit = "bytes/block"
