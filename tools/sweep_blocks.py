"""Sweep launch configurations of the kernel at chosen shapes, for tuning ``TUNED_BLOCKS``.

    python -m tools.sweep_blocks --configs default,m128n32w4s3,m64n64w4s2 [--head-dim 128]
        [--heads 64/8] [--dtype bf16] [--n-ctx 8192] [--windows -1,127] [--pool fragmented]
        [--peers flashinfer-0.7.2-fa3] [--baseline flashinfer-0.7.2-fa3]

A configuration ``mMnNwWsS`` is ``LaunchConfig(block_m=M, block_n=N, num_warps=W,
num_stages=S)``; ``mMnNwWsS:ORDER`` also sets ``grid_order`` (``heads`` or ``sequences``),
a ``+pf`` suffix ``prefetch_indices=True``, ``+rR`` ``max_registers=R`` (with ``+ws``: each
consumer's registers, the producer the rest), ``+ov``
``overlap_softmax=True`` and ``+ws`` ``warp_specialize=True`` (the Gluon kernels for Hopper),
``+pe`` ``persistent=True`` (with ``+ws``: a program per SM walking the work items), ``+pg``
``pack_gqa=True`` (with ``+ws``: a KV head's query heads packed into an item's rows), ``+pq``
``prefetch_q=True`` (with ``+pe``: each consumer copies its next item's Q ahead), ``+op``
``overlap_pv=True`` (with ``+ws``: the softmax runs while the previous tile's P·V does),
``+di`` ``dynamic_items=True`` (with ``+pe``: each program takes its next item from a counter),
``+tm`` ``tma_extend=True`` (with ``+ws``: whole extend tiles copied by TMA), ``+os``
``o_through_shared=True`` (with ``+ws``: each consumer writes O through its Q buffer), ``+ks``
``one_key_stream=True`` (with ``+ws``: an item's prefix and extend keys in one stream of tiles);
a variant's name (``default``) runs that variant, and ``row:SHAPE`` (``row:windowed``,
``row:short``, ``row:long``) the row of ``TUNED_BLOCKS``, the sm_90 table, that ``default``
runs at ``--head-dim`` in that shape class, at every point: ``--baseline row:long`` compares
with one row everywhere, and ``--configs row:windowed,row:short,row:long`` measures each row
at the others' points (step 30's gain was a row never measured at another's). ``--peers`` adds
providers (``benchmarks/providers``) to the same run, and ``--baseline`` names the one every speedup is
over (``baseline`` by default; a peer's name tunes against it directly).
Every configuration and peer is checked against the reference before it is timed, and timed
interleaved with the baseline in one process (``benchmarks/harness.py``); a configuration
that does not fit the chip (out of shared memory) is reported, not fatal.
Prints one table per shape: ms, TFLOP/s and the speedup over the baseline, under a line
naming the row each variant runs there (``default``'s row changes with the shape: name
``row:SHAPE`` as ``--baseline`` to compare with that row everywhere).

Compiling is most of a cold sweep's time (seconds per kernel and specialization), and Triton
compiles at a kernel's first launch, one at a time. ``--compile-workers N`` compiles every
configuration at every window first, in N processes: each launches it once on a few rows with
the point's shapes, so that the launches the sweep times find Triton's cache filled.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import triton

import kernels
from kernels.extend_attention import SHAPE_CLASSES, TUNED_BLOCKS, launch_arch, shape_class
from benchmarks import harness, workloads
from benchmarks.providers import PROVIDERS
from benchmarks.providers.base import PeerPoint
from tools import _cli

# a row of the sm_90 table by its shape class: row:windowed, row:short, row:long
_ROW = "row:"
_CONFIG = re.compile(r"m(\d+)n(\d+)w(\d+)s(\d+)(?::(\w+))?(\+pf)?(?:\+r(\d+))?(\+ov)?(\+ws)?(\+pe)?(\+pg)?(\+pq)?(\+op)?(\+di)?(\+tm)?(\+os)?(\+ks)?")


def parse_configs(text: str, head_dim: Optional[int] = None) -> Dict[str, Union[str, kernels.LaunchConfig]]:
    """'default,m128n32w4s3,m64n64w4s2:sequences+pf,row:long' -> {name: variant name or
    LaunchConfig}, a ``row:SHAPE`` entry as ``TUNED_BLOCKS[head_dim, SHAPE]``; ValueError
    naming a bad entry."""
    configs: Dict[str, Union[str, kernels.LaunchConfig]] = {}
    for name in filter(None, text.split(",")):
        if name in kernels.VARIANTS:
            configs[name] = name
            continue
        if name.startswith(_ROW):
            configs[name] = tuned_row(name[len(_ROW):], head_dim)
            continue
        if name in PROVIDERS:
            raise ValueError(f"--configs: {name!r} is a provider: name it in --peers")
        match = _CONFIG.fullmatch(name)
        if match is None:
            raise ValueError(f"--configs: {name!r} is neither a variant ({sorted(kernels.VARIANTS)}) nor "
                             f"of the form mMnNwWsS[:ORDER][+pf][+rR][+ov][+ws][+pe][+pg][+pq][+op][+di][+tm][+os][+ks], e.g. m128n32w4s3 or "
                             f"m128n32w8s3:heads+pf+r128")
        block_m, block_n, num_warps, num_stages = map(int, match.groups()[:4])
        try:
            configs[name] = kernels.LaunchConfig(block_m=block_m, block_n=block_n,
                                                 num_warps=num_warps, num_stages=num_stages,
                                                 grid_order=match.group(5),
                                                 prefetch_indices=True if match.group(6) else None,
                                                 max_registers=int(match.group(7)) if match.group(7) else None,
                                                 overlap_softmax=True if match.group(8) else None,
                                                 warp_specialize=True if match.group(9) else None,
                                                 persistent=True if match.group(10) else None,
                                                 pack_gqa=True if match.group(11) else None,
                                                 prefetch_q=True if match.group(12) else None,
                                                 overlap_pv=True if match.group(13) else None,
                                                 dynamic_items=True if match.group(14) else None,
                                                 tma_extend=True if match.group(15) else None,
                                                 o_through_shared=True if match.group(16) else None,
                                                 one_key_stream=True if match.group(17) else None)
        except ValueError as bad:
            raise ValueError(f"--configs: {name!r}: {bad}") from None
    if not configs:
        raise ValueError("--configs: no configuration given")
    return configs


def tuned_row(shape: str, head_dim: Optional[int]) -> kernels.LaunchConfig:
    """The row of ``TUNED_BLOCKS`` (the sm_90 table) for ``head_dim`` and shape class
    ``shape``; ValueError naming the entry where either is not one."""
    if shape not in SHAPE_CLASSES:
        raise ValueError(f"--configs: {_ROW + shape!r}: expected one of "
                         f"{', '.join(_ROW + s for s in SHAPE_CLASSES)}")
    if (head_dim, shape) not in TUNED_BLOCKS:
        raise ValueError(f"--configs: {_ROW}{shape}: no row at head dim {head_dim} "
                         f"(one of {sorted({d for d, _ in TUNED_BLOCKS})})")
    return TUNED_BLOCKS[head_dim, shape]


def parse_impls(text: str, head_dim: Optional[int] = None
                ) -> Tuple[List[str], Dict[str, Union[str, kernels.LaunchConfig]], Tuple[str, ...]]:
    """'flashinfer-0.7.2-fa3,default,m128n128w8s3:heads+ws,row:long' -> (every name in the order
    given, {name: variant or LaunchConfig} for the ones this repository's kernel launches, as
    ``parse_configs`` reads them at ``head_dim``, the providers' names); ValueError naming
    ``--impls``. A variant runs as a configuration, whether or not a provider of that name
    exists."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError(f"--impls {text!r}: no implementation given")
    peers = tuple(name for name in names if name in PROVIDERS and name not in kernels.VARIANTS)
    launched = [name for name in names if name not in peers]
    unknown = [name for name in launched if name not in kernels.VARIANTS
               and not name.startswith(_ROW) and not _CONFIG.fullmatch(name)]
    if unknown:
        raise ValueError(f"--impls: {unknown[0]!r} is neither a variant ({sorted(kernels.VARIANTS)}), a provider "
                         f"({list(PROVIDERS)}), a row ({_ROW}SHAPE) nor a configuration mMnNwWsS[...] "
                         "(tools.sweep_blocks), e.g. m128n32w4s3")
    try:
        configs = parse_configs(",".join(launched), head_dim) if launched else {}
    except ValueError as bad:
        raise ValueError(str(bad).replace("--configs", "--impls")) from None
    return names, configs, peers


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", required=True)
    parser.add_argument("--peers", type=_cli.name_list(list(PROVIDERS)), default=(),
                        help="providers timed beside the configurations")
    parser.add_argument("--baseline", default=harness.BASELINE,
                        help="the variant, row, configuration or peer every speedup is over")
    parser.add_argument("--compile-workers", type=int, default=0,
                        help="compile every configuration first, in this many processes")
    _cli.add_shape_flags(parser, n_ctx="8192", windows="-1", pool="fragmented")
    args = _cli.parse(parser, argv)
    try:
        args.configs = parse_configs(args.configs, args.head_dim)
    except ValueError as bad:
        parser.error(str(bad))
    if args.baseline not in (*args.configs, *args.peers):
        try:
            baseline = parse_configs(args.baseline, args.head_dim)
        except ValueError:
            parser.error(f"--baseline {args.baseline!r}: neither a variant, a row, a configuration "
                         "nor among --peers")
        args.configs = {**baseline, **args.configs}
    return args


def prepare_point(inputs, point: PeerPoint, configs, peers) -> Dict[str, harness.Prepared]:
    """Each configuration's checked and timed calls, then each peer's (ValueError naming a
    peer that does not run here)."""
    window = point.window
    prepared = {name: harness.Prepared(checked=harness.kernel_call(inputs, config, window, validate=True),
                                       timed=harness.kernel_call(inputs, config, window))
                for name, config in configs.items()}
    for name in peers:
        why_not = PROVIDERS[name].why_not(point)
        if why_not is not None:
            raise ValueError(f"--peers {name}: {why_not}")
        call = PROVIDERS[name].prepare(inputs, window)
        prepared[name] = harness.Prepared(checked=call, timed=call)
    return prepared


def parse_point_args(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """A one-point tool's flags (``--impls`` and ``_cli.add_shape_flags``'): one n_ctx and one
    window (``args.n_ctx``, ``args.window``), the implementations as ``parse_impls`` reads them
    (``args.order``, ``args.configs``, ``args.peers``); the parser's error otherwise."""
    args = _cli.parse(parser, argv)
    if len(args.n_ctx) != 1 or len(args.windows) != 1:
        parser.error(f"--n-ctx {args.n_ctx} --windows {args.windows}: one point at a time")
    (args.n_ctx,), (args.window,) = args.n_ctx, args.windows
    try:
        args.order, args.configs, args.peers = parse_impls(args.impls, args.head_dim)
    except ValueError as bad:
        parser.error(str(bad))
    return args


def checked_point(args: argparse.Namespace) -> Tuple[workloads.ExtendInputs, Dict[str, harness.Prepared],
                                                     Dict[str, float]]:
    """The point of ``parse_point_args``: its inputs, each implementation's calls, and each one's
    relative error against the float64 reference (``VariantIncorrect`` for a wrong one)."""
    inputs = workloads.make_inputs(*workloads.pr_lengths(args.n_ctx), heads=args.heads,
                                   head_dim=args.head_dim, dtype=args.dtype, pool=args.pool,
                                   device="cuda")
    prepared = prepare_point(inputs, PeerPoint(args.head_dim, args.dtype, args.window), args.configs,
                             args.peers)
    reference = harness.reference_for(inputs, args.window)
    errors = {name: harness.check_call(inputs, name, args.window, prepared[name].checked, reference=reference)
              for name in args.order}
    return inputs, prepared, errors


# The few rows a compile-ahead launch attends over: the strides, and so the compiled
# specialization, are the point's; only the lengths are small.
COMPILE_LENGTHS = ((16,), (16,))


def _compile_one(config: kernels.LaunchConfig, window: int, args: argparse.Namespace) -> str:
    """Launch one resolved config once on a few rows (a worker process's task)."""
    inputs = workloads.make_inputs(*COMPILE_LENGTHS, heads=args.heads, head_dim=args.head_dim,
                                   dtype=args.dtype, pool=args.pool, device="cuda")
    harness.kernel_call(inputs, config, window)()
    torch.cuda.synchronize()
    return f"{config} window={window}"


def compile_ahead(args: argparse.Namespace) -> None:
    """Every configuration at every point, resolved for the point's shape class and compiled
    by a launch in one of ``args.compile_workers`` processes; a config that fails to compile
    fails here as it would in the sweep."""
    arch = launch_arch(torch.device("cuda"))
    longest = {n_ctx: max(workloads.pr_lengths(n_ctx)[1]) for n_ctx in args.n_ctx}
    resolved = {}
    for name, config in args.configs.items():
        for n_ctx in args.n_ctx:
            for window in args.windows:
                shape = shape_class(window, longest[n_ctx])
                resolved[(kernels.resolve_config(config, args.head_dim, shape, arch=arch), window)] = name
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    with concurrent.futures.ProcessPoolExecutor(args.compile_workers, mp_context=context) as pool:
        futures = {pool.submit(_compile_one, config, window, args): name
                   for (config, window), name in resolved.items()}
        for future in concurrent.futures.as_completed(futures):
            try:
                future.result()
            except Exception as failed:  # reported, not fatal: the sweep reports it per point
                print(f"compile-ahead: {futures[future]}: {type(failed).__name__}: {str(failed).splitlines()[0][:200]}")
    print(f"compile-ahead: {len(resolved)} kernels in {args.compile_workers} processes")


def variant_rows(configs, longest_extend: int, window: int) -> str:
    """The shape class whose row each variant among ``configs`` runs at a point: a variant
    such as ``default`` takes another row of its table from point to point (at head dim 64,
    the short row at n_ctx 4096 and the long one at 8192), so a speedup over it compares with
    that row, not with a configuration's. Empty where ``configs`` has no variant."""
    shape = shape_class(window, longest_extend)
    named = [name for name, config in configs.items() if isinstance(config, str)]
    return f"variants' rows here: {', '.join(f'{name} {shape}' for name in named)}" if named else ""


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    _cli.require_cuda("sweep_blocks")
    print(f"{torch.cuda.get_device_name()} · torch {torch.__version__} · triton {triton.__version__}")
    if args.compile_workers > 0:
        compile_ahead(args)
    failed = False
    for n_ctx in args.n_ctx:
        inputs = workloads.make_inputs(*workloads.pr_lengths(n_ctx), heads=args.heads,
                                       head_dim=args.head_dim, dtype=args.dtype, pool=args.pool,
                                       device="cuda")
        for window in args.windows:
            prepared = prepare_point(inputs, PeerPoint(args.head_dim, args.dtype, window),
                                     args.configs, args.peers)
            results = harness.measure_calls(inputs, window, prepared, baseline=args.baseline)
            print(f"\n{args.heads} D={args.head_dim} {args.dtype} n_ctx={n_ctx} window={window} {args.pool}")
            rows = variant_rows(args.configs, inputs.max_len_extend, window)
            if rows:
                print(rows)
            print(f"| config | ms | TFLOP/s | × {args.baseline} |\n|---|---|---|---|")
            for name, result in results.items():
                if not result.correct:
                    failed = True
                    print(f"| {name} | FAIL: {result.failure} | | |")
                    continue
                print(f"| {name} | {result.seconds * 1e3:.3f} | {result.tflops:.0f} | "
                      f"{result.speedup_vs_baseline:.2f}× |")
        del inputs
        torch.cuda.empty_cache()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
