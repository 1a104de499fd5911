"""One machine's times over another's at the same commits: the H100-to-H200 figure and table.

Per PR-matrix point (n_ctx, window, pool, variant): the ``time_extend`` median on the second
machine over the first's, at every commit both stored (the geometric mean over them, with
the lowest and highest), beside where the point sits on each machine's roofline. A machine's
roofline is its newest stored ceilings (``history.newest_ceilings``: ``bench_ceilings.Ceilings``,
as the roofline picture draws them); a point left of the ridge is memory-bound, right of it
compute-bound. Where both machines stored their ceilings, the roofline's own prediction is
the ratio of the two roofs' least times for the point's FLOPs and bytes; how far below its
roof a point runs says whether a roof binds at all.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmarks.cost import Cost
from benchmarks.workloads import PR_DTYPE, PR_HEAD_DIM, PR_HEADS
from ci.store import Run
from plots.figures import (POOL_MARKERS, NothingToDraw, new_figure, note, plain_log_scale, readable, unique,
                           variant_colors, window_label)
from plots.history import TIME, History, PRKey, newest_ceilings, pr_cost, pr_points

# the stored H100 history and the H200's (docs/DESIGN.md, "asv names")
BEFORE, AFTER = "h100-sxm-80gb", "nvidia-h200"
MEMORY, COMPUTE = "memory", "compute"


@dataclasses.dataclass(frozen=True)
class Roof:
    """A machine's roofline: its measured matmul and copy ceilings."""

    machine: str
    run: Run  # the commit whose run measured them
    tflops: float
    gbps: float

    @property
    def ridge(self) -> float:
        """FLOP/byte where the bandwidth stops being the limit."""
        return self.tflops * 1e3 / self.gbps

    def bound(self, intensity: float) -> str:
        return MEMORY if intensity < self.ridge else COMPUTE

    def seconds_per_flop(self, intensity: float) -> float:
        """The least time per FLOP the roofline allows at ``intensity``: at the peak, or the bytes
        at the bandwidth."""
        return max(1 / (self.tflops * 1e12), 1 / (self.gbps * 1e9 * intensity))

    def least_seconds(self, cost: Cost) -> float:
        return cost.flops * self.seconds_per_flop(cost.intensity)


def roof(history: History) -> Optional[Roof]:
    measured = newest_ceilings(history)
    return None if measured is None else Roof(history.machine, *measured)


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclasses.dataclass(frozen=True)
class PointRatio:
    """One PR-matrix point on both machines, over the commits both measured it at."""

    key: PRKey
    ratios: Tuple[float, ...]  # after's time / before's, one per commit
    before_s: float  # geometric means of the two machines' medians over those commits
    after_s: float

    @property
    def ratio(self) -> float:
        return _geomean(self.ratios)

    @property
    def cost(self) -> Cost:
        return pr_cost(self.key.n_ctx, self.key.window)

    @property
    def intensity(self) -> float:
        return self.cost.intensity


@dataclasses.dataclass(frozen=True)
class Comparison:
    before: History
    after: History
    commits: Tuple[Run, ...]  # the before machine's runs of the commits both stored, oldest first
    points: Tuple[PointRatio, ...]

    @functools.cached_property
    def roofs(self) -> Tuple[Optional[Roof], Optional[Roof]]:
        return roof(self.before), roof(self.after)

    def bounds(self, point: PointRatio) -> Tuple[Optional[str], Optional[str]]:
        """Memory- or compute-bound on each machine (None where its ceilings are not stored)."""
        return tuple(r.bound(point.intensity) if r else None for r in self.roofs)

    def expected(self, point: PointRatio) -> Optional[float]:
        """The roofline's ratio for the point, where both machines stored their ceilings."""
        before, after = self.roofs
        return after.least_seconds(point.cost) / before.least_seconds(point.cost) if before and after else None

    def of_roof(self, point: PointRatio) -> Tuple[Optional[float], Optional[float]]:
        """The fraction of each machine's roof the point reached (None without its ceilings)."""
        before, after = self.roofs
        return (before.least_seconds(point.cost) / point.before_s if before else None,
                after.least_seconds(point.cost) / point.after_s if after else None)


