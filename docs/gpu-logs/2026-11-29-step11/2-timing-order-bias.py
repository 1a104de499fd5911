"""Is the first implementation timed after the checks at a disadvantage? Two identical `default`
calls and the identical explicit config, timed in rotating rounds as harness.measure_calls does,
per-round medians printed with each call's position in the round."""
import statistics, sys
import torch
import kernels
from benchmarks import harness, workloads
from benchmarks.providers import PROVIDERS
from tools.sweep_blocks import parse_configs

EXPLICIT = parse_configs("m128n64w8s4:heads+pf+ws+pe+pg")["m128n64w8s4:heads+pf+ws+pe+pg"]
FI = "flashinfer-0.7.2-fa3"
ROUNDS, REP_MS = 4, 100.0
for n_ctx in (2048, 4096):
    inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads="64/8", head_dim=128,
                                   dtype="bf16", pool="contiguous", device="cuda")
    calls = {"default#1": harness.kernel_call(inputs, "default", -1),
             "explicit": harness.kernel_call(inputs, EXPLICIT, -1),
             "default#2": harness.kernel_call(inputs, "default", -1),
             FI: PROVIDERS[FI].prepare(inputs, -1)}
    for order in (["default#1", "explicit", "default#2", FI], ["explicit", "default#1", FI, "default#2"]):
        reference = harness.reference_for(inputs, -1)  # the float64 work that precedes timing
        for name in order:
            harness.check_call(inputs, name, -1, calls[name], reference=reference)
        del reference
        samples = {name: [] for name in order}
        print(f"\nn_ctx={n_ctx} order={order}")
        for r in range(ROUNDS):
            shift = r % len(order)
            row = []
            for pos, name in enumerate(order[shift:] + order[:shift]):
                times = harness.device_times(calls[name], rep_ms=REP_MS / ROUNDS)
                samples[name] += times
                row.append(f"{name}@{pos} {statistics.median(times) * 1e3:.3f}")
            print(f"  round {r}: " + "  ".join(row))
        print("  medians: " + "  ".join(f"{n} {statistics.median(s) * 1e3:.3f}" for n, s in samples.items()))
        print("  first-round-dropped: " + "  ".join(
            f"{n} {statistics.median(s[len(s) // ROUNDS:]) * 1e3:.3f}" for n, s in samples.items()))
