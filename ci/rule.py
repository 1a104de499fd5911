"""The regression rule, defined once: the gate fails on it and the plots mark it.

A benchmark point regressed when the candidate is slower than the baseline by more than
``threshold`` (a fraction: 0.05 = 5%) *and* the difference is statistically significant.
Significance is asv's own test, made explicit here so that a point without statistics
is judged rather than crashing:

1. both sides stored raw samples (asv ``--record-samples``) and there are enough of them
   for the test to reach ``P_THRESHOLD``: a two-sided Mann-Whitney U test on the samples;
2. otherwise, both sides stored finite 99% confidence intervals of the median: the
   intervals must not overlap (conservative);
3. otherwise there is no evidence, and the point is never significant.

Improvements are the mirror image (``ratio < 1 / (1 + threshold)``) and are only reported.
Only times are judged: smaller is better.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from asv import _stats

DEFAULT_THRESHOLD = 0.05
P_THRESHOLD = 0.002  # asv's cut-off for "different" (asv compare, asv continuous)

# Per-benchmark thresholds that differ from DEFAULT_THRESHOLD: fnmatch globs over the
# benchmark name ("bench_extend.PRMatrix.time_extend") or over its label with parameters
# as asv prints them ("bench_extend.PRMatrix.time_extend(1024, -1, '64/8', ...)").
# The first matching pattern wins; the gate's --threshold-for entries come before these.
THRESHOLDS: Mapping[str, float] = {}

MANN_WHITNEY = "Mann-Whitney U"
CI_99 = "99% CI"
NO_TEST = "none"


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
    test: str = NO_TEST  # which evidence decided `significant`: MANN_WHITNEY, CI_99 or NO_TEST
    p_value: Optional[float] = None  # the Mann-Whitney two-sided p, when that test ran


def _finite_samples(samples: Optional[Sequence[float]]) -> List[float]:
    # asv marks a sample it could not take with NaN (or None once it went through JSON)
    return [float(x) for x in samples or () if x is not None and math.isfinite(x)]


def _mann_whitney_p(a: List[float], b: List[float]) -> Optional[float]:
    """Two-sided p, or None where the sample sizes cannot produce a p below P_THRESHOLD."""
    if not a or not b:
        return None
    smallest_possible_p = 1 / _stats.binom(len(a) + len(b), min(len(a), len(b)))
    if smallest_possible_p >= P_THRESHOLD:
        return None
    return _stats.mann_whitney_u(a, b)[1]


def _ci_99(stats: Optional[dict]) -> Optional[Tuple[float, float]]:
    """The stored 99% interval of the median, or None where asv could not bound it."""
    if not stats:
        return None
    low, high = stats.get("ci_99_a"), stats.get("ci_99_b")
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None  # one sample gives an infinite interval: no evidence either way
    return low, high


def significance(baseline: Point, candidate: Point) -> Tuple[bool, str, Optional[float]]:
    """Whether the two points differ beyond their measured noise, by which test, and p."""
    p = _mann_whitney_p(_finite_samples(baseline.samples), _finite_samples(candidate.samples))
    if p is not None:
        return p < P_THRESHOLD, MANN_WHITNEY, p
    ci_baseline, ci_candidate = _ci_99(baseline.stats), _ci_99(candidate.stats)
    if ci_baseline is None or ci_candidate is None:
        return False, NO_TEST, None
    overlap = ci_baseline[0] <= ci_candidate[1] and ci_candidate[0] <= ci_baseline[1]
    return not overlap, CI_99, None


def _check_threshold(threshold: float) -> None:
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold={threshold!r}: expected a finite fraction >= 0")


def judge(baseline: Point, candidate: Point, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Apply the rule to one point where smaller is better (times)."""
    _check_threshold(threshold)
    for side, point in (("baseline", baseline), ("candidate", candidate)):
        if not (point.value > 0 and math.isfinite(point.value)):
            raise ValueError(f"{side} value {point.value!r}: expected a finite time > 0")
    ratio = candidate.value / baseline.value
    sig, test, p = significance(baseline, candidate)
    return Verdict(ratio=ratio, significant=sig,
                   regressed=sig and ratio > 1.0 + threshold,
                   improved=sig and ratio < 1.0 / (1.0 + threshold),
                   test=test, p_value=p)


def threshold_for(name: str, label: str, default: float = DEFAULT_THRESHOLD,
                  overrides: Iterable[Tuple[str, float]] = ()) -> float:
    """The threshold of one point: the first of ``overrides`` then THRESHOLDS that matches."""
    for pattern, threshold in [*overrides, *THRESHOLDS.items()]:
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(label, pattern):
            _check_threshold(threshold)
            return threshold
    _check_threshold(default)
    return default
