"""Statistics for comparing systems: confidence intervals, paired and preference tests, agreement.

Used by ``evaluate --compare`` (objective metrics of two runs) and by the demo's listening-test
summaries. Numpy/scipy only; each function states its definition.

- :func:`t_interval`: mean with a t-based confidence interval, ``mean ± t(1-a/2, n-1) s / sqrt(n)``
  (ITU-R BS.1534-3 §9.3 reports MUSHRA means this way).
- :func:`median_interval`: median with a distribution-free interval from binomial order
  statistics (the smallest symmetric pair of order statistics covering the level).
- :func:`wilcoxon_signed_rank`: paired two-sided test on differences; zero differences are
  dropped (Wilcoxon's convention), tied magnitudes get average ranks. Exact null distribution
  of W+ (enumerated by dynamic programming over ranks, so exact with ties too) for up to
  ``EXACT_MAX_N`` pairs, else the normal approximation with tie-corrected variance and a
  continuity correction.
- :func:`sign_test`: two-sided exact binomial test of ``k`` successes in ``n`` at p = 1/2
  (ties excluded before the call), the test for AB / ABX preference counts.
- :func:`holm`: Holm-Bonferroni step-down adjusted p-values (Holm 1979), for families of
  pairwise tests.
- :func:`krippendorff_alpha`: Krippendorff's alpha from the coincidence matrix, for nominal,
  ordinal, interval or ratio data with missing values (Krippendorff 2011, "Computing
  Krippendorff's Alpha-Reliability").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EXACT_MAX_N = 50


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``; low/high are NaN with fewer than two values."""
    from scipy import stats

    x = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(median, low, high)``: the order statistics x(j), x(n+1-j) with the largest j such that
    P(j <= B <= n-j) >= level for B ~ Binomial(n, 1/2); NaN bounds when n is too small."""
    from scipy import stats

    x = np.sort(np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64))
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    med = float(np.median(x))
    best = None
    for j in range(1, n // 2 + 1):
        coverage = stats.binom.cdf(n - j, n, 0.5) - stats.binom.cdf(j - 1, n, 0.5)
        if coverage >= level:
            best = j
        else:
            break
    if best is None:
        return med, math.nan, math.nan
    return med, float(x[best - 1]), float(x[n - best])


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) of ``a``."""
    from scipy.stats import rankdata

    return rankdata(a, method="average")


def _exact_signed_rank_p(ranks: np.ndarray, w_plus: float) -> float:
    """Two-sided exact p of W+ given the (possibly tied, half-integer) ranks, by enumeration."""
    doubled = np.rint(2 * ranks).astype(np.int64)  # average ranks are multiples of 1/2
    total = int(doubled.sum())
    counts = np.zeros(total + 1, dtype=np.float64)
    counts[0] = 1.0
    for r in doubled:
        counts[r:] = counts[r:] + counts[: total + 1 - r].copy()
    probs = counts / counts.sum()
    w2 = int(round(2 * w_plus))
    mean2 = total / 2.0
    # two-sided: outcomes at least as far from the mean as the observed one
    dist = np.abs(np.arange(total + 1) - mean2)
    return float(min(1.0, probs[dist >= abs(w2 - mean2) - 1e-9].sum()))


def wilcoxon_signed_rank(x: Sequence[float], y: Sequence[float] | None = None) -> dict:
    """Paired two-sided Wilcoxon signed-rank test of ``x - y`` (or of ``x`` against 0).

    Returns ``{"n": pairs used (non-zero differences), "w_plus", "w_minus", "statistic":
    min(W+, W-), "p": two-sided p, "method": "exact" | "normal", "median_diff"}``; p is NaN with
    no non-zero difference. Pairs with a non-finite value are dropped.
    """
    a = np.asarray(x, dtype=np.float64)
    d = a - np.asarray(y, dtype=np.float64) if y is not None else a
    d = d[np.isfinite(d)]
    median_diff = float(np.median(d)) if d.size else math.nan
    d = d[d != 0]
    n = int(d.size)
    if n == 0:
        return {"n": 0, "w_plus": 0.0, "w_minus": 0.0, "statistic": math.nan, "p": math.nan,
                "method": "none", "median_diff": median_diff}
    ranks = _ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    w_minus = float(ranks[d < 0].sum())
    if n <= EXACT_MAX_N:
        p = _exact_signed_rank_p(ranks, w_plus)
        method = "exact"
    else:
        from scipy import stats

        mean = n * (n + 1) / 4.0
        _, tie_counts = np.unique(ranks, return_counts=True)
        var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_counts**3 - tie_counts)) / 48.0
        z = (abs(w_plus - mean) - 0.5) / math.sqrt(var) if var > 0 else 0.0
        p = float(min(1.0, 2 * stats.norm.sf(max(z, 0.0))))
        method = "normal"
    return {"n": n, "w_plus": w_plus, "w_minus": w_minus, "statistic": min(w_plus, w_minus), "p": p,
            "method": method, "median_diff": median_diff}


def sign_test(k: int, n: int) -> float:
    """Two-sided exact binomial p of ``k`` of ``n`` at p = 1/2 (ties already excluded); NaN for n = 0."""
    from scipy import stats

    if n <= 0:
        return math.nan
    if not 0 <= k <= n:
        raise ValueError(f"sign test: k={k} outside 0..{n}")
    tail = stats.binom.cdf(min(k, n - k), n, 0.5)
    return float(min(1.0, 2 * tail)) if 2 * k != n else 1.0


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order; NaN entries stay NaN and are not counted."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(v) for v in out]


def _delta2(level: str, values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Squared difference function of Krippendorff's alpha between the distinct ``values``."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(np.float64)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        s = c + k
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(s != 0, ((c - k) / s) ** 2, 0.0)
        return out
    if level == "ordinal":
        # sum of the marginals from value c to value k, minus half of the two ends
        cum = np.concatenate([[0.0], np.cumsum(counts)])
        i = np.arange(len(values))
        lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
        between = cum[hi + 1] - cum[lo] - (counts[lo] + counts[hi]) / 2.0
        return between**2
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, not {level!r}")


def krippendorff_alpha(data: Sequence[Sequence[float]] | np.ndarray, level: str = "interval") -> float:
    """Krippendorff's alpha of ``data (coders, units)``; NaN marks a missing rating.

    Units with fewer than two ratings are not pairable and are ignored. NaN when fewer than two
    pairable values exist or when every value is the same (no variation to agree on).
    """
    mat = np.asarray(data, dtype=np.float64)
    if mat.ndim != 2:
        raise ValueError("data must be a (coders, units) matrix")
    values = np.unique(mat[np.isfinite(mat)])
    if values.size < 2:
        return math.nan
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((values.size, values.size))
    for u in range(mat.shape[1]):
        col = mat[:, u][np.isfinite(mat[:, u])]
        m = col.size
        if m < 2:
            continue
        ids = np.array([index[v] for v in col])
        cnt = np.bincount(ids, minlength=values.size).astype(np.float64)
        # coincidences within the unit: each ordered pair of different ratings, weighted 1/(m-1)
        o += (np.outer(cnt, cnt) - np.diag(cnt)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        return math.nan
    d2 = _delta2(level, values, n_c)
    observed = float((o * d2).sum())
    expected = float((np.outer(n_c, n_c) * d2).sum()) / (n - 1)
    if expected == 0:
        return math.nan
    return 1.0 - observed / expected
