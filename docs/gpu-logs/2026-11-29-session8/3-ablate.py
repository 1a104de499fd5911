"""Session 8 diagnostic: the warp-specialized kernel with parts of its work left out
(exp/ablate, EXTEND_ABLATE read when its kernels are imported), timed at a few points.
  python3 .jobs/ablate.py --warm   one call per point (compiles), no timing
  python3 .jobs/ablate.py          median ms per point (harness.timed_in_turns, L2 flushed)"""
import os, statistics, sys
import torch
from benchmarks import harness, workloads
from tools.ab_kernels import load_kernel_at

POINTS = [(8192, -1), (2048, -1)]
fwd = load_kernel_at("196764d", "--new").extend_attention_fwd
ablate = os.environ.get("EXTEND_ABLATE", "0")
warm = "--warm" in sys.argv
for n_ctx, window in POINTS:
    inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads="64/8", head_dim=128,
                                   dtype="bf16", pool="contiguous", device="cuda")
    call = harness.kernel_call(inputs, "default", window, fwd=fwd)
    call()
    torch.cuda.synchronize()
    if not warm:
        samples = harness.timed_in_turns({"x": call}, rounds=1, rep_ms=150)["x"]
        print(f"| {ablate} | {n_ctx} | {window} | {statistics.median(samples) * 1e3:.3f} |", flush=True)
    del inputs, call
    torch.cuda.empty_cache()
