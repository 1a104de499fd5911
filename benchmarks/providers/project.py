"""This repository's own kernel as providers: one per named variant in ``kernels.VARIANTS``.

The suite's speedups are ``default``'s over each provider, so ``default`` is the baseline of
the peers' comparison, as tritonbench's ``baseline=True`` provider is of its operators.
"""

from __future__ import annotations

from typing import Callable, Optional

import kernels

from .. import harness
from ..workloads import ExtendInputs
from .base import CHECKOUT, Provider

# The provider every other one is compared with.
DEFAULT = "default"
# Ours among the peers: the tuned kernel, and the kernel as it stood before the upstream change.
VARIANTS_AMONG_PEERS = (DEFAULT, "baseline")


class ProjectKernel(Provider):
    """``kernels.extend_attention_fwd`` with one named variant."""

    version = CHECKOUT

    def __init__(self, variant: str):
        self.name = variant
        self.variant = variant

    def unavailable(self) -> Optional[str]:
        if self.variant not in kernels.VARIANTS:
            return f"variant {self.variant!r} is not in this commit's kernels.VARIANTS"
        return None

    def prepare(self, inputs: ExtendInputs, window: int) -> Callable[[], None]:
        return harness.kernel_call(inputs, self.variant, window)


PROVIDERS = tuple(ProjectKernel(variant) for variant in VARIANTS_AMONG_PEERS)