def compare(before: History, after: History) -> Comparison:
    """``after``'s PR-matrix times over ``before``'s at every commit both stored."""
    after_runs = {run.commit: run for run in after.runs}
    pairs = [(run, after_runs[run.commit]) for run in before.runs if run.commit in after_runs]
    measured = [(b, a, pr_points(b, TIME), pr_points(a, TIME)) for b, a in pairs]
    measured = [(b, a, tb, ta) for b, a, tb, ta in measured if tb.keys() & ta.keys()]
    if not measured:
        raise NothingToDraw(f"no commit with {TIME} stored for both {before.machine} and {after.machine}")
    keys = unique(k for _, _, tb, ta in measured for k in tb if k in ta)
    points = []
    for key in keys:
        both = [(tb[key].value, ta[key].value) for _, _, tb, ta in measured if key in tb and key in ta]
        points.append(PointRatio(key, tuple(a / b for b, a in both), _geomean([b for b, _ in both]),
                                 _geomean([a for _, a in both])))
    return Comparison(before, after, tuple(b for b, *_ in measured), tuple(points))


# ---------------------------------------------------------------- the table

def _span(values: Sequence[float], form: str = ".3f", unit: str = "×") -> str:
    low, high = min(values), max(values)
    return f"{low:{form}}{unit}" if f"{low:{form}}" == f"{high:{form}}" else f"{low:{form}}–{high:{form}}{unit}"


def _count(items: Sequence, noun: str) -> str:
    return noun if len(items) == 1 else f"{len(items)} {noun}s"


def _bound_text(bound: Optional[str]) -> str:
    return bound or "n/a"


def _roof_line(machine: str, found: Optional[Roof]) -> str:
    if found is None:
        return (f"- {machine}: no ceilings stored (bench_ceilings.Ceilings has not run there); its column "
                "reads n/a, and so does the roofline's expected ratio.")
    return (f"- {machine}: {found.tflops:,.0f} TFLOP/s (bf16 matmul), {found.gbps:,.0f} GB/s (copy), ridge "
            f"{found.ridge:.0f} FLOP/byte; measured at commit {found.run.short}.")


def summary_rows(comparison: Comparison) -> List[List[str]]:
    """The README's table: a row per window and roofline class, then one for every point."""
    groups: Dict[tuple, List[PointRatio]] = {}
    for point in comparison.points:
        groups.setdefault((point.key.window, *comparison.bounds(point)), []).append(point)
    rows = [[window_label(window), _span([p.intensity for p in found], ".0f", ""), _bound_text(before),
             _bound_text(after), str(len(found)), _ratio_cell([r for p in found for r in p.ratios]),
             _of_roof_cell(comparison, found)]
            for (window, before, after), found in groups.items()]
    every = comparison.points
    rows.append(["all", _span([p.intensity for p in every], ".0f", ""), "", "", str(len(every)),
                 _ratio_cell([r for p in every for r in p.ratios]), _of_roof_cell(comparison, every)])
    return rows


def _ratio_cell(ratios: Sequence[float]) -> str:
    return f"{_geomean(ratios):.3f}× ({_span(ratios)})"


def _of_roof_cell(comparison: Comparison, points: Sequence[PointRatio]) -> str:
    reached = [comparison.of_roof(p)[0] for p in points]
    return "n/a" if None in reached else _span([100 * r for r in reached], ".0f", "%")


def summary_header(comparison: Comparison) -> List[str]:
    before, after = comparison.before.machine, comparison.after.machine
    return ["window", "FLOP/byte", f"bound on {before}", f"bound on {after}", "points",
            f"{after} time / {before} time: geomean (min–max)", f"of the {before} roof reached"]


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def comparison_table(comparison: Comparison) -> str:
    """The comparison as markdown: where the numbers come from, the summary, then every point."""
    before, after = comparison.before.machine, comparison.after.machine
    commits = ", ".join(run.short for run in comparison.commits)
    lines = [f"# {after} over {before}: PR-matrix times at the same commits", "",
             f"{TIME} medians, heads {PR_HEADS}, head_dim {PR_HEAD_DIM}, {PR_DTYPE}, at the "
             f"{_count(comparison.commits, 'commit')} both machines stored: {commits}. A ratio below 1: "
             f"{after} is faster. Bounds by the newest stored ceilings of each machine (the roofline "
             "picture's); intensity is benchmarks.cost's FLOPs over its fewest bytes.", "",
             _roof_line(before, comparison.roofs[0]), _roof_line(after, comparison.roofs[1]), ""]
    lines += _markdown(summary_header(comparison), summary_rows(comparison))
    lines += ["", "Every point (ratio: geomean over the commits; of roof: the roofline's least time over "
                  "the measured one):", ""]
    header = ["n_ctx", "window", "pool", "variant", "FLOP/byte", f"bound on {before}", f"bound on {after}",
              "ratio", "min–max", "roofline expects", f"of roof, {before}", f"of roof, {after}"]
    rows = []
    for point in sorted(comparison.points, key=lambda p: (p.key.window, p.key.n_ctx, p.key.pool, p.key.variant)):
        expected = comparison.expected(point)
        reached = comparison.of_roof(point)
        rows.append([str(point.key.n_ctx), window_label(point.key.window), point.key.pool, point.key.variant,
                     f"{point.intensity:.0f}", *map(_bound_text, comparison.bounds(point)),
                     f"{point.ratio:.3f}×", _span(point.ratios),
                     "n/a" if expected is None else f"{expected:.3f}×",
                     *("n/a" if r is None else f"{100 * r:.0f}%" for r in reached)])
    return "\n".join(lines + _markdown(header, rows)) + "\n"


