"""Draw the stored benchmark history: trends, knob attribution, roofline, codegen, peers and the
board's telemetry, per machine, and one machine's times over another's.

    python plots/render.py [--results DIR] [--out DIR] [--variant NAME] [--pool NAME]
                           [--head-dim N] [--env NAME] [--compare BEFORE:AFTER]

Reads asv's results folder (no GPU needed) and writes ``<picture>-<machine>.png`` and
``.svg`` for each machine (``telemetry-<machine>`` with a ``.md`` of each run's summary, from
``plots/board.py``), and ``BEFORE-to-AFTER.png``, ``.svg`` and ``.md`` (``plots/machines.py``:
by default the H100's times over the H200's). Each ``*_figure`` function returns a matplotlib ``Figure`` so that
the tests can check what is drawn, not only that a file appeared. Exit status 2 with a
message naming the folder or file when there are no results or one cannot be read.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from types import MappingProxyType
from typing import List, Mapping, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as `python plots/render.py`: make the repo's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from benchmarks.providers import PROVIDERS  # noqa: E402
from benchmarks.workloads import PR_DTYPE, PR_HEAD_DIM, PR_HEADS  # noqa: E402
from ci.rule import DEFAULT_THRESHOLD  # noqa: E402
from ci import telemetry  # noqa: E402
from ci.store import Run, StoreError  # noqa: E402
from ci.telemetry import Board  # noqa: E402
from plots import board as board_figures  # noqa: E402
from plots import machines  # noqa: E402
from plots.figures import (POOL_MARKERS, NothingToDraw, file_safe, new_figure, note,  # noqa: E402
                           plain_log_scale, readable, save, unique, variant_colors, window_label)
from plots.history import (CODEGEN, PEERS_RATIO, PEERS_TIME, TIME, History, PeerKey,  # noqa: E402
                           PRKey, load_histories, newest_ceilings, newest_of, peers_runs, peers_speedups, peers_tables,
                           peers_timing, peers_tflops,
                           points, pr_cost, pr_points, pr_speedups, pr_tflops, regressed_steps)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = REPO / "results"
DEFAULT_OUT = REPO / "plots" / "out"

MAX_COMMIT_LABELS = 16
REGRESSION_COLOR = "crimson"
CODEGEN_METRICS = (  # benchmark, panel title, y label (the unit), scale from the stored value
    ("track_registers", "registers", "registers per thread", 1.0),
    ("track_stack_bytes", "spills", "stack bytes per thread", 1.0),
    ("track_shared_bytes", "shared memory", "KiB per block", 1 / 1024),
)


def _title(fig: Figure, what: str, history: History, run: Optional[Run] = None) -> None:
    """The title, with the span of commits drawn, or the one ``run`` drawn."""
    span = history.commit_range()
    if run is not None and len(history.runs) > 1:
        span = f"commit {run.short}, the newest of {len(history.runs)} since {history.runs[0].short}"
        if run is not history.newest:  # e.g. newer runs measured only the peers
            span += " to measure it"
    fig.suptitle(f"{what}\nmachine {history.machine}  ·  {span}")


def _commit_axis(ax, history: History) -> None:
    """Commits in date order, labelled with short hashes; the newest is always labelled."""
    count = len(history.runs)
    stride = max(1, math.ceil(count / MAX_COMMIT_LABELS))
    ticks = sorted(range(count - 1, -1, -stride))
    ax.set_xticks(ticks, [history.runs[i].short for i in ticks], rotation=45, ha="right",
                  fontfamily="monospace")
    ax.set_xlim(-0.5, count - 0.5)


def _grid(panels: int) -> tuple:
    cols = 1 if panels == 1 else 2
    return math.ceil(panels / cols), cols


@readable
def trends_figure(history: History, variant: str = "default", pool: str = "contiguous",
                  threshold: float = DEFAULT_THRESHOLD) -> Figure:
    """Time per commit of the PR matrix for one variant: a panel per window, a line per n_ctx."""
    times = [pr_points(run, TIME) for run in history.runs]
    keys = unique(key for at_commit in times for key in at_commit)
    shown = [key for key in keys if (key.variant, key.pool) == (variant, pool)]
    if not shown:
        stored = sorted({(k.variant, k.pool) for k in keys})
        raise NothingToDraw(f"no {TIME} for variant {variant!r}, pool {pool!r} (stored: {stored})")
    steps = {key: regressed_steps([at_commit.get(key) for at_commit in times], threshold) for key in keys}
    windows, n_ctxs = unique(k.window for k in shown), unique(k.n_ctx for k in shown)
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.85, len(n_ctxs)))

    fig, axes = new_figure(*_grid(len(windows)), sharex=True)
    for ax, window in zip(axes.ravel(), windows):
        for n_ctx, color in zip(n_ctxs, colors):
            key = PRKey(n_ctx, window, pool, variant)
            _draw_trend(ax, [at_commit.get(key) for at_commit in times], steps[key], color, f"n_ctx {n_ctx}")
        ax.set_title(f"window: {window_label(window)}")
        plain_log_scale(ax, "y")
        ax.set_ylabel("time per call (ms)")
        _commit_axis(ax, history)
    for ax in axes.ravel()[len(windows):]:
        ax.remove()
    for ax in axes[-1]:
        ax.set_xlabel("commit (oldest to newest)")

    regression = Line2D([], [], ls="none", marker="o", ms=12, mfc="none", mec=REGRESSION_COLOR, mew=2,
                        label=f"regressed\n(> {threshold:.0%} slower\nand significant)")
    fig.legend(handles=axes[0, 0].get_lines() + [regression], loc="outside right center")
    _title(fig, f"Extend-attention time per commit: variant {variant}, pool {pool} (log scale)", history)
    elsewhere = sum(len(found) for key, found in steps.items() if key not in shown)
    note(fig, f"{TIME}, heads {PR_HEADS}, head_dim {PR_HEAD_DIM}, {PR_DTYPE}. Shaded: the interquartile "
               "range of the samples.",
          "A ring: slower than the commit before it by ci.rule.judge, the rule the gate fails on.",
          f"Regressed steps elsewhere in the PR matrix (other variants and pools): {elsewhere}.")
    return fig


def _draw_trend(ax, series, steps, color, label: str) -> None:
    ms = [point.value * 1e3 if point is not None else math.nan for point in series]
    ax.plot(range(len(ms)), ms, marker="o", ms=4, color=color, label=label)
    # the spread of the samples shows why a large step inside the noise is left unmarked
    ax.fill_between(range(len(ms)), [_quartile(p, "q_25") for p in series],
                    [_quartile(p, "q_75") for p in series], color=color, alpha=0.25, lw=0)
    if not steps:
        return
    ax.scatter(list(steps), [ms[i] for i in steps], s=160, facecolors="none", edgecolors=REGRESSION_COLOR,
               linewidths=2, zorder=3, gid="regression")
    for index, verdict in steps.items():
        ax.annotate(f"+{(verdict.ratio - 1) * 100:.0f}%", (index, ms[index]), xytext=(0, 9),
                    textcoords="offset points", ha="center", va="bottom", color=REGRESSION_COLOR,
                    fontweight="bold")


def _quartile(point, which: str) -> float:
    """A quartile of the point's samples in ms (its value where asv stored no stats)."""
    if point is None:
        return math.nan
    return (point.stats or {}).get(which, point.value) * 1e3


