"""Paired significance tests, confidence intervals and multiple-comparison correction, in numpy only.

The tests compare two systems on the same queries (per-query values, paired by query id):
- paired t-test (two-sided), as scipy.stats.ttest_rel;
- Wilcoxon signed-rank test (zeros dropped, exact null distribution for n <= 50 without ties,
  otherwise the normal approximation with tie correction and no continuity correction), as
  scipy.stats.wilcoxon with method 'exact' / 'asymptotic';
- paired randomization test (sign flips of the per-query differences, statistic = mean difference):
  exact enumeration when 2**n <= permutations, otherwise Monte Carlo with a fixed seed and the
  (count + 1) / (permutations + 1) estimate.
Holm-Bonferroni adjusts a family of p-values (the systems compared against one baseline on one
dataset and measure). tests/test_stats.py checks every function against scipy or a hand computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

TESTS = ("t", "wilcoxon", "randomization")
TEST_NAMES = {"t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank test",
              "randomization": "paired randomization test"}


# -- special functions ------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with df degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t (bisection on t_sf; accurate to ~1e-12)."""
    if not 0.0 < q < 1.0:
        raise ValueError("q must be in (0, 1)")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1.0 - q:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_sf(mid, df) > 1.0 - q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


# -- results ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float
    pvalue: float
    n: int


@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


@dataclass(frozen=True)
class WinTieLoss:
    wins: int
    ties: int
    losses: int

    def __str__(self) -> str:
        return f"{self.wins}/{self.ties}/{self.losses}"


def _paired(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired samples need equal 1-d shapes, got {x.shape} and {y.shape}")
    return x - y


# -- confidence interval ----------------------------------------------------------------

def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean with a t-based confidence interval (mean +- t_{(1+c)/2, n-1} * s / sqrt(n))."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return MeanCI(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return MeanCI(mean, math.nan, math.nan, 1)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    half = t_ppf((1.0 + confidence) / 2.0, n - 1) * sem
    return MeanCI(mean, mean - half, mean + half, n)


# -- tests ------------------------------------------------------------------------------

def paired_ttest(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Two-sided paired t-test of mean(a - b) = 0; p is NaN when all differences are equal."""
    d = _paired(a, b)
    n = int(d.size)
    if n < 2:
        return TestResult("t", math.nan, math.nan, n)
    sd = float(d.std(ddof=1))
    mean = float(d.mean())
    if sd == 0.0:
        return TestResult("t", math.nan if mean == 0 else math.copysign(math.inf, mean),
                          math.nan if mean == 0 else 0.0, n)
    t = mean / (sd / math.sqrt(n))
    p = min(1.0, 2.0 * t_sf(abs(t), n - 1))
    return TestResult("t", t, p, n)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) with ties sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def _signed_rank_counts(n: int) -> np.ndarray:
    """counts[s] = number of subsets of {1..n} whose sum is s."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=float)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def wilcoxon(a: Sequence[float], b: Sequence[float], method: str = "auto") -> TestResult:
    """Two-sided Wilcoxon signed-rank test on a - b; zero differences are dropped.

    statistic = min(R+, R-). method: exact | asymptotic | auto (exact when at most 50 non-zero
    differences and no tied absolute differences).
    """
    d = _paired(a, b)
    d = d[d != 0.0]
    n = int(d.size)
    if n == 0:
        return TestResult("wilcoxon", math.nan, math.nan, 0)
    absd = np.abs(d)
    ranks = _ranks(absd)
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    statistic = min(r_plus, r_minus)
    has_ties = len(np.unique(absd)) < n
    if method == "auto":
        method = "exact" if n <= 50 and not has_ties else "asymptotic"
    if method == "exact":
        counts = _signed_rank_counts(n)
        total = 2.0 ** n
        r = int(round(r_plus))
        cdf = counts[: r + 1].sum() / total
        sf = counts[r:].sum() / total
        p = min(1.0, 2.0 * min(cdf, sf))
        return TestResult("wilcoxon", statistic, p, n)
    if method != "asymptotic":
        raise ValueError(f"unknown Wilcoxon method '{method}'")
    mean = n * (n + 1) / 4.0
    _, tie_counts = np.unique(absd, return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((tie_counts ** 3 - tie_counts).sum()) / 48.0
    if var <= 0:
        return TestResult("wilcoxon", statistic, math.nan, n)
    z = (r_plus - mean) / math.sqrt(var)
    p = min(1.0, 2.0 * norm_sf(abs(z)))
    return TestResult("wilcoxon", statistic, p, n)


def randomization_test(a: Sequence[float], b: Sequence[float], permutations: int = 10_000,
                       seed: int = 0) -> TestResult:
    """Two-sided paired randomization (sign-flip) test of the mean difference.

    Exact when 2**n <= permutations (every sign assignment, p = share with |mean| >= |observed|),
    otherwise `permutations` random sign flips from numpy's default_rng(seed).
    """
    d = _paired(a, b)
    n = int(d.size)
    if n == 0:
        return TestResult("randomization", math.nan, math.nan, 0)
    observed = float(d.mean())
    tol = 1e-12 * max(1.0, abs(observed))
    if n < 63 and 2 ** n <= permutations:
        total = 2 ** n
        hits = 0
        # all sign patterns in chunks: bit i of the pattern index flips difference i
        chunk = 1 << min(n, 16)
        bits = np.arange(n, dtype=np.int64)
        for start in range(0, total, chunk):
            idx = np.arange(start, min(start + chunk, total), dtype=np.int64)
            signs = 1.0 - 2.0 * ((idx[:, None] >> bits[None, :]) & 1)
            means = (signs * d[None, :]).mean(axis=1)
            hits += int((np.abs(means) >= abs(observed) - tol).sum())
        return TestResult("randomization", observed, hits / total, n)
    rng = np.random.default_rng(seed)
    hits = 0
    remaining = permutations
    while remaining:
        size = min(remaining, 2000)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        means = (signs * d[None, :]).mean(axis=1)
        hits += int((np.abs(means) >= abs(observed) - tol).sum())
        remaining -= size
    return TestResult("randomization", observed, (hits + 1) / (permutations + 1), n)


def paired_test(name: str, a: Sequence[float], b: Sequence[float], **kwargs) -> TestResult:
    if name == "t":
        return paired_ttest(a, b)
    if name == "wilcoxon":
        return wilcoxon(a, b)
    if name == "randomization":
        return randomization_test(a, b, **kwargs)
    raise ValueError(f"unknown test '{name}' (choose one of {', '.join(TESTS)})")


# -- corrections and counts -------------------------------------------------------------

def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values (NaN entries stay NaN and are not counted)."""
    p = [float(v) for v in pvalues]
    valid = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(valid)
    out = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(sorted(valid, key=lambda i: p[i])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def win_tie_loss(a: Sequence[float], b: Sequence[float], tie: float = 0.0) -> WinTieLoss:
    """Per-query counts of a beating b (difference > tie), tying, and losing."""
    d = _paired(a, b)
    return WinTieLoss(int((d > tie).sum()), int((np.abs(d) <= tie).sum()), int((d < -tie).sum()))
