"""Speech-like test signals with known F0, built by source-filter synthesis.

Tests and benchmarks need audio whose pitch, timing and level are known exactly, without
shipping recordings: a glottal-pulse source (Rosenberg-style pulses, so harmonics fall off like
a voice, not a sine) is filtered by vowel formant resonators, shaped into syllables with
pauses between words, and mixed with a little breath noise.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

# F1-F3 (Hz) of a few vowels (Peterson & Barney 1952 averages, rounded).
VOWEL_FORMANTS = {
    "a": (730, 1090, 2440),
    "i": (270, 2290, 3010),
    "u": (300, 870, 2240),
    "e": (530, 1840, 2480),
    "o": (570, 840, 2410),
}


def _resonator(x: np.ndarray, freq: float, bandwidth: float, sample_rate: int) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / sample_rate)
    theta = 2 * np.pi * freq / sample_rate
    a = [1.0, -2 * r * np.cos(theta), r * r]
    b = [1.0 - r]
    return lfilter(b, a, x)


def glottal_source(f0: np.ndarray, sample_rate: int, open_quotient: float = 0.6) -> np.ndarray:
    """Pulse train following the per-sample F0 contour ``f0`` (Hz; 0 = unvoiced)."""
    phase = np.cumsum(f0 / sample_rate)
    frac = phase - np.floor(phase)
    # Rosenberg pulse: rising half-cosine then falling quarter-cosine within the open phase.
    rise = 0.6 * open_quotient
    pulse = np.where(
        frac < rise,
        0.5 * (1 - np.cos(np.pi * frac / rise)),
        np.where(frac < open_quotient, np.cos(0.5 * np.pi * (frac - rise) / (open_quotient - rise)), 0.0),
    )
    src = np.diff(pulse, prepend=pulse[0])  # radiated flow derivative
    return np.where(f0 > 0, src, 0.0)


def synth_speech(
    f0_hz: float = 150.0,
    seconds: float = 2.0,
    sample_rate: int = 16000,
    syllable_seconds: float = 0.22,
    pause_every: int = 3,
    pause_seconds: float = 0.15,
    f0_range_st: float = 2.0,
    level_db: float = -20.0,
    vowels: str = "aieou",
    seed: int = 0,
) -> np.ndarray:
    """A voiced, syllabic signal of ``seconds`` around ``f0_hz`` (mean over voiced samples).

    Syllables of ``syllable_seconds`` alternate vowels; every ``pause_every`` syllables a pause
    of ``pause_seconds`` (silence + faint noise) separates "words". The F0 follows a gentle
    declination plus per-syllable accents spanning ``f0_range_st`` semitones, then is rescaled
    so its mean over voiced samples is exactly ``f0_hz``. ``level_db`` is the RMS of the
    voiced parts in dBFS.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    syl = int(syllable_seconds * sample_rate)
    pause = int(pause_seconds * sample_rate)
    voiced = np.zeros(n, dtype=bool)
    env = np.zeros(n)
    vowel_idx = np.zeros(n, dtype=int)
    pos, count = int(0.1 * sample_rate), 0
    while pos + syl < n - int(0.05 * sample_rate):
        seg = slice(pos, pos + syl)
        voiced[seg] = True
        env[seg] = np.hanning(syl) ** 0.5
        vowel_idx[seg] = count % len(vowels)
        pos += syl
        count += 1
        if count % pause_every == 0:
            pos += pause
    # F0 contour: declination + accents, in semitones around 0, then set the voiced mean.
    accents = np.sin(2 * np.pi * t / (syllable_seconds * pause_every)) * f0_range_st / 2
    decl = -f0_range_st / 2 * (t / max(seconds, 1e-3))
    st = accents + decl
    contour = 2.0 ** (st / 12.0)
    contour *= f0_hz / np.mean(contour[voiced]) if voiced.any() else 1.0
    f0 = np.where(voiced, contour, 0.0)
    src = glottal_source(f0, sample_rate)
    out = np.zeros(n)
    for k, v in enumerate(vowels):
        mask = vowel_idx == k
        if not (mask & voiced).any():
            continue
        y = src * mask
        filt = np.zeros(n)
        for freq, bw in zip(VOWEL_FORMANTS[v], (80, 100, 120), strict=True):
            filt += _resonator(y, freq, bw, sample_rate)
        out += filt
    out *= env
    out += 0.003 * rng.standard_normal(n) * (0.2 + env)
    rms = np.sqrt(np.mean(out[voiced] ** 2)) if voiced.any() else 1.0
    out *= 10 ** (level_db / 20) / max(rms, 1e-9)
    return out.astype(np.float32)