@readable
def attribution_figure(history: History) -> Figure:
    """Speedup of every variant over baseline at the newest commit: a panel per pool."""
    run = history.newest_measuring(TIME)
    speedups = pr_speedups(run)
    if not speedups:
        raise NothingToDraw(f"no {TIME} of baseline and another variant at commit {run.short}")
    all_variants = unique(k.variant for k in speedups)
    colors = variant_colors(all_variants)
    variants = [v for v in all_variants if v != "baseline"]
    pools = unique(k.pool for k in speedups)
    windows, n_ctxs = unique(k.window for k in speedups), unique(k.n_ctx for k in speedups)
    groups = [(window, n_ctx) for window in windows for n_ctx in n_ctxs]
    width = 0.8 / max(1, len(variants))

    fig, axes = new_figure(len(pools), 1, sharex=True, sharey=True)
    for ax, pool in zip(axes[:, 0], pools):
        for j, variant in enumerate(variants):
            found = [speedups.get(PRKey(n_ctx, window, pool, variant)) for window, n_ctx in groups]
            # bars grow from 1.0: up is faster than baseline, down is slower
            heights = [speedup - 1.0 if speedup is not None else math.nan for speedup in found]
            offset = (j - (len(variants) - 1) / 2) * width
            ax.bar(np.arange(len(groups)) + offset, heights, width, bottom=1.0, color=colors[variant],
                   label=variant)
        ax.axhline(1.0, color="black", lw=1)
        ax.set_title(f"pool: {pool}")
        ax.set_ylabel("speedup over baseline (×)")
    bottom, top = axes[0, 0].get_ylim()
    axes[0, 0].set_ylim(bottom, top + 0.15 * (top - bottom))  # headroom for the window names (y is shared)
    for ax in axes[:, 0]:
        _window_blocks(ax, windows, len(n_ctxs))
    axes[-1, 0].set_xticks(range(len(groups)), [str(n_ctx) for _, n_ctx in groups])
    axes[-1, 0].set_xlabel("n_ctx (tokens), in blocks by sliding window")
    fig.legend(handles=axes[0, 0].containers, labels=variants, loc="outside right center", title="variant")
    _title(fig, "Which knob buys the speedup? Each variant over baseline", history, run)
    note(fig, f"Baseline time / variant time: the medians of {TIME} in this commit's run.",
          f"PR matrix: the PR's batch of lengths, heads {PR_HEADS}, head_dim {PR_HEAD_DIM}, {PR_DTYPE}.")
    return fig


