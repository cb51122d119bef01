"""F0 + voicing and frame energy, on the mel frame grid of :class:`AudioConfig`.

F0 methods (``method``):
- ``dio``: WORLD DIO + StoneMask, fast: :data:`NEURAL_F0_METHOD`, the tracker of the neural
  model in training (feature dumps) and at inference, so both normalise F0 alike;
- ``harvest``: WORLD Harvest, ~25x slower, marginally fewer gross errors;
- ``pyin``: librosa's probabilistic YIN, slowest, no WORLD needed.
``bench/bench_f0.py`` measures their speed and gross errors on real speech.
Frame i is centred at ``i * hop_length`` samples, matching ``MelSpectrogram`` with
``center=True``; arrays are trimmed or edge-padded to ``audio.num_frames(T)``.

Mains hum (:func:`detect_hum`, :func:`remove_hum`, :func:`f0_input`): DIO and Harvest estimate
F0 from the fundamental band, so a steady 50/60 Hz hum (common in amateur recordings: the
LibriVox clips of Debian's ``pocketsphinx-testdata`` carry a 60 Hz line 14-26 dB above the
spectrum around it, and a DC offset) is tracked as a voiced "F0" of 50-65 Hz in pauses and
unvoiced consonants. The prosody engine and the evaluator track F0 on a copy without DC and
hum; the hum is a stationary line, so it is estimated by complex demodulation at the line's
frequency (a lock-in amplifier) with a running median over :data:`HUM_WINDOW_S` and subtracted,
which leaves a voice passing through 50/60 Hz all but untouched (a notch filter would cut it).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from promptevc.config import AudioConfig

F0Method = Literal["dio", "harvest", "pyin"]
#: The one F0 tracker of the neural model: training features are dumped with it and the engine
#: tracks the source with it. DIO + StoneMask runs at ~0.01 real-time factor on one core, which
#: fits the neural engine's real-time budget (Harvest costs ~0.2 at the 16 ms mel hop).
NEURAL_F0_METHOD: F0Method = "dio"


#: Mains frequencies tested by :func:`detect_hum`.
MAINS_HZ = (50.0, 60.0)
#: A line this far (dB) above the median power 1.5-6 Hz around it counts as hum. Measured with
#: 0.25 Hz bins: the LibriVox clips 13.7-25.8 dB (3 s excerpts); speech without hum (real read
#: speech, espeak-ng, synthetic 55-220 Hz voices) at most 9.3 dB. A synthetic voice held within
#: half a semitone of 60 Hz reaches 13 dB and counts as hum: only the part of it that stays on
#: 60.0 Hz for HUM_WINDOW_S is removed.
HUM_MIN_DB = 12.0
#: Harmonics of the mains frequency that are removed when they, too, stand out as lines.
HUM_HARMONICS = 4
#: Hann blocks (s, half overlapping) over which the demodulated line is averaged: they pass
#: ±10 Hz around the line and take a voice 20 Hz or more away (and the image at twice the
#: line's frequency) down by 30 dB or more.
HUM_BLOCK_S = 0.1
#: Running-median window (s) of the hum's phasor: follows slow level drift; a voice near the
#: line's frequency for less than half of it leaves no trace.
HUM_WINDOW_S = 2.0
#: Shortest input (s) on which hum is detected (0.25 Hz bins need 4 s; shorter input gets 1/T).
HUM_MIN_SECONDS = 1.0


@dataclasses.dataclass(frozen=True)
class Hum:
    """A detected mains hum: its frequency (Hz), the harmonics to remove (1 = the line itself)
    and how far (dB) the fundamental stands above the spectrum around it."""

    hz: float
    harmonics: tuple[int, ...]
    contrast_db: float


def _line_contrast_db(freqs: np.ndarray, power: np.ndarray, hz: float) -> float:
    line = power[np.abs(freqs - hz) <= 0.5]
    around = power[(np.abs(freqs - hz) >= 1.5) & (np.abs(freqs - hz) <= 6.0)]
    if line.size == 0 or around.size == 0:
        return -np.inf
    return float(10.0 * np.log10(line.max() / max(float(np.median(around)), 1e-30) + 1e-30))


def _welch(x: np.ndarray, sample_rate: int, seg: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum (frequencies, mean periodogram) with Hann segments of ``seg`` samples,
    half overlapping, each without its mean; unscaled (only ratios of it are used). NumPy only:
    the prosody engine's cold start does not pay for importing scipy.signal (~0.5 s)."""
    from numpy.lib.stride_tricks import sliding_window_view

    hop = max(1, seg // 2)
    frames = sliding_window_view(x, seg)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    win = np.hanning(seg + 1)[:seg]  # periodic Hann
    power = np.zeros(seg // 2 + 1)
    for frame in frames:  # a few 4 s segments: one FFT each keeps memory at one segment
        power += np.abs(np.fft.rfft(frame * win)) ** 2
    return np.fft.rfftfreq(seg, 1.0 / sample_rate), power / len(frames)


def detect_hum(x: np.ndarray, sample_rate: int, min_contrast_db: float = HUM_MIN_DB) -> Hum | None:
    """The mains hum in ``x`` (T,), or None (also for input under :data:`HUM_MIN_SECONDS`).

    Welch power spectrum with 4 s Hann segments (0.25 Hz bins; the whole input when shorter);
    hum is a line at 50 or 60 Hz at least ``min_contrast_db`` above the median power 1.5-6 Hz
    around it. Harmonics 2..:data:`HUM_HARMONICS` are included when they stand out as much (a
    harmonic that does not is left alone: it would mostly be the voice's own energy there).
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < HUM_MIN_SECONDS * sample_rate or sample_rate < 1000:
        return None
    seg = int(min(len(x), 4 * sample_rate))
    freqs, power = _welch(x - x.mean(), sample_rate, seg)
    contrast = {hz: _line_contrast_db(freqs, power, hz) for hz in MAINS_HZ}
    hz = max(contrast, key=contrast.get)
    if contrast[hz] < min_contrast_db:
        return None
    harmonics = (1,) + tuple(h for h in range(2, HUM_HARMONICS + 1)
                             if h * hz < 0.45 * sample_rate
                             and _line_contrast_db(freqs, power, h * hz) >= min_contrast_db)
    return Hum(hz, harmonics, round(contrast[hz], 1))


def remove_hum(x: np.ndarray, sample_rate: int, hum: Hum) -> np.ndarray:
    """``x`` (T,) minus the stationary part of the hum's lines, float64 (T,).

    For each line at ``k * hum.hz``: ``x`` is demodulated at the line (``x(t) exp(-j w t)``) and
    averaged over Hann blocks of :data:`HUM_BLOCK_S`, which leaves the line as a fixed phasor, turning
    slowly if the mains is a little off its nominal frequency. That offset is found as the one
    that adds the blocks up most coherently (within ±0.3 Hz); the phasor is then the running
    median, over :data:`HUM_WINDOW_S`, of the quieter half of the blocks (the hum is as strong in
    pauses as under speech, a voice near the line's frequency is not), and
    ``2 Re(a(t) exp(j w t))`` is subtracted.
    """
    y = np.array(x, dtype=np.float64)
    n = len(y)
    size = max(4, int(round(HUM_BLOCK_S * sample_rate)))
    hop = size // 2
    n_blocks = (n - size) // hop + 1 if n >= size else 0
    if n_blocks < 3:
        return y
    from numpy.lib.stride_tricks import sliding_window_view

    t = np.arange(n) / sample_rate
    starts = np.arange(n_blocks) * hop
    t_blocks = (starts + size / 2) / sample_rate
    win = np.hanning(size)
    win /= win.sum()
    offsets = np.arange(-0.3, 0.3001, 0.005)
    half = max(1, int(round(HUM_WINDOW_S / (hop / sample_rate))) // 2)
    # The phasor is read in the quieter half of the blocks (pauses, weak consonants): the hum is
    # the same there, and a voice near the line's frequency is not.
    frames = sliding_window_view(y, size)[::hop][:n_blocks]
    power = (frames ** 2) @ win
    quiet = power <= np.median(power)
    for k in hum.harmonics:
        hz = k * hum.hz
        carrier = np.exp(-2j * np.pi * hz * t)
        z = (sliding_window_view(y * carrier, size)[::hop][:n_blocks]) @ win
        rot = np.exp(-2j * np.pi * offsets[:, None] * t_blocks[None, :])
        off = float(offsets[int(np.argmax(np.abs(rot @ z)))])
        zr = z * np.exp(-2j * np.pi * off * t_blocks)
        phasor = np.empty(n_blocks, dtype=complex)
        for b in range(n_blocks):  # running median over the window's quieter blocks
            lo, hi = max(0, b - half), min(n_blocks, b + half + 1)
            sel = zr[lo:hi][quiet[lo:hi]] if quiet[lo:hi].any() else zr[lo:hi]
            phasor[b] = np.median(sel.real) + 1j * np.median(sel.imag)
        amp = np.interp(t, t_blocks, phasor.real) + 1j * np.interp(t, t_blocks, phasor.imag)
        y -= 2.0 * np.real(amp * np.conj(carrier) * np.exp(2j * np.pi * off * t))
    return y


def f0_input(x: np.ndarray, sample_rate: int, hum: Hum | None | Literal["detect"] = "detect",
             ) -> tuple[np.ndarray, Hum | None]:
    """What F0 trackers should see: ``x`` (T,) without its mean and without mains hum.

    ``hum``: ``"detect"`` runs :func:`detect_hum` on ``x``; a :class:`Hum` (or None) reuses an
    earlier decision (e.g. one made on a whole recording for each of its chunks). Returns the
    float64, C-contiguous copy and the hum that was removed.
    """
    y = np.asarray(x, dtype=np.float64)
    y = y - y.mean() if len(y) else y.copy()
    if isinstance(hum, str):
        hum = detect_hum(y, sample_rate)
    if hum is not None and len(y):
        y = remove_hum(y, sample_rate, hum)
    return np.ascontiguousarray(y), hum


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.pad(x, (0, n - len(x)), mode="edge" if len(x) else "constant")


def extract_f0(
    wav: np.ndarray,
    audio: AudioConfig | None = None,
    method: F0Method = "dio",
    f0_min: float = 50.0,
    f0_max: float = 800.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(f0_hz (F,), voiced (F,) bool)``; f0 is 0 where unvoiced."""
    audio = audio or AudioConfig()
    n_frames = audio.num_frames(len(wav))
    x = np.ascontiguousarray(wav, dtype=np.float64)
    period_ms = 1000.0 * audio.hop_length / audio.sample_rate
    if method in ("dio", "harvest"):
        import pyworld

        if method == "dio":
            f0, t = pyworld.dio(x, audio.sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=period_ms)
            f0 = pyworld.stonemask(x, f0, t, audio.sample_rate)
        else:
            f0, _ = pyworld.harvest(x, audio.sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=period_ms)
    elif method == "pyin":
        import librosa

        f0, _, _ = librosa.pyin(
            x, fmin=f0_min, fmax=f0_max, sr=audio.sample_rate,
            frame_length=4 * audio.hop_length, hop_length=audio.hop_length, center=True,
        )
        f0 = np.nan_to_num(f0, nan=0.0)
    else:
        raise ValueError(f"unknown F0 method {method!r}; choose dio, harvest or pyin")
    f0 = _fit(np.asarray(f0, dtype=np.float32), n_frames)
    voiced = f0 > 0
    return f0, voiced


def extract_energy(wav: np.ndarray, audio: AudioConfig | None = None) -> np.ndarray:
    """Frame RMS energy in dB (F,), over ``win_length`` windows on the mel frame grid."""
    from promptevc.audio import frame_rms_db

    audio = audio or AudioConfig()
    level = frame_rms_db(np.asarray(wav, dtype=np.float32), audio.win_length, audio.hop_length)
    return _fit(level.astype(np.float32), audio.num_frames(len(wav)))
