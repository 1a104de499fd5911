"""The regression rule: threshold and significance, on the shapes asv stores."""

from __future__ import annotations

import math
import random

import pytest
from asv import _stats
from asv_runner.statistics import compute_stats

from ci import rule
from ci.rule import (CI_99, DEFAULT_THRESHOLD, MANN_WHITNEY, NO_TEST, Point, judge, significance,
                     threshold_for)


def measured(center: float, n: int = 20, noise: float = 0.004, seed: int = 0) -> Point:
    """A point as asv stores it: the median and stats from compute_stats, and the samples."""
    rng = random.Random(seed)
    samples = [center * (1 + rng.gauss(0, noise)) for _ in range(n)]
    value, stats = compute_stats(samples, 1)
    return Point(value, stats, samples)


def stats_only(point: Point) -> Point:
    return Point(point.value, point.stats, None)


def test_a_tight_ten_percent_slowdown_regresses_by_mann_whitney():
    verdict = judge(measured(1e-3, seed=1), measured(1.1e-3, seed=2))
    assert verdict.regressed and verdict.significant and not verdict.improved
    assert verdict.test == MANN_WHITNEY and verdict.p_value < rule.P_THRESHOLD
    assert verdict.ratio == pytest.approx(1.1, rel=0.01)


def test_same_distribution_is_not_significant():
    verdict = judge(measured(1e-3, seed=1), measured(1e-3, seed=2))
    assert not verdict.significant and not verdict.regressed and not verdict.improved
    assert verdict.test == MANN_WHITNEY and verdict.p_value > rule.P_THRESHOLD


def test_identical_points_pass():
    point = measured(1e-3)
    verdict = judge(point, point)
    assert verdict.ratio == 1.0 and not verdict.significant and not verdict.regressed


def test_a_significant_slowdown_within_the_threshold_passes():
    verdict = judge(measured(1e-3, seed=1), measured(1.03e-3, seed=2))
    assert verdict.significant and not verdict.regressed


def spread(center: float, n: int = 10, width: float = 1.0) -> Point:
    samples = [center * (1 + width * (i / (n - 1) - 0.5)) for i in range(n)]
    value, stats = compute_stats(samples, 1)
    return Point(value, stats, samples)


def test_a_big_but_noisy_slowdown_is_not_significant():
    verdict = judge(spread(1e-3), spread(1.2e-3))
    assert verdict.ratio > 1.05 and not verdict.significant and not verdict.regressed


def test_improvements_mirror_regressions_and_are_only_reported():
    verdict = judge(measured(1.1e-3, seed=1), measured(1e-3, seed=2))
    assert verdict.improved and not verdict.regressed


def test_the_threshold_is_strict_and_adjustable():
    base, slower = measured(1e-3, seed=1), measured(1.1e-3, seed=2)
    assert not judge(base, slower, threshold=0.2).regressed
    assert judge(base, slower, threshold=0.0).regressed
    exact = Point(1.05, {"ci_99_a": 1.04, "ci_99_b": 1.06})
    assert not judge(Point(1.0, {"ci_99_a": 0.99, "ci_99_b": 1.01}), exact, threshold=0.05).regressed


def test_without_samples_the_99_percent_intervals_decide():
    base, slower = stats_only(measured(1e-3, seed=1)), stats_only(measured(1.1e-3, seed=2))
    verdict = judge(base, slower)
    assert verdict.regressed and verdict.test == CI_99 and verdict.p_value is None
    noisy = judge(stats_only(spread(1e-3)), stats_only(spread(1.2e-3)))
    assert noisy.test == CI_99 and noisy.ratio > 1.05 and not noisy.significant


def test_too_few_samples_fall_back_to_the_intervals():
    # 2 + 2 samples cannot reach p < 0.002 (the smallest possible p is 1/6)
    base = Point(1.0, {"ci_99_a": 0.99, "ci_99_b": 1.01}, [0.99, 1.01])
    slower = Point(1.2, {"ci_99_a": 1.19, "ci_99_b": 1.21}, [1.19, 1.21])
    verdict = judge(base, slower)
    assert verdict.test == CI_99 and verdict.regressed


