"""SGLang's own extend-attention Triton kernel, at pinned releases, as shipped and with knobs.

The kernel module is loaded from the fetched release files (``fetched.py``) under a private
module name, without importing the rest of sglang (whose package import pulls in a server
stack). Its few imports from sglang are answered by the release's own companion modules or,
for ``sglang.srt.utils`` and ``sglang.srt.environ``, by the small stand-ins below, which
answer only what the CUDA path asks.

Forms:

* ``shipped`` -- the release's source as it is;
* ``cg``, ``stages2``, ``cg_stages2`` -- the upstream change's knobs applied to that source at
  load time: ``cache_modifier=".cg"`` on the prefix K/V loads only, ``num_stages = 2`` only,
  and both. Each edit must match exactly once, or the provider is unavailable with the reason,
  so that a release whose source moved is never measured under a wrong name;
* ``server`` -- as SGLang's server calls the kernel with a sliding window: only the last
  ``min(prefix, W)`` prefix rows of each sequence are passed (the rows a window can see), the
  trimming done in ``prepare``, untimed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import sys
import types
from typing import Callable, Dict, Optional, Tuple

import torch

from ..workloads import ExtendInputs, indptr
from . import fetched
from .base import Provider

FORMS = ("shipped", "cg", "stages2", "cg_stages2", "server")
# The edits a form makes to the source: (what it matches, what replaces it). Each must match
# exactly once in the release's kernel file.
_CG_LOADS = tuple((re.compile(rf"(tl\.load\(\s*{buffer}_Buffer \+ offs_buf_{name},)"),
                   r'\1 cache_modifier=".cg",') for buffer, name in (("K", "k"), ("V", "v")))
_STAGES2 = ((re.compile(r"(\n    num_stages = )1\n"), r"\g<1>2\n"),)
EDITS = {"shipped": (), "cg": _CG_LOADS, "stages2": _STAGES2, "cg_stages2": _CG_LOADS + _STAGES2,
         "server": ()}


class SGLangKernel(Provider):
    """``extend_attention_fwd`` of an SGLang release, in one of ``FORMS``."""

    def __init__(self, release: str, form: str = "shipped"):
        if release not in fetched.SGLANG_RELEASES:
            raise ValueError(f"release={release!r}: not pinned; expected one of "
                             f"{list(fetched.SGLANG_RELEASES)} (benchmarks/providers/fetched.py)")
        if form not in FORMS:
            raise ValueError(f"form={form!r}: expected one of {FORMS}")
        self.release = fetched.SGLANG_RELEASES[release]
        self.form = form
        suffix = {"shipped": "", "cg": "+cg", "stages2": "+stages2", "cg_stages2": "+cg+stages2",
                  "server": "@server"}[form]
        self.name = f"sglang-{release}{suffix}"
        kernel_sha = self.release.sha256[self.release.kernel]
        self.version = f"sglang {release} {self.release.kernel} sha256:{kernel_sha[:16]} form:{form}"
        self._module = None

    def unavailable(self) -> Optional[str]:
        problem = fetched.missing_or_changed(self.release)
        if problem:
            return problem
        try:
            _edited_source(self.release, self.form)
        except ValueError as moved:
            return str(moved)
        return None

    def prepare(self, inputs: ExtendInputs, window: int) -> Callable[[], None]:
        module = self.module()
        kv_indptr, kv_indices = inputs.kv_indptr, inputs.kv_indices
        if self.form == "server" and window > 0:
            kv_indptr, kv_indices = last_prefix_rows(inputs, window)
        args = (inputs.q_extend, inputs.k_extend, inputs.v_extend, inputs.o_extend,
                inputs.k_buffer, inputs.v_buffer, inputs.qo_indptr, kv_indptr, kv_indices)
        # the arguments the server passes for plain causal attention: no custom mask, page size 1
        extra = {"k_scale": 1.0, "v_scale": 1.0} if self.release.version != "0.5.2" else {}
        fwd, max_len_extend = module.extend_attention_fwd, inputs.max_len_extend

        def call():
            fwd(*args, None, True, None, max_len_extend, sliding_window_size=window, **extra)
        return call

    def module(self) -> types.ModuleType:
        if self._module is None:
            problem = self.unavailable()
            if problem:
                raise NotImplementedError(problem)
            self._module = _load(self.release, self.form)
        return self._module


def last_prefix_rows(inputs: ExtendInputs, window: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """kv_indptr and kv_indices with each sequence's prefix cut to its last ``min(prefix, window)``
    rows: all that a query at or after the prefix's end can see with a window of ``window``."""
    kept = [min(p, window) for p in inputs.prefix_lens]
    starts = inputs.kv_indptr.tolist()
    rows = [inputs.kv_indices[starts[i + 1] - k:starts[i + 1]] for i, k in enumerate(kept)]
    return indptr(kept, inputs.kv_indptr.device, inputs.kv_indptr.dtype), torch.cat([inputs.kv_indices[:0], *rows]).contiguous()


