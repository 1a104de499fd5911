"""What a provider is: one implementation of extend attention that the suite can check and time.

Modelled on tritonbench's operators, with asv's skips. A provider declares

* ``name`` -- the value of the asv parameter ``provider``; other tools read it, so it is stable;
* ``version`` -- what runs: a release and the sha256 of its source, or ``CHECKOUT`` for this
  repository's own kernel, which asv installs from each commit it measures;
* ``kind`` -- ``"kernel"`` (does the whole job) or ``"bound"`` (does less work, e.g. attends
  over K/V gathered beforehand): the plots draw a bound as a reference line, not a peer. No
  peer is judged by the CI gate, which gates this repository's own times (``bench_extend``);
* ``deterministic`` -- whether equal inputs give equal output bits, so that a timed process
  may prove it runs what was checked by a fingerprint instead of the reference;
* ``unavailable()`` -- why it cannot run on this machine at all (not fetched, no GPU, not sm_90),
  or None;
* ``unsupported(point)`` -- why it cannot run this point (a head dim it lacks), or None;
* ``prepare(inputs, window)`` -- every untimed step (layout conversion, planning, workspace,
  imports); it returns the call that is timed, which writes ``inputs.o_extend`` in this
  repository's layout and nothing else. It raises ``ProviderUnavailable`` when it finds that
  the provider cannot run here after all (a JIT build that failed): the point is skipped
  with the reason. Any other exception fails the point, since it may be the provider's bug.

The loop that checks every provider against the float64 reference and times them interleaved
is shared (``benchmarks/harness.py``): a provider never checks itself, and no provider is
checked against another, since two wrong ones could agree.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple

from ..workloads import ExtendInputs

KINDS = ("kernel", "bound")
# The version of this repository's own kernel: whatever commit asv installed.
CHECKOUT = "checkout"


@dataclasses.dataclass(frozen=True)
class PeerPoint:
    """What a provider may need to know to say whether it supports a point."""

    head_dim: int
    dtype: str
    window: int


class ProviderUnavailable(Exception):
    """Raised by ``prepare`` when the provider turns out not to run on this machine."""


class Provider:
    """Base class of the providers; subclasses set the attributes and override the methods."""

    name: str
    version: str
    kind: str = "kernel"
    deterministic: bool = True
    head_dims: Tuple[int, ...] = (64, 128, 256)  # the head dims the suite measures

    def unavailable(self) -> Optional[str]:
        return None

    def unsupported(self, point: PeerPoint) -> Optional[str]:
        if point.head_dim not in self.head_dims:
            return f"{self.name}: head dim {point.head_dim} not supported; it takes {self.head_dims}"
        return None

    def prepare(self, inputs: ExtendInputs, window: int) -> Callable[[], None]:
        raise NotImplementedError

    def why_not(self, point: PeerPoint) -> Optional[str]:
        """Why this provider does not run ``point`` here, or None when it does."""
        return self.unavailable() or self.unsupported(point)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"


def check_provider(provider: object) -> Provider:
    """``provider`` if it has what the suite relies on; a ValueError naming what is missing."""
    for attribute in ("name", "version", "kind", "deterministic", "unavailable", "unsupported",
                      "prepare"):
        if not hasattr(provider, attribute):
            raise ValueError(f"provider {provider!r}: has no {attribute!r}; see "
                             "benchmarks/providers/base.py for what a provider declares")
    if not (isinstance(provider.name, str) and provider.name and provider.name.strip() == provider.name
            and "," not in provider.name):
        raise ValueError(f"provider {provider!r}: name={provider.name!r}; expected a non-empty "
                         "string without commas or surrounding spaces")
    if not (isinstance(provider.version, str) and provider.version):
        raise ValueError(f"provider {provider.name!r}: version={provider.version!r}; expected a "
                         "non-empty string")
    if provider.kind not in KINDS:
        raise ValueError(f"provider {provider.name!r}: kind={provider.kind!r}; expected one of {KINDS}")
    if not isinstance(provider.deterministic, bool):
        raise ValueError(f"provider {provider.name!r}: deterministic={provider.deterministic!r}; "
                         "expected a bool")
    return provider