# ---------------------------------------------------------------- the figure

@readable
def comparison_figure(comparison: Comparison) -> Figure:
    """The ratio per point against its intensity, the machines' ridges marked."""
    before, after = comparison.before.machine, comparison.after.machine
    points = comparison.points
    variants, pools = unique(p.key.variant for p in points), unique(p.key.pool for p in points)
    colors = variant_colors(variants)
    fig, axes = new_figure()
    ax = axes[0, 0]
    for variant in variants:
        for pool, marker in zip(pools, POOL_MARKERS):
            chosen = [p for p in points if (p.key.variant, p.key.pool) == (variant, pool)]
            if not chosen:
                continue
            x = [p.intensity for p in chosen]
            y = [p.ratio for p in chosen]
            low = [p.ratio - min(p.ratios) for p in chosen]
            high = [max(p.ratios) - p.ratio for p in chosen]
            ax.errorbar(x, y, yerr=[low, high], ls="none", marker=marker, ms=5, color=colors[variant],
                        alpha=0.8, elinewidth=0.8, gid="points")
    plain_log_scale(ax, "x")
    ax.axhline(1.0, color="black", lw=1)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel(f"{after} time / {before} time")
    handles = ([Line2D([], [], ls="none", marker="o", color=colors[v], label=v) for v in variants]
               + [Line2D([], [], ls="none", marker=m, color="grey", label=f"pool {p}") for p, m in zip(pools, POOL_MARKERS)]
               + _draw_roofs(ax, comparison))
    fig.legend(handles=handles, loc="outside right center")
    commits = comparison.commits
    span = f"commit {commits[0].short}" if len(commits) == 1 else f"{len(commits)} commits {commits[0].short}..{commits[-1].short}"
    fig.suptitle(f"{after} over {before}: the PR matrix at the same commits\n{span}, {len(points)} points")
    missing = [r for r, found in zip((before, after), comparison.roofs) if found is None]
    note(fig, f"A point: {after}'s {TIME} median over {before}'s, geomean over the commits (bars: lowest, highest).",
         "Left of a machine's ridge (its matmul over its copy ceiling, the roofline picture's): memory-bound there. "
         "Intensity: benchmarks.cost.",
         ("No ceilings stored for " + " and ".join(missing) + ": no ridge or expectation drawn for it.") if missing
         else "Dotted: the roofline's expected ratio, the least time it allows on each machine.")
    return fig


def _draw_roofs(ax, comparison: Comparison) -> List[Line2D]:
    drawn = []
    for found, style in zip(comparison.roofs, ("--", ":")):
        if found is not None:
            drawn.append(ax.axvline(found.ridge, color="dimgrey", ls=style, lw=1.5, gid=f"ridge-{found.machine}",
                                    label=f"ridge, {found.machine}\n{found.ridge:.0f} FLOP/byte"))
    before, after = comparison.roofs
    if before is not None:
        drawn.append(ax.axvspan(ax.get_xlim()[0], before.ridge, color="tab:blue", alpha=0.08, lw=0,
                                label=f"memory-bound\non {before.machine}"))
    if before is not None and after is not None:
        xs = np.geomspace(*ax.get_xlim(), 200)
        expected = [after.seconds_per_flop(x) / before.seconds_per_flop(x) for x in xs]
        drawn.append(ax.plot(xs, expected, color="black", ls=":", lw=1.5, gid="expected",
                             label="roofline's\nexpected ratio")[0])
    return drawn
