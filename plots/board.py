"""The board's state through each stored run: SM clock, power and temperature over time, with
the benchmarks' intervals marked, so that a step the board caused can be told from one the
code caused; and a table of each run's summary.

Samples and their match to the runs (by the runs each file sampled, then by time) come from
``ci/telemetry.py``; a run is drawn over the stretches its benchmarks ran in (a results file
merged from two jobs has two), side by side.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Tuple

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ci.store import Run
from ci.telemetry import REASONS, THROTTLING, Board, summarize, utc_text
from plots.figures import NothingToDraw, new_figure, note, readable, unique
from plots.history import History

MAX_RUNS = 6  # the newest sampled runs drawn: more would squeeze each out of sight
SESSION_GAP_S = 600  # benchmarks further apart than this ran in different jobs: drawn apart
GAP_FRACTION = 0.04  # blank between two stretches, of the whole axis
THROTTLED_COLOR = "crimson"


@dataclasses.dataclass(frozen=True)
class Stretch:
    """One stretch of a run's benchmarks, placed on the drawing's time axis at ``offset_s``."""

    run: Run
    start_ms: int
    end_ms: int
    intervals: Tuple[Tuple[str, int, int], ...]  # (benchmark, start, end), ms
    offset_s: float = 0.0

    def x(self, time_ms) -> np.ndarray:
        """Seconds on the drawing's axis."""
        return self.offset_s + (np.asarray(time_ms, dtype=float) - self.start_ms) / 1000

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000


def stretches(run: Run) -> List[Stretch]:
    """The run's benchmarks grouped where each starts within SESSION_GAP_S of the ones before."""
    groups: List[list] = []
    for name, (start, end) in sorted(run.intervals().items(), key=lambda item: item[1]):
        if groups and start - max(e for _, _, e in groups[-1]) <= SESSION_GAP_S * 1000:
            groups[-1].append((name, start, end))
        else:
            groups.append([(name, start, end)])
    return [Stretch(run, group[0][1], max(end for _, _, end in group), tuple(group)) for group in groups]


def stretch_samples(board: Board, stretch: Stretch) -> tuple:
    """The samples through a stretch of a run's benchmarks, the time between them included."""
    return board.between(stretch.run, (name for name, _, _ in stretch.intervals), stretch.start_ms,
                         stretch.end_ms)


def sampled_runs(history: History, board: Board) -> List[Run]:
    """The newest MAX_RUNS runs that have samples, in the order they were measured."""
    runs = [run for run in history.runs if board.during(run)]
    runs.sort(key=lambda run: min(start for start, _ in run.intervals().values()))
    return runs[-MAX_RUNS:]


def _laid_out(runs: List[Run], board: Board) -> List[Stretch]:
    found = [s for run in runs for s in stretches(run) if stretch_samples(board, s)]
    gap = GAP_FRACTION * sum(s.seconds for s in found)
    laid, offset = [], 0.0
    for stretch in found:
        laid.append(dataclasses.replace(stretch, offset_s=offset))
        offset += stretch.seconds + gap
    return laid


def _benchmark_class(name: str) -> str:
    return name.rsplit(".", 1)[0]


PANELS = (  # Sample field, y label
    ("sm_mhz", "SM clock (MHz)"),
    ("power_w", "power (W)"),
    ("temperature_c", "temperature (°C)"),
)