def _window_blocks(ax, windows: Sequence[int], per_block: int) -> None:
    """Separate and name the blocks of bars that share a window."""
    for b, window in enumerate(windows):
        if b:
            ax.axvline(b * per_block - 0.5, color="grey", lw=1)
        ax.text(b * per_block + (per_block - 1) / 2, 0.97, f"window {window_label(window)}",
                transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=10)
    ax.grid(False, axis="x")


@readable
def peers_figure(history: History) -> Figure:
    """Our default beside every peer, each pool from the newest run that measured it: default's in-run
    speedup over each (top) and each one's TFLOP/s (bottom), a column per pool."""
    runs = peers_runs(history)
    if not runs:
        raise NothingToDraw(f"no {PEERS_RATIO} measured")
    speedups, tflops = {}, {}
    for pool, by_provider in runs.items():  # each provider from the newest run that measured it
        for provider, run in {"default": newest_of(by_provider), **by_provider}.items():
            speedups.update({k: v for k, v in peers_speedups(run).items() if (k.pool, k.provider) == (pool, provider)})
            tflops.update({k: v for k, v in peers_tflops(run).items() if (k.pool, k.provider) == (pool, provider)})
    providers = unique(k.provider for k in tflops)
    pools = list(runs)
    windows, n_ctxs = unique(k.window for k in tflops), unique(k.n_ctx for k in tflops)
    groups = [(window, n_ctx) for window in windows for n_ctx in n_ctxs]
    colors = variant_colors(providers)
    bounds = {name for name in providers if name in PROVIDERS and PROVIDERS[name].kind == "bound"}
    x = np.arange(len(groups))

    fig, axes = new_figure(2, len(pools), sharex=True, sharey="row")
    for column, pool in enumerate(pools):
        top, bottom = axes[0, column], axes[1, column]
        for provider in providers:
            style = dict(color=colors[provider], marker="o", lw=1.2, ms=4,
                         ls="--" if provider in bounds else "-")
            for b, window in enumerate(windows):  # one line per window block: no line across blocks
                block = x[b * len(n_ctxs):(b + 1) * len(n_ctxs)]
                label = provider if b == 0 else None
                if provider != "default":
                    top.plot(block, [speedups.get(PeerKey(n, window, pool, provider), math.nan)
                                     for n in n_ctxs], label=label, **style)
                bottom.plot(block, [tflops.get(PeerKey(n, window, pool, provider), math.nan)
                                    for n in n_ctxs], label=label, **style)
        top.axhline(1.0, color="black", lw=1)
        newest = newest_of(runs[pool])
        older = [run.short for run in runs[pool].values() if run is not newest]
        top.set_title(f"pool: {pool}, commit {newest.short}" + "".join(
            f"\n({older.count(commit)} other providers from {commit})" for commit in unique(older)))
        plain_log_scale(top, "y")
        for ax in (top, bottom):
            for b, window in enumerate(windows):
                if b:
                    ax.axvline(b * len(n_ctxs) - 0.5, color="grey", lw=1)
                ax.text(b * len(n_ctxs) + (len(n_ctxs) - 1) / 2, 0.97, "no W" if window < 0 else f"W {window}",
                        transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=9)
            ax.grid(False, axis="x")
        bottom.set_xticks(x, [str(n_ctx) for _, n_ctx in groups], rotation=90)
        bottom.set_xlabel("n_ctx, in blocks by sliding window W")
    axes[0, 0].set_ylabel("default's speedup over it (×)")
    axes[1, 0].set_ylabel("TFLOP/s")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", title="provider")
    fig.suptitle(f"Our default beside its peers, {history.machine}")
    timings = unique(peers_timing(run) for by_provider in runs.values() for run in by_provider.values())
    note(fig, "Top: the provider's time / default's, both medians of one process; above 1, default is faster. "
               f"Timed with {'; '.join(timings)}.",
          f"Bottom: FLOPs / the median of {PEERS_TIME}. Heads {PR_HEADS}, head_dim {PR_HEAD_DIM}, {PR_DTYPE}.",
          "Dashed: a bound (K/V gathered beforehand, less work), not a peer. All checked against float64 first.")
    return fig


