"""The providers the peers benchmarks measure, by name: built-ins first, then a user's own.

Every provider, built-in or not, is loaded the same way: from a ``module:object`` spec, whose
object is a provider, a provider class (made with no arguments), or a sequence of either.
The built-ins are listed in ``BUILTIN``; a user adds theirs with

    EXTEND_BENCH_PROVIDERS=package.module:MyKernel[,other.module:PROVIDERS] asv run ...

(set it for asv's discovery and for its runs alike: asv discovers the suite in a process of
its own). Names must be unique; the asv parameter ``provider`` takes them in this order.
"""

from __future__ import annotations

import importlib
import os
from typing import Dict, Tuple

from .base import Provider, check_provider

USER_PROVIDERS_ENV = "EXTEND_BENCH_PROVIDERS"
BUILTIN = ("benchmarks.providers.project:PROVIDERS", "benchmarks.providers.sglang:PROVIDERS",
           "benchmarks.providers.flashinfer:FlashInferPaged", "benchmarks.providers.dense:DenseFlashAttention")


def providers_from(spec: str, source: str = USER_PROVIDERS_ENV) -> Tuple[Provider, ...]:
    """The providers a ``module:object`` spec names; a ValueError naming ``source`` if it is bad."""
    module_name, _, attribute = spec.strip().partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{source}: {spec!r} is not of the form package.module:object")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as missing:
        raise ValueError(f"{source}: {spec!r} cannot be loaded: {missing}") from missing
    items = found if isinstance(found, (list, tuple)) else (found,)
    try:
        return tuple(check_provider(item() if isinstance(item, type) else item) for item in items)
    except ValueError as bad:
        raise ValueError(f"{source}: {spec!r}: {bad}") from bad


def load_providers(user_specs: str = "") -> Dict[str, Provider]:
    """The built-in providers, then those of ``user_specs`` (comma-separated specs)."""
    loaded = [(spec, "benchmarks.providers.BUILTIN") for spec in BUILTIN]
    loaded += [(spec, USER_PROVIDERS_ENV) for spec in user_specs.split(",") if spec.strip()]
    providers: Dict[str, Provider] = {}
    for spec, source in loaded:
        for provider in providers_from(spec, source):
            if provider.name in providers:
                raise ValueError(f"{source}: {spec!r} gives a provider named {provider.name!r}, "
                                 "a name already taken")
            providers[provider.name] = provider
    return providers


PROVIDERS = load_providers(os.environ.get(USER_PROVIDERS_ENV, ""))
