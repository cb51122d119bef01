"""Statistics against published or hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptevc.eval.significance import (
    holm,
    krippendorff_alpha,
    median_interval,
    sign_test,
    t_interval,
    wilcoxon_signed_rank,
)

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
# missing values; published alphas: nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797.
RELIABILITY = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
                                             ("ratio", 0.797)])
def test_krippendorff_alpha_published_example(level, expected):
    assert krippendorff_alpha(RELIABILITY, level) == pytest.approx(expected, abs=5e-4)


def test_krippendorff_alpha_edges():
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3]], "interval") == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[3, 3], [3, 3]]))  # no variation
    assert math.isnan(krippendorff_alpha([[1, NAN], [NAN, 2]]))  # nothing pairable


def test_wilcoxon_exact_matches_the_textbook_example():
    # Differences of Darwin's cross- and self-fertilised plants (Fisher 1935), the example of scipy's
    # documentation: W- = 24 (ranks of -48 and -67), exact two-sided p = 0.041259765625.
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    res = wilcoxon_signed_rank(d)
    assert res["method"] == "exact" and res["statistic"] == 24.0 and res["w_plus"] == 96.0
    assert res["p"] == pytest.approx(0.041259765625, abs=1e-12)
    # paired form: x - y
    assert wilcoxon_signed_rank(np.array(d) + 10.0, [10.0] * len(d))["p"] == res["p"]


def test_wilcoxon_exact_small_cases_by_hand():
    # n = 3, all positive: W+ = 6 is the most extreme of 2^3 sign patterns on each side -> p = 2/8
    assert wilcoxon_signed_rank([1, 2, 3])["p"] == pytest.approx(0.25)
    # zeros are dropped before ranking
    assert wilcoxon_signed_rank([0, 0, 1, 2, 3])["n"] == 3
    assert math.isnan(wilcoxon_signed_rank([0, 0])["p"])


def test_wilcoxon_normal_approximation_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(3)
    d = np.round(rng.normal(0.25, 1.0, 80), 1)  # ties present, n > exact limit
    ours = wilcoxon_signed_rank(d)
    ref = stats.wilcoxon(d, method="approx", correction=True)
    assert ours["method"] == "normal"
    assert ours["statistic"] == pytest.approx(float(ref.statistic))
    assert ours["p"] == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_wilcoxon_exact_without_ties_matches_scipy():
    from scipy import stats

    d = np.array([0.7, -1.3, 2.2, 3.1, 0.4, 1.9, -0.2, 2.8, 1.1, 0.9, -0.6, 1.6])
    assert wilcoxon_signed_rank(d)["p"] == pytest.approx(float(stats.wilcoxon(d, method="exact").pvalue))


def test_sign_test_values():
    assert sign_test(9, 10) == pytest.approx(22 / 1024)  # 2 * (C(10,0) + C(10,1)) / 2^10
    assert sign_test(1, 10) == sign_test(9, 10)
    assert sign_test(5, 10) == 1.0 and sign_test(0, 5) == pytest.approx(2 / 32)
    assert math.isnan(sign_test(0, 0))


def test_holm_adjustment_by_hand():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, then max(0.06, 0.04*1) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = holm([0.01, NAN, 0.02])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_intervals():
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445
    assert mean == 3 and (high - low) / 2 == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-5)
    # n = 20: the 6th and 15th order statistics cover the median with 95.9 % (binomial table)
    assert median_interval(list(range(1, 21))) == (10.5, 6.0, 15.0)
    assert math.isnan(median_interval([1, 2, 3])[1])  # too few values for a 95 % interval