@readable
def roofline_figure(history: History) -> Figure:
    """Achieved TFLOP/s against intensity for every PR-matrix point at the newest commit."""
    run = history.newest_measuring(TIME)
    tflops = pr_tflops(run)
    if not tflops:
        raise NothingToDraw(f"no {TIME} at commit {run.short}")
    variants, pools = unique(k.variant for k in tflops), unique(k.pool for k in tflops)
    colors = variant_colors(variants)
    fig, axes = new_figure()
    ax = axes[0, 0]
    for variant in variants:
        for pool, marker in zip(pools, POOL_MARKERS):
            chosen = [(pr_cost(k.n_ctx, k.window).intensity, rate) for k, rate in tflops.items()
                      if (k.variant, k.pool) == (variant, pool)]
            if chosen:
                ax.scatter(*zip(*chosen), color=colors[variant], marker=marker, s=40, alpha=0.8,
                           gid="points")
    plain_log_scale(ax, "x")
    plain_log_scale(ax, "y")
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("achieved TFLOP/s")

    intensities = [pr_cost(k.n_ctx, k.window).intensity for k in tflops]
    ceilings = newest_ceilings(history)
    roof = _draw_roof(ax, *ceilings[1:], min(intensities), max(intensities)) if ceilings else []
    handles = ([Line2D([], [], ls="none", marker="o", color=colors[v], label=v) for v in variants]
               + [Line2D([], [], ls="none", marker=m, color="grey", label=f"pool {p}")
                  for p, m in zip(pools, POOL_MARKERS)] + roof)
    fig.legend(handles=handles, loc="outside right center")
    _title(fig, "Roofline of the PR matrix", history, run)
    measured = (f"Ceilings measured at commit {ceilings[0].short} by bench_ceilings.Ceilings: a large bf16 "
                "matmul, and a device-to-device copy counting bytes read + written."
                if ceilings else "No ceilings stored for this machine (bench_ceilings.Ceilings).")
    note(fig, f"One point per n_ctx × window × pool × variant, TFLOP/s: its FLOPs / the median of {TIME}.",
          "Intensity: FLOPs / fewest bytes, from benchmarks.cost.attention_cost over the PR's lengths.",
          measured)
    return fig


