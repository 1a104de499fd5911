"""What every picture shares: the size and fonts, the note under the plot, log axes, colours,
and saving as PNG and SVG. The pictures are drawn in ``render.py``, ``board.py`` and
``machines.py``; each drawing function returns a matplotlib ``Figure``, so that the tests can
check what is drawn, not only that a file appeared."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

# 10 x 6 inches at 120 dpi is 1200 x 720 px: the fonts stay legible when a README scales it down
FIGSIZE = (10.0, 6.0)
DPI = 120
RC = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 10, "figure.titlesize": 13,
    "axes.grid": True, "grid.alpha": 0.3,
    "svg.hashsalt": "plots",  # stable SVG ids, so regenerating unchanged pictures changes no bytes
}
NOTE_SIZE = 9.5
POOL_MARKERS = ("o", "^", "s", "D")


class NothingToDraw(Exception):
    """This machine's results lack what a picture needs; the message says what."""


def readable(draw):
    """Draw under the project's font sizes (ticks are made at save time, so saving uses them too)."""
    return matplotlib.rc_context(RC)(draw)


def new_figure(nrows: int = 1, ncols: int = 1, **subplot_kw):
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)


def note(fig: Figure, *lines: str) -> None:
    """Say under the plot where the numbers come from, in a band the layout keeps free for it."""
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=NOTE_SIZE, ha="left", va="bottom")
    band = (len(lines) * NOTE_SIZE * 1.3 + 10) / (FIGSIZE[1] * 72)  # points over the figure's height
    fig.get_layout_engine().set(rect=(0, band, 1, 1 - band))


def unique(values: Iterable) -> list:
    """Distinct values in order of first appearance: asv keeps the benchmark's parameter order."""
    return list(dict.fromkeys(values))


def variant_colors(variants: Sequence[str]) -> Dict[str, tuple]:
    palette = matplotlib.colormaps["tab10"].colors
    return {variant: palette[i % len(palette)] for i, variant in enumerate(variants)}


def window_label(window: int) -> str:
    return "none" if window < 0 else f"{window} tokens"


def plain_log_scale(ax, which: str) -> None:
    """Log scale on axis "x" or "y", labelled 0.2, 0.3, 0.5, 1, 2 ... rather than 2x10^-1."""
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_major_locator(LogLocator(subs=(1, 2, 3, 5)))
    axis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axis.set_minor_formatter(NullFormatter())


def file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


@readable
def save(fig: Figure, stem: Path) -> List[Path]:
    """Write the figure as PNG (for the README) and SVG."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=DPI)
    fig.savefig(paths[1], metadata={"Date": None})  # no timestamp: unchanged pictures stay unchanged
    return paths