@readable
def telemetry_figure(history: History, board: Board) -> Figure:
    """SM clock, power and temperature through the newest sampled runs, benchmarks shaded."""
    if not board.files:
        raise NothingToDraw("no telemetry stored")
    runs = sampled_runs(history, board)
    if not runs:
        raise NothingToDraw(f"no stored run was measured while the {len(board.files)} stored telemetry "
                            "files were sampled")
    laid = _laid_out(runs, board)
    classes = unique(_benchmark_class(name) for s in laid for name, _, _ in s.intervals)
    palette = matplotlib.colormaps["tab20"].colors
    colors = {name: palette[i % len(palette)] for i, name in enumerate(classes)}

    fig, axes = new_figure(len(PANELS), 1, sharex=True)
    for ax, (field, label) in zip(axes[:, 0], PANELS):
        for stretch in laid:
            samples = stretch_samples(board, stretch)
            x = stretch.x([s.time_ms for s in samples])
            ax.plot(x, [getattr(s, field) for s in samples], color="black", lw=1, gid=f"{field}-{stretch.run.short}")
            if field == "power_w":
                ax.plot(x, [s.power_limit_w for s in samples], color="grey", ls="--", lw=1, gid="power-limit")
            if field == "sm_mhz":
                throttled = [(xi, s.sm_mhz) for xi, s in zip(x, samples) if s.throttled]
                if throttled:
                    ax.scatter(*zip(*throttled), s=8, color=THROTTLED_COLOR, zorder=3, gid="throttled")
            for name, start, end in stretch.intervals:
                ax.axvspan(*stretch.x([start, end]), color=colors[_benchmark_class(name)], alpha=0.35, lw=0,
                           gid="benchmark")
        ax.set_ylabel(label)
    top = axes[0, 0]
    for stretch in laid:
        top.text(stretch.x(stretch.start_ms), 1.02, stretch.run.short, transform=top.get_xaxis_transform(),
                 ha="left", va="bottom", fontsize=9, fontfamily="monospace")
        for ax in axes[:, 0]:
            if stretch.offset_s:
                ax.axvline(stretch.offset_s, color="black", lw=0.8)
    axes[-1, 0].set_xlabel("seconds into each run's benchmarks (runs side by side, oldest first)")
    handles = [Patch(color=colors[name], alpha=0.35, label=name) for name in classes]
    handles.append(Line2D([], [], ls="none", marker="o", ms=4, color=THROTTLED_COLOR,
                                           label="throttled sample"))
    fig.legend(handles=handles, loc="outside right center", title="while it ran", fontsize=8)
    fig.suptitle(f"The board through each run, machine {history.machine}\n{len(runs)} newest sampled runs, "
                 f"{utc_text(laid[0].start_ms)} to {utc_text(laid[-1].end_ms)}")
    throttling = ", ".join(name for bit, name in REASONS.items() if bit & THROTTLING)
    note(fig, "Shaded: when each benchmark ran (asv's started_at and duration; setup caches fall between); "
              "one colour per class.",
         f"Red: throttled samples (clock-event reasons {throttling}).",
         "Dashed: the enforced power limit. nvidia-smi every 500 ms; per-run summaries in telemetry-<machine>.md.")
    return fig


def _cell(value: float, form: str) -> str:
    return "n/a" if math.isnan(value) else format(value, form)


def telemetry_table(history: History, board: Board) -> str:
    """Every sampled run's summary as a markdown table, oldest commit first."""
    lines = [f"The board through each run measured on {history.machine} (ci/telemetry.py; samples taken "
             "while the run's benchmarks ran).", "",
             "| commit | measured | samples | SM clock median (min), MHz | power median / limit, W | "
             "temperature max, °C | throttled | reasons seen |",
             "|---|---|---|---|---|---|---|---|"]
    for run in history.runs:
        summary = summarize(board.during(run))
        if summary is None:
            continue
        start = min(start for start, _ in run.intervals().values())
        reasons = ", ".join(f"{name} {share:.0%}" for name, share in summary.reasons.items()) or "none"
        lines.append(f"| {run.short} | {utc_text(start)} | {summary.samples} | "
                     f"{_cell(summary.sm_median_mhz, '.0f')} ({_cell(summary.sm_min_mhz, '.0f')}) | "
                     f"{_cell(summary.power_median_w, '.0f')} / {_cell(summary.power_limit_w, '.0f')} | "
                     f"{_cell(summary.temperature_max_c, '.0f')} | {_cell(summary.throttled, '.0%')} | {reasons} |")
    return "\n".join(lines) + "\n"