def _draw_roof(ax, peak_tflops: float, copy_gbps: float, lowest: float, highest: float) -> List[Line2D]:
    ridge = peak_tflops * 1e3 / copy_gbps  # FLOP/byte where bandwidth stops being the limit
    left, right = min(lowest, ridge) / 2, max(highest, ridge) * 2
    memory, = ax.plot([left, ridge], [copy_gbps * left / 1e3, peak_tflops], ls="--", lw=2, color="dimgrey",
                      gid="memory-ceiling", label=f"memory ceiling\n{copy_gbps:,.0f} GB/s (copy)")
    compute, = ax.plot([ridge, right], [peak_tflops, peak_tflops], ls="-", lw=2, color="black",
                       gid="compute-ceiling", label=f"compute ceiling\n{peak_tflops:,.0f} TFLOP/s (matmul)")
    return [compute, memory]


@readable
def codegen_figure(history: History, head_dim: int = PR_HEAD_DIM) -> Figure:
    """Registers, spills and shared memory per commit: a line per variant."""
    stored = {name: [points(run, f"{CODEGEN}.{name}") for run in history.runs]
              for name, *_ in CODEGEN_METRICS}
    variants = unique(values[0] for series in stored.values() for at_commit in series
                       for values in at_commit if values[1:] == (head_dim,))
    if not variants:
        raise NothingToDraw(f"no {CODEGEN} results for head_dim {head_dim}")
    colors = variant_colors(variants)
    # variants often compile to the same numbers: shift each a little so none hides another
    offsets = (np.arange(len(variants)) - (len(variants) - 1) / 2) * 0.07
    x = np.arange(len(history.runs))

    # not sharing x: the panel beside the empty cell keeps its commit labels
    fig, axes = new_figure(*_grid(len(CODEGEN_METRICS)))
    panels = axes.ravel()[:len(CODEGEN_METRICS)]
    for ax, (name, title, unit, scale) in zip(panels, CODEGEN_METRICS):
        for variant, offset, marker in zip(variants, offsets, "osD^vP*X"):
            found = [at_commit.get((variant, head_dim)) for at_commit in stored[name]]
            ax.plot(x + offset, [p.value * scale if p is not None else math.nan for p in found],
                    marker=marker, ms=5, color=colors[variant], label=variant)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _commit_axis(ax, history)
    for ax in axes.ravel()[len(CODEGEN_METRICS):]:
        ax.remove()
    for ax in panels[-axes.shape[1]:]:  # the last panel of each column
        ax.set_xlabel("commit (oldest to newest)")
    fig.legend(handles=axes[0, 0].get_lines(), loc="outside right center", title="variant")
    _title(fig, f"Kernel codegen per commit (head_dim {head_dim})", history)
    note(fig, f"{CODEGEN}.track_*, compiled without a GPU by kernels/codegen.py. Spills: the per-thread "
               "stack frame;", "shared memory: static + dynamic, per block. The ld.global.cg count: "
               "ci/codegen_gate.py.")
    return fig