def _edited_source(release: fetched.SGLangRelease, form: str) -> str:
    source = release.path(release.kernel).read_text()
    for pattern, replacement in EDITS[form]:
        source, count = pattern.subn(replacement, source)
        if count != 1:
            raise ValueError(f"sglang {release.version} form {form!r}: the edit {pattern.pattern!r} "
                             f"matches {count} times in {release.kernel}, not once; this release's "
                             "source has moved, so the form is not measured")
    return source


def _load(release: fetched.SGLangRelease, form: str) -> types.ModuleType:
    """The release's kernel module in ``form``, under a private name, its sglang imports answered."""
    tag = f"v{release.version.replace('.', '_')}_{form}"
    source = _edited_source(release, form)
    # Triton's JIT reads a kernel's source back from its file: the edited source needs one
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = fetched.UNPACK_DIR / "sglang-forms" / f"extend_attention_{tag}_{digest}.py"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    modules: Dict[str, types.ModuleType] = {"sglang.srt.utils": _utils_stand_in(),
                                           "sglang.srt.environ": _environ_stand_in(),
                                           _PREFILL: _prefill_stand_in()}
    with _sglang_imports(modules):
        for member in release.companions:
            modules[_module_name(member)] = _exec(f"_sglang_{tag}_{_stem(member)}",
                                                  release.path(member))
        return _exec(f"_sglang_{tag}_extend_attention", path)


def _exec(private_name: str, path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(private_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private_name] = module  # Triton and dataclasses look modules up by name
    spec.loader.exec_module(module)
    return module


def _module_name(member: str) -> str:
    return member[:-len(".py")].replace("/", ".")


def _stem(member: str) -> str:
    return member.rsplit("/", 1)[-1][:-len(".py")]


@contextlib.contextmanager
def _sglang_imports(modules: Dict[str, types.ModuleType]):
    """While loading: sglang's own module names answered by ``modules`` (filled as loading
    goes), and by nothing else, so that no real sglang installed beside is imported."""
    saved = {name: sys.modules.get(name) for name in list(sys.modules)
             if name == "sglang" or name.startswith("sglang.")}
    finder = _Answers(modules)
    sys.meta_path.insert(0, finder)
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "sglang" or n.startswith("sglang.")]:
            del sys.modules[name]
        sys.modules.update({name: module for name, module in saved.items() if module is not None})


class _Answers:
    """A meta-path finder that answers ``sglang.*`` imports from a dict, and refuses the rest."""

    def __init__(self, modules: Dict[str, types.ModuleType]):
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        if name != "sglang" and not name.startswith("sglang."):
            return None
        module = self.modules.get(name)
        if module is None and any(known.startswith(name + ".") for known in self.modules):
            module = types.ModuleType(name)  # a parent package of a known module
            module.__path__ = []
        if module is None:
            raise ImportError(f"{name}: the SGLang provider loads only the kernel and "
                              f"{sorted(self.modules)}; this release's kernel imports more")
        return importlib.util.spec_from_loader(name, _Given(module), is_package=hasattr(module, "__path__"))


class _Given:
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


def _utils_stand_in() -> types.ModuleType:
    """``sglang.srt.utils`` as the kernel modules use it on an NVIDIA GPU (or the interpreter)."""
    utils = types.ModuleType("sglang.srt.utils")
    utils.is_cuda = lambda: torch.cuda.is_available() and torch.version.cuda is not None
    utils.is_hip = lambda: False
    utils.is_gfx95_supported = lambda: False
    utils.is_gfx1250_supported = lambda: False
    utils.get_device_core_count = lambda device_id=0: (
        torch.cuda.get_device_properties(device_id).multi_processor_count if torch.cuda.is_available() else 0)
    return utils


class _UnusedEnvironment:
    """``sglang.srt.environ.envs``: read only behind ROCm checks, which are False here."""

    def __getattr__(self, name):
        raise AttributeError(f"sglang.srt.environ.envs.{name}: read on a path the SGLang provider "
                             "does not stand in for (ROCm only)")


# 0.5.2's kernel module imports the non-cached prefill kernel beside it, which it never calls
_PREFILL = "sglang.srt.layers.attention.triton_ops.prefill_attention"


def _prefill_stand_in() -> types.ModuleType:
    prefill = types.ModuleType(_PREFILL)

    def context_attention_fwd(*args, **kwargs):
        raise NotImplementedError(f"{_PREFILL}.context_attention_fwd: not loaded by the SGLang provider")
    prefill.context_attention_fwd = context_attention_fwd
    return prefill


def _environ_stand_in() -> types.ModuleType:
    environ = types.ModuleType("sglang.srt.environ")
    environ.envs = _UnusedEnvironment()
    return environ


# The release the upstream change was proposed against in every form the question needs; the
# newest as shipped and as the server calls it.
PROVIDERS = (*(SGLangKernel("0.5.2", form) for form in ("shipped", "cg", "stages2", "cg_stages2")),
             SGLangKernel("0.5.23"), SGLangKernel("0.5.23", "server"))
