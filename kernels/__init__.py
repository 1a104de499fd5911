"""The extend-attention kernel under test, its knobs and its reference."""

from .extend_attention import (LOAD_CACHE_MODIFIERS, TUNED_BLOCKS, UPSTREAM_BLOCKS, SUPPORTED_HEAD_DIMS, VARIANTS,
                               LaunchConfig, extend_attention_fwd, resolve_config)
from .reference import extend_attention_reference, relative_error

__all__ = ["TUNED_BLOCKS", "UPSTREAM_BLOCKS", "LOAD_CACHE_MODIFIERS", "SUPPORTED_HEAD_DIMS", "VARIANTS", "LaunchConfig",
           "extend_attention_fwd", "resolve_config", "extend_attention_reference", "relative_error"]
