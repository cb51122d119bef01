"""Metric functions on synthesised speech with known pitch, timing and level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptevc.eval import metrics as M
from promptevc.utils.synth import synth_speech

SR = 16000


@pytest.fixture(scope="module")
def base_wav() -> np.ndarray:
    return synth_speech(140.0, 2.5, SR, seed=3)


@pytest.fixture(scope="module")
def base(base_wav) -> M.Analysis:
    return M.analyse(base_wav, SR)


def _world_resynth(wav: np.ndarray, semitones: float = 0.0, stretch: float = 1.0) -> np.ndarray:
    """Pitch-shift by ``semitones`` with timing kept, and/or slow down by ``stretch`` with pitch kept."""
    import pyworld

    x = wav.astype(np.float64)
    f0, t = pyworld.dio(x, SR, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, SR)
    sp = pyworld.cheaptrick(x, f0, t, SR)
    ap = pyworld.d4c(x, f0, t, SR)
    y = pyworld.synthesize(f0 * 2 ** (semitones / 12), sp, ap, SR, frame_period=5.0 * stretch)
    return y.astype(np.float32)


def test_identical_files(base):
    ref = M.reference_metrics(base, base)
    assert ref["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert ref["f0_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert ref["vuv_agreement"] == 1.0 and ref["dur_diff_s"] == 0.0
    src = M.source_metrics(base, base)
    assert src["f0_shift_st"] == 0.0
    assert src["f0_range_ratio"] == pytest.approx(1.0)
    assert src["tempo_ratio"] == pytest.approx(1.0)
    assert src["energy_change_db"] == pytest.approx(0.0, abs=1e-9)


def test_analysis_shapes_and_speech(base, base_wav):
    n = len(base.f0)
    assert n == len(base_wav) // 80 + 1
    assert base.mcep.shape == (n, M.MCEP_ORDER)
    assert base.level_db.shape == base.speech.shape == (n,)
    # synth_speech starts with 0.1 s of near-silence and has pauses: not all speech, most of it.
    assert not base.speech[:10].any()
    assert 0.5 < base.speech.mean() < 0.95
    assert np.median(base.f0[base.voiced]) == pytest.approx(140, rel=0.05)


@pytest.mark.parametrize("how", ["synth", "world"])
def test_plus_two_semitones_timing_preserved(base, base_wav, how):
    if how == "synth":
        shifted = synth_speech(140.0 * 2 ** (2 / 12), 2.5, SR, seed=3)
    else:
        shifted = _world_resynth(base_wav, semitones=2.0)
    out = M.analyse(shifted, SR)
    assert M.f0_shift_st(base, out) == pytest.approx(2.0, abs=0.3)
    assert M.tempo_ratio(base, out) == pytest.approx(1.0, abs=0.03)
    down = M.analyse(synth_speech(140.0 * 2 ** (-3 / 12), 2.5, SR, seed=3), SR)
    assert M.f0_shift_st(base, down) == pytest.approx(-3.0, abs=0.3)


@pytest.mark.parametrize("how", ["synth", "world"])
def test_ten_percent_slower(base, base_wav, how):
    if how == "synth":
        slow = synth_speech(140.0, 2.5 * 1.1, SR, syllable_seconds=0.22 * 1.1, pause_seconds=0.15 * 1.1, seed=3)
    else:
        slow = _world_resynth(base_wav, stretch=1.1)
    out = M.analyse(slow, SR)
    assert M.tempo_ratio(base, out) == pytest.approx(1.1, rel=0.03)
    assert abs(M.f0_shift_st(base, out)) < 0.3
    fast = M.analyse(_world_resynth(base_wav, stretch=0.8), SR)
    assert M.tempo_ratio(base, fast) == pytest.approx(0.8, rel=0.03)


def test_plus_six_db(base, base_wav):
    louder = M.analyse(base_wav * 10 ** (6 / 20), SR)
    assert M.energy_change_db(base, louder) == pytest.approx(6.0, abs=0.5)
    assert M.tempo_ratio(base, louder) == pytest.approx(1.0, abs=0.01)  # detector is level-invariant
    quieter = M.analyse(base_wav * 10 ** (-10 / 20), SR)
    assert M.energy_change_db(base, quieter) == pytest.approx(-10.0, abs=0.5)


def test_f0_range_ratio_wider_melody(base):
    wide = M.analyse(synth_speech(140.0, 2.5, SR, f0_range_st=4.0, seed=3), SR)
    narrow = M.analyse(synth_speech(140.0, 2.5, SR, f0_range_st=1.0, seed=3), SR)
    assert M.f0_range_ratio(base, wide) == pytest.approx(2.0, rel=0.2)
    assert M.f0_range_ratio(base, narrow) == pytest.approx(0.5, rel=0.2)


def test_reference_metrics_grow_with_difference(base, base_wav):
    resynth = M.analyse(_world_resynth(base_wav), SR)
    other = M.analyse(synth_speech(140.0, 2.5, SR, vowels="iuoae", seed=5), SR)
    shifted = M.analyse(_world_resynth(base_wav, semitones=3.0), SR)
    close = M.reference_metrics(base, resynth)
    far = M.reference_metrics(base, other)
    assert 0 < close["mcd_db"] < far["mcd_db"]
    assert close["f0_rmse"] < 10  # resynthesis keeps the pitch
    pitched = M.reference_metrics(base, shifted)
    assert pitched["log_f0_rmse_cents"] == pytest.approx(300, abs=40)
    assert pitched["f0_rmse"] == pytest.approx(140 * (2 ** 0.25 - 1), rel=0.25)
    slow = M.analyse(_world_resynth(base_wav, stretch=1.2), SR)
    assert M.reference_metrics(base, slow)["dur_diff_s"] == pytest.approx(0.5, abs=0.02)


def test_mcd_formula():
    a = np.zeros((4, 24))
    b = np.zeros((4, 24))
    b[:, 0] = 1.0  # one coefficient off by 1 in every frame
    assert M.mcd_aligned(a, b) == pytest.approx(10 / math.log(10) * math.sqrt(2))


def test_dtw_finds_optimal_path():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3))
    y = np.repeat(x, 2, axis=0)  # y is x at half speed: a perfect alignment exists
    ix, iy = M.dtw_path(x, y)
    assert np.allclose(x[ix], y[iy])
    assert (ix[0], iy[0]) == (0, 0) and (ix[-1], iy[-1]) == (29, 59)
    assert np.all(np.diff(ix) >= 0) and np.all(np.diff(iy) >= 0)
    # brute-force check of the optimal cost on a small random case
    a, b = rng.standard_normal((6, 2)), rng.standard_normal((5, 2))
    ia, ib = M.dtw_path(a, b)
    cost = np.linalg.norm(a[:, None] - b[None], axis=2)
    best = np.full((7, 6), np.inf)
    best[0, 0] = 0
    for i in range(1, 7):
        for j in range(1, 6):
            best[i, j] = cost[i - 1, j - 1] + min(best[i - 1, j], best[i, j - 1], best[i - 1, j - 1])
    assert cost[ia, ib].sum() == pytest.approx(best[-1, -1])


def test_dtw_downsamples_long_inputs(monkeypatch):
    monkeypatch.setattr(M, "MAX_DTW_CELLS", 100)
    x = np.arange(40, dtype=float)[:, None]
    ix, iy = M.dtw_path(x, x)
    assert ix.max() == 39 and iy.max() == 39
    assert np.array_equal(ix, iy)


def test_speech_activity_gaps_and_islands():
    level = np.full(200, -80.0)
    level[20:80] = -20
    level[85:150] = -20  # 5-frame gap (25 ms) is filled
    level[180:182] = -20  # 10 ms click is dropped
    speech = M.speech_activity(level, np.zeros(200, bool), frame_period_ms=5.0)
    assert speech[20:150].all()
    assert not speech[:20].any() and not speech[150:].any()


def test_error_rates():
    assert M.error_rate("Hello, world!", "hello world") == 0.0
    assert M.error_rate("the cat sat", "the bat sat down") == pytest.approx(2 / 3)
    assert M.error_rate("abc", "abd", unit="char") == pytest.approx(1 / 3)
    assert math.isnan(M.error_rate("", "anything"))
    assert M.error_rate("it's fine", "its fine") == 0.5
    assert M.error_rate("Ten of clubs.", "10 of clubs") == 0.0  # normalised alike, both sides
    assert M.error_rate("我们去公园。", "我们去公圆", unit="char", language="zh") == pytest.approx(1 / 5)
    with pytest.raises(ValueError):
        M.error_rate("a", "b", unit="phone")


def test_spearman():
    assert M.spearman([0.1, 0.5, 0.9], [1.0, 2.0, 5.0]) == pytest.approx(1.0)
    assert M.spearman([0.1, 0.5, 0.9, 0.7], [3.0, 2.0, 0.0, 1.0]) == pytest.approx(-1.0)
    assert math.isnan(M.spearman([0.5, 0.5, 0.5], [1, 2, 3]))
    assert math.isnan(M.spearman([0.1, 0.2], [1, 2]))
    assert M.spearman([0.1, 0.2, float("nan"), 0.3], [1, 2, 0, 3]) == pytest.approx(1.0)


def test_no_voicing_gives_nan():
    rng = np.random.default_rng(1)
    noise = (0.05 * rng.standard_normal(SR)).astype(np.float32)
    a = M.analyse(noise, SR)
    a.f0[:] = 0
    assert math.isnan(M.f0_shift_st(a, a))
    assert math.isnan(M.f0_range_ratio(a, a))
