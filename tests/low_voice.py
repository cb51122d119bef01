"""A low male read-speech voice with the recording faults of amateur audiobooks, for tests.

``low_reader`` builds what the LibriVox clips of Debian's ``pocketsphinx-testdata`` look like to an
F0 tracker: two phrases of syllables whose F0 declines from ~105 to ~70 Hz with accents on some
syllables and a phrase-final fall to ~52 Hz, cycle-to-cycle jitter, unvoiced fricatives between
some syllables, a pause between the phrases, a noise floor, and optionally a DC offset and
a 60 Hz mains hum (the clips: DC +0.007, hum about -47 dBFS, 14-26 dB above the spectrum
around it). It returns the waveform and the true F0 per 5 ms frame (0 = unvoiced).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from promptevc.utils.synth import VOWEL_FORMANTS, glottal_source

FRAME_S = 0.005


def _formants(x: np.ndarray, vowel: str, sr: int) -> np.ndarray:
    out = np.zeros_like(x)
    for freq, bw in zip(VOWEL_FORMANTS[vowel], (80.0, 100.0, 120.0), strict=True):
        r = np.exp(-np.pi * bw / sr)
        out += lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * freq / sr), r * r], x)
    return out


def low_reader(sample_rate: int = 16000, seed: int = 0, dc: float = 0.0, hum_dbfs: float | None = None,
               hum_hz: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """``(wav (T,) float32, f0 (F,) Hz per 5 ms frame)`` of a 3.0 s two-phrase utterance."""
    rng = np.random.default_rng(seed)
    sr = sample_rate
    n = int(3.0 * sr)
    f0 = np.zeros(n)
    env = np.zeros(n)
    vowel_of = np.full(n, -1)
    fric = np.zeros(n, dtype=bool)
    vowels = "aoeiu"
    k = 0
    for start, end in ((0.15, 1.45), (1.70, 2.85)):  # two phrases, a 0.25 s pause between
        t, syl = start, 0
        while t < end - 0.12:
            dur = min(rng.uniform(0.17, 0.24), end - t)
            a, b = int(t * sr), int((t + dur) * sr)
            tt = np.linspace(t, t + dur, b - a, endpoint=False)
            pos = (tt - start) / (end - start)  # 0..1 within the phrase
            st = 12 * np.log2(105.0) - 7.0 * pos  # declination: 105 -> ~70 Hz
            if syl % 3 == 1:  # accented syllable: a rise-fall of 2.5 st
                st += 2.5 * np.sin(np.pi * (tt - t) / dur)
            tail = np.clip((tt - (end - 0.25)) / 0.25, 0.0, 1.0)
            st -= 5.5 * tail ** 1.5  # phrase-final fall to ~52 Hz
            f0[a:b] = 2.0 ** (st / 12.0)
            env[a:b] = np.hanning(b - a) ** 0.4
            vowel_of[a:b] = k % len(vowels)
            t += dur
            syl += 1
            k += 1
            if syl % 2 == 0 and t < end - 0.2:  # an unvoiced fricative between syllables
                fa, fb = int(t * sr), int((t + 0.05) * sr)
                fric[fa:fb] = True
                t += 0.05
    # Jitter: smoothed random period perturbation, ~1 % rms.
    jit = np.convolve(rng.standard_normal(n), np.ones(80) / np.sqrt(80), mode="same")
    f0_jit = np.where(f0 > 0, f0 * 2 ** (0.17 * jit / 12), 0.0)
    src = glottal_source(f0_jit, sr)
    y = np.zeros(n)
    for i, v in enumerate(vowels):
        mask = vowel_of == i
        if mask.any():
            y += _formants(src * mask, v, sr)
    y *= env
    y *= 0.1 / np.sqrt(np.mean(y[f0 > 0] ** 2))
    noise = rng.standard_normal(n)
    hp = butter(4, 2500, "highpass", fs=sr, output="sos")
    y += np.where(fric, 0.03, 0.0) * sosfilt(hp, noise)
    y += 10 ** (-50 / 20) * rng.standard_normal(n)  # noise floor -50 dBFS, as in the clips' pauses
    if hum_dbfs is not None:
        y += 10 ** (hum_dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * hum_hz * np.arange(n) / sr + 0.3)
    y += dc
    hop = int(FRAME_S * sr)
    frames = f0[::hop][: n // hop + 1]
    return y.astype(np.float32), frames
