"""F0 + voicing and frame energy, on the mel frame grid of :class:`AudioConfig`.

F0 methods (``method``):
- ``dio``: WORLD DIO + StoneMask, fast: :data:`NEURAL_F0_METHOD`, the tracker of the neural
  model in training (feature dumps) and at inference, so both normalise F0 alike;
- ``harvest``: WORLD Harvest, ~25x slower, marginally fewer gross errors;
- ``pyin``: librosa's probabilistic YIN, slowest, no WORLD needed.
``bench/bench_f0.py`` measures their speed and gross errors on real speech.
Frame i is centred at ``i * hop_length`` samples, matching ``MelSpectrogram`` with
``center=True``; arrays are trimmed or edge-padded to ``audio.num_frames(T)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from promptevc.config import AudioConfig

F0Method = Literal["dio", "harvest", "pyin"]
#: The one F0 tracker of the neural model: training features are dumped with it and the engine
#: tracks the source with it. DIO + StoneMask runs at ~0.01 real-time factor on one core, which
#: fits the neural engine's real-time budget (Harvest costs ~0.2 at the 16 ms mel hop).
NEURAL_F0_METHOD: F0Method = "dio"


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
