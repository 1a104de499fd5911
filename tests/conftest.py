"""Test setup: the Triton interpreter where there is no GPU, the repo root on sys.path.

The dtype split is explicit: fp16 runs everywhere (interpreter on CPU, compiled on GPU);
bf16 runs only compiled on a GPU, because the interpreter mishandles bf16 (Triton 3.9
holds it as uint16 and acts on the raw bits; 3.6 has no bf16 constants). Tests marked
``gpu`` are reported as skipped on CPU with that reason, and with REQUIRE_GPU=1 (set by
ci/gpu_job.sh) a missing GPU is an error instead of a skip.

``synthetic_results`` writes asv results folders through asv's own API
(``tests/synthetic_results.py``, imported only by the tests that use it: the GPU machine
runs the kernel tests without asv).
"""

import os
import sys

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
if not HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first triton import
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import triton  # noqa: E402  (after TRITON_INTERPRET)

from kernels import extend_attention as ea  # noqa: E402  (from the repo root)

DEVICE = "cuda" if HAS_CUDA else "cpu"


# The mark of a test that compiles the Gluon kernels: they compile only with the Triton releases
# whose Gluon API they are written for; with the others `default` compiles the `tl` kernel
# (tests/test_validation.py checks that the launcher then refuses them).
needs_gluon = pytest.mark.skipif(
    not ea.GLUON_RUNS_ON_THIS_TRITON,
    reason=f"the Gluon kernels are written for Triton {ea.GLUON_TRITON_RELEASES}, this is {triton.__version__}")


def pytest_collection_modifyitems(config, items):
    if HAS_CUDA:
        return
    if os.environ.get("REQUIRE_GPU") == "1":
        raise pytest.UsageError("REQUIRE_GPU=1 but torch sees no CUDA device")
    skip = pytest.mark.skip(reason="needs a CUDA device: bf16 and large shapes run on the H100 "
                                   "(bash ci/gpu_job.sh tests); the interpreter mishandles bf16")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def synthetic_results(tmp_path):
    from synthetic_results import SyntheticResults
    return SyntheticResults(tmp_path / "results")