def render(histories: Sequence[History], out_dir: Path, variant: str, pool: str, head_dim: int,
           boards: Mapping[str, Board] = MappingProxyType({}),
           compared: Tuple[str, str] = (machines.BEFORE, machines.AFTER)) -> List[Path]:
    """Draw every picture for every machine (``boards``: each one's stored telemetry), and the
    ``compared`` machines' times side by side; say which ones the stored results cannot make."""
    pictures = {
        "trends": lambda h: trends_figure(h, variant, pool),
        "attribution": attribution_figure,
        "roofline": roofline_figure,
        "codegen": lambda h: codegen_figure(h, head_dim),
        "peers": peers_figure,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for history in histories:
        for picture, draw in pictures.items():
            try:
                fig = draw(history)
            except NothingToDraw as exc:
                print(f"skipped {picture} for machine {history.machine}: {exc}", file=sys.stderr)
                continue
            written += save(fig, out_dir / f"{picture}-{file_safe(history.machine)}")
        runs = peers_runs(history)
        if runs:  # the README's peer ratios, as text beside the picture
            table = out_dir / f"peers-{file_safe(history.machine)}.md"
            table.write_text(peers_tables(runs))
            written.append(table)
        written += _telemetry(history, boards.get(history.machine), out_dir)
    return written + _comparison(histories, compared, out_dir)


def _telemetry(history: History, board: Optional[Board], out_dir: Path) -> List[Path]:
    """The board through the newest sampled runs, and every sampled run's summary beside it."""
    board = board or Board(history.machine, ())
    try:
        fig = board_figures.telemetry_figure(history, board)
    except NothingToDraw as exc:
        print(f"skipped telemetry for machine {history.machine}: {exc}", file=sys.stderr)
        return []
    stem = out_dir / f"telemetry-{file_safe(history.machine)}"
    stem.with_suffix(".md").write_text(board_figures.telemetry_table(history, board))
    return save(fig, stem) + [stem.with_suffix(".md")]


def _comparison(histories: Sequence[History], compared: Tuple[str, str], out_dir: Path) -> List[Path]:
    """One machine's times over the other's at the same commits, as a picture and a table."""
    found = {history.machine: history for history in histories}
    before, after = compared
    try:
        if before not in found or after not in found:
            raise NothingToDraw(f"results of both machines are needed; stored: {', '.join(found)}")
        comparison = machines.compare(found[before], found[after])
        fig = machines.comparison_figure(comparison)
    except NothingToDraw as exc:
        print(f"skipped {before} against {after}: {exc}", file=sys.stderr)
        return []
    stem = out_dir / f"{file_safe(before)}-to-{file_safe(after)}"
    stem.with_suffix(".md").write_text(machines.comparison_table(comparison))
    return save(fig, stem) + [stem.with_suffix(".md")]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="asv results folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNG and SVG files go")
    parser.add_argument("--variant", default="default", help="variant whose trend is drawn")
    parser.add_argument("--pool", default="contiguous", help="KV pool layout of the trend")
    parser.add_argument("--head-dim", type=int, default=PR_HEAD_DIM, help="head_dim of the codegen history")
    parser.add_argument("--env", help="asv environment name, when a commit was measured in several")
    parser.add_argument("--compare", default=f"{machines.BEFORE}:{machines.AFTER}", metavar="BEFORE:AFTER",
                        help="the machines whose times are drawn one over the other (default %(default)s)")
    return parser


def _machine_pair(text: str) -> Tuple[str, str]:
    before, colon, after = text.partition(":")
    if not (colon and before and after):
        raise SystemExit(f"plots: --compare {text!r} is not BEFORE:AFTER, two machine names")
    return before, after


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        histories = load_histories(args.results, env=args.env)
        boards = {history.machine: telemetry.load(args.results, history.machine) for history in histories}
        written = render(histories, args.out, args.variant, args.pool, args.head_dim, boards,
                         _machine_pair(args.compare))
    except StoreError as exc:
        print(f"plots: {exc}", file=sys.stderr)
        return 2
    if not written:
        print(f"plots: nothing to draw from the results in {args.results}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
