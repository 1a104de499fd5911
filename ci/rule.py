"""The regression rule, defined once: the gate fails on it and the plots mark it.

A benchmark point regressed when the candidate is slower than the baseline by more than
``threshold`` (a fraction: 0.05 = 5%) *and* the difference is statistically significant:
a Mann-Whitney U test on the raw samples when both sides recorded them (asv
``--record-samples``), otherwise asv's conservative check that the 99% confidence
intervals do not overlap. Improvements are the mirror image and are only reported.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

from asv import _stats

DEFAULT_THRESHOLD = 0.05


@dataclasses.dataclass(frozen=True)
class Point:
    """One stored measurement: asv's result value, its stats dict and its raw samples."""

    value: float
    stats: Optional[dict] = None
    samples: Optional[Sequence[float]] = None


@dataclasses.dataclass(frozen=True)
class Verdict:
    ratio: float  # candidate / baseline; > 1 is slower for times
    significant: bool
    regressed: bool
    improved: bool


def significant(baseline: Point, candidate: Point) -> bool:
    """Whether the two points differ beyond their measured noise."""
    if baseline.stats is None or candidate.stats is None:
        return baseline.samples is not None and candidate.samples is not None and \
            _stats.is_different(baseline.samples, candidate.samples, None, None)
    return _stats.is_different(baseline.samples, candidate.samples, baseline.stats, candidate.stats)


def judge(baseline: Point, candidate: Point, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Apply the rule to one point where smaller is better (times)."""
    if not (threshold >= 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold={threshold!r}: expected a finite fraction >= 0")
    if not (baseline.value > 0 and math.isfinite(baseline.value) and math.isfinite(candidate.value)):
        raise ValueError(f"cannot compare {candidate.value!r} against {baseline.value!r}")
    ratio = candidate.value / baseline.value
    sig = significant(baseline, candidate)
    return Verdict(ratio=ratio, significant=sig,
                   regressed=sig and ratio > 1.0 + threshold,
                   improved=sig and ratio < 1.0 / (1.0 + threshold))
