"""The statistics in lrbench.statistics.significance against scipy on known inputs, and Holm against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrbench.statistics import significance as stats

scipy_stats = pytest.importorskip("scipy.stats")

# Per-query nDCG@10-like values (two systems, 12 queries) with a tie and a zero difference.
A = np.array([0.61, 0.0, 1.0, 0.43, 0.78, 0.25, 0.92, 0.5, 0.33, 0.7, 0.12, 0.88])
B = np.array([0.55, 0.1, 1.0, 0.31, 0.80, 0.25, 0.70, 0.45, 0.20, 0.74, 0.05, 0.60])


def _samples():
    rng = np.random.default_rng(7)
    out = [(A, B)]
    for n in (5, 12, 40, 120, 300):
        x = rng.random(n)
        out.append((x, np.clip(x + rng.normal(0.03, 0.15, n), 0, 1)))
    # graded-looking values with many ties (like P@10)
    x = rng.integers(0, 11, 80) / 10
    out.append((x, np.clip(x + rng.integers(-2, 3, 80) / 10, 0, 1)))
    return out


@pytest.mark.parametrize("a,b", _samples())
def test_paired_ttest_matches_scipy(a, b):
    ours = stats.paired_ttest(a, b)
    ref = scipy_stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize("a,b", _samples())
def test_wilcoxon_matches_scipy(a, b):
    ours = stats.wilcoxon(a, b, method="asymptotic")
    ref = scipy_stats.wilcoxon(a, b, method="asymptotic", zero_method="wilcox", correction=False)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_wilcoxon_exact_matches_scipy_without_ties():
    rng = np.random.default_rng(3)
    for n in (6, 15, 30, 50):
        a, b = rng.random(n), rng.random(n)
        ours = stats.wilcoxon(a, b)  # auto -> exact: no ties, n <= 50
        ref = scipy_stats.wilcoxon(a, b, method="exact")
        assert ours.statistic == pytest.approx(ref.statistic)
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_randomization_exact_matches_scipy_permutation_test():
    rng = np.random.default_rng(11)
    for n in (8, 12):
        a, b = rng.random(n), rng.random(n) * 0.8
        ours = stats.randomization_test(a, b, permutations=10_000)
        ref = scipy_stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                                           permutation_type="samples", vectorized=True,
                                           n_resamples=10_000, alternative="two-sided")
        assert ours.statistic == pytest.approx(float(np.mean(a - b)))
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_randomization_monte_carlo_is_seeded_and_close_to_t():
    rng = np.random.default_rng(5)
    a = rng.random(200)
    b = np.clip(a - rng.normal(0.02, 0.1, 200), 0, 1)
    first = stats.randomization_test(a, b, permutations=20_000, seed=1)
    again = stats.randomization_test(a, b, permutations=20_000, seed=1)
    assert first.pvalue == again.pvalue
    # with 200 queries the randomization and t-test p-values agree closely
    assert first.pvalue == pytest.approx(stats.paired_ttest(a, b).pvalue, abs=0.01)


def test_mean_ci_matches_scipy_t_interval():
    for a, _ in _samples():
        ci = stats.mean_ci(a)
        low, high = scipy_stats.t.interval(0.95, len(a) - 1, loc=np.mean(a), scale=scipy_stats.sem(a))
        assert ci.mean == pytest.approx(np.mean(a))
        assert ci.low == pytest.approx(low, rel=1e-9)
        assert ci.high == pytest.approx(high, rel=1e-9)


def test_t_distribution_functions_match_scipy():
    for df in (1, 2, 5, 29, 299):
        for t in (0.1, 1.0, 2.5, 7.0):
            assert stats.t_sf(t, df) == pytest.approx(scipy_stats.t.sf(t, df), rel=1e-10)
        assert stats.t_ppf(0.975, df) == pytest.approx(scipy_stats.t.ppf(0.975, df), rel=1e-10)


def test_holm_hand_computed():
    # p = [0.01, 0.04, 0.03, 0.005], m = 4. Sorted: 0.005, 0.01, 0.03, 0.04
    #   0.005 * 4 = 0.02
    #   0.01  * 3 = 0.03
    #   0.03  * 2 = 0.06
    #   0.04  * 1 = 0.04 -> max(0.06, 0.04) = 0.06 (monotone step-down)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # capped at 1, NaN kept out of the family: m = 2
    out = stats.holm([0.6, math.nan, 0.2])
    assert out[0] == pytest.approx(0.6) and math.isnan(out[1]) and out[2] == pytest.approx(0.4)
    assert stats.holm([0.7, 0.8]) == pytest.approx([1.0, 1.0])


def test_holm_matches_statsmodels_definition_on_random_family():
    rng = np.random.default_rng(2)
    p = rng.random(7) ** 3
    adj = stats.holm(p)
    order = np.argsort(p)
    expected = np.maximum.accumulate(np.minimum(1, (len(p) - np.arange(len(p))) * p[order]))
    assert np.array(adj)[order] == pytest.approx(expected)


def test_win_tie_loss_counts():
    wtl = stats.win_tie_loss(A, B)
    # differences: +.06 -.1 0 +.12 -.02 0 +.22 +.05 +.13 -.04 +.07 +.28
    assert (wtl.wins, wtl.ties, wtl.losses) == (7, 2, 3)
    assert str(wtl) == "7/2/3"
    loose = stats.win_tie_loss(A, B, tie=0.045)  # |d| <= .045: 0, -.02, 0, -.04
    assert (loose.wins, loose.ties, loose.losses) == (7, 4, 1)


def test_degenerate_inputs():
    assert math.isnan(stats.paired_ttest([0.5, 0.5], [0.5, 0.5]).pvalue)
    assert math.isnan(stats.wilcoxon([1, 2], [1, 2]).pvalue)
    with pytest.raises(ValueError):
        stats.paired_ttest([1, 2, 3], [1, 2])
    assert stats.mean_ci([0.4]).n == 1