def test_points_without_statistics_are_judged_not_significant_instead_of_crashing():
    # the draft passed stats=None on to asv's interval check here
    few = judge(Point(1.0, None, [1.0, 1.0]), Point(2.0, None, [2.0, 2.0]))
    bare = judge(Point(1.0), Point(2.0))
    one_sided = judge(Point(1.0, {"ci_99_a": 0.9, "ci_99_b": 1.1}), Point(2.0))
    for verdict in (few, bare, one_sided):
        assert verdict.test == NO_TEST and not verdict.significant and not verdict.regressed
        assert verdict.ratio == 2.0


def test_a_single_sample_interval_is_no_evidence():
    value, stats = compute_stats([1.0], 1)  # asv gives one sample an infinite interval
    assert math.isinf(stats["ci_99_a"]) or math.isinf(stats["ci_99_b"])
    verdict = judge(Point(value, stats, [1.0]), Point(2.0, compute_stats([2.0], 1)[1], [2.0]))
    assert verdict.test == NO_TEST and not verdict.regressed


def test_nan_samples_are_dropped_before_the_test():
    base, slower = measured(1e-3, seed=1), measured(1.1e-3, seed=2)
    holey = Point(slower.value, slower.stats, [*slower.samples, math.nan, None])
    assert judge(base, holey).p_value == judge(base, slower).p_value


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_asv_is_different_where_asv_can_decide(seed):
    rng = random.Random(seed)
    n_base, n_cand = rng.choice([2, 3, 5, 10, 20]), rng.choice([2, 3, 5, 10, 20])
    base = measured(1.0, n=n_base, noise=0.02, seed=seed)
    cand = measured(1.0 + rng.choice([0, 0.01, 0.05, 0.2]), n=n_cand, noise=0.02, seed=seed + 100)
    for b, c in ((base, cand), (stats_only(base), stats_only(cand))):
        expected = _stats.is_different(b.samples, c.samples, b.stats, c.stats)
        assert significance(b, c)[0] == expected


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_rejects_values_that_are_not_times(value):
    with pytest.raises(ValueError, match="baseline"):
        judge(Point(value), Point(1.0))
    with pytest.raises(ValueError, match="candidate"):
        judge(Point(1.0), Point(value))


@pytest.mark.parametrize("threshold", [-0.01, math.nan, math.inf])
def test_rejects_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold"):
        judge(Point(1.0), Point(1.0), threshold)


NAME = "bench_extend.PRMatrix.time_extend"
LABEL = f"{NAME}(1024, -1, '64/8', 128, 'bf16', 'fragmented', 'cg')"


def test_thresholds_per_benchmark_by_glob(monkeypatch):
    assert threshold_for(NAME, LABEL) == DEFAULT_THRESHOLD
    assert threshold_for(NAME, LABEL, default=0.1) == 0.1
    assert threshold_for(NAME, LABEL, overrides=[("bench_extend.*", 0.08)]) == 0.08
    assert threshold_for(NAME, LABEL, overrides=[("*'fragmented'*", 0.12)]) == 0.12
    assert threshold_for(NAME, LABEL, overrides=[("*'contiguous'*", 0.12)]) == DEFAULT_THRESHOLD
    first_wins = [("*time_extend", 0.07), ("*", 0.5)]
    assert threshold_for(NAME, LABEL, overrides=first_wins) == 0.07
    monkeypatch.setattr(rule, "THRESHOLDS", {"bench_extend.PRMatrix.*": 0.09})
    assert threshold_for(NAME, LABEL) == 0.09
    assert threshold_for(NAME, LABEL, overrides=[("*", 0.02)]) == 0.02  # the command line first
    monkeypatch.setattr(rule, "THRESHOLDS", {"*": -1.0})
    with pytest.raises(ValueError, match="threshold"):
        threshold_for(NAME, LABEL)
