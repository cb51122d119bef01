"""Frame-level prosody predictor and the speaker normalisation of F0 and energy.

Targets are *speaker-normalised* so the predictor models emotion, not identity (DESIGN §4):

    lf0_norm = (log F0 - mu_spk) / sigma_spk      on voiced frames (0 elsewhere)
    energy_norm = (energy_dB - e_spk) / energy_scale_db

``(mu_spk, sigma_spk, e_spk)`` are the speaker statistics of :class:`ProsodyStats`, the ONE
definition used by the training data (:class:`promptevc.data.dataset.AcousticDataset`: pooled
over the speaker's neutral utterances, all of its speech when it has none) and by the neural
engine (pooled over the whole source input, observed block by block): the median log-F0 over
voiced frames, a robust spread (half the 15.9-84.1 % inter-quantile range, which equals the
standard deviation for Gaussian log-F0 but ignores octave errors and a few shouted syllables)
and the median energy of voiced frames. Both sides track F0 with the same tracker
(:data:`promptevc.features.prosody.NEURAL_F0_METHOD`).

The statistics are kept as fixed-bin histograms, so they can be accumulated over any number of
utterances or blocks in constant memory and merged; quantiles are read off the histogram with
linear interpolation inside a bin (log-F0 bins of 0.005 = 0.09 semitone, energy bins of 0.1 dB).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from promptevc.models.config import ProsodyConfig
from promptevc.models.layers import CondConvStack

# Fallbacks when (almost) nothing is voiced: a mid-range voice.
FALLBACK_LOG_F0 = math.log(150.0)
FALLBACK_LOG_F0_SPREAD = 0.15
MIN_LOG_F0_SPREAD = 0.02
# Gaussian +-1 sigma quantiles: (q84 - q16) / 2 estimates sigma robustly.
_LO_Q, _HI_Q = 0.15865525, 0.84134475
_LF0_RANGE = (math.log(30.0), math.log(1200.0))
_LF0_STEP = 0.005
_DB_RANGE = (-150.0, 30.0)
_DB_STEP = 0.1


def _bins(lo: float, hi: float, step: float) -> int:
    return int(math.ceil((hi - lo) / step))


class ProsodyStats:
    """Accumulates speaker prosody statistics in constant memory; see the module docstring.

    ``add(f0_hz (F,), energy_db (F,))`` for every utterance or block (same frame grid; 0 Hz =
    unvoiced); ``result()`` -> ``(log-F0 median, log-F0 robust spread, median voiced energy dB)``
    float32 ``(3,)``. ``merge`` combines two accumulators (e.g. per-worker partial sums).
    """

    def __init__(self) -> None:
        self.lf0 = np.zeros(_bins(*_LF0_RANGE, _LF0_STEP), dtype=np.int64)
        self.energy_voiced = np.zeros(_bins(*_DB_RANGE, _DB_STEP), dtype=np.int64)
        self.energy_all = np.zeros_like(self.energy_voiced)

    @property
    def n_voiced(self) -> int:
        """Voiced frames seen so far."""
        return int(self.lf0.sum())

    @property
    def n_frames(self) -> int:
        return int(self.energy_all.sum())

    @staticmethod
    def _index(x: np.ndarray, lo: float, step: float, n: int) -> np.ndarray:
        return np.clip(np.floor((x - lo) / step), 0, n - 1).astype(np.int64)

    def add(self, f0_hz: np.ndarray, energy_db: np.ndarray) -> "ProsodyStats":
        f0 = np.asarray(f0_hz, dtype=np.float64).reshape(-1)
        energy = np.asarray(energy_db, dtype=np.float64).reshape(-1)
        m = min(len(f0), len(energy)) if len(energy) else len(f0)
        f0 = f0[:m]
        voiced = np.isfinite(f0) & (f0 > 0)
        if voiced.any():
            idx = self._index(np.log(f0[voiced]), _LF0_RANGE[0], _LF0_STEP, len(self.lf0))
            self.lf0 += np.bincount(idx, minlength=len(self.lf0))
        if len(energy):
            energy = np.nan_to_num(energy[:m], nan=_DB_RANGE[0], neginf=_DB_RANGE[0], posinf=_DB_RANGE[1])
            n = len(self.energy_all)
            self.energy_all += np.bincount(self._index(energy, _DB_RANGE[0], _DB_STEP, n), minlength=n)
            if voiced.any():
                self.energy_voiced += np.bincount(self._index(energy[voiced], _DB_RANGE[0], _DB_STEP, n), minlength=n)
        return self

    def merge(self, other: "ProsodyStats") -> "ProsodyStats":
        self.lf0 += other.lf0
        self.energy_voiced += other.energy_voiced
        self.energy_all += other.energy_all
        return self

    @staticmethod
    def _quantile(hist: np.ndarray, q: float, lo: float, step: float) -> float:
        cum = np.cumsum(hist, dtype=np.float64)
        target = q * cum[-1]
        i = int(np.searchsorted(cum, target, side="left"))
        below = cum[i - 1] if i > 0 else 0.0
        frac = (target - below) / max(float(hist[i]), 1.0)
        return lo + (i + float(np.clip(frac, 0.0, 1.0))) * step

    def result(self) -> np.ndarray:
        if self.n_voiced >= 2:
            q = [self._quantile(self.lf0, x, _LF0_RANGE[0], _LF0_STEP) for x in (0.5, _LO_Q, _HI_Q)]
            mu, spread = q[0], max((q[2] - q[1]) / 2.0, MIN_LOG_F0_SPREAD)
            energy_hist = self.energy_voiced
        else:
            mu, spread = FALLBACK_LOG_F0, FALLBACK_LOG_F0_SPREAD
            energy_hist = self.energy_all
        e = self._quantile(energy_hist, 0.5, _DB_RANGE[0], _DB_STEP) if energy_hist.sum() else 0.0
        return np.array([mu, spread, e], dtype=np.float32)


def prosody_stats(f0_hz: np.ndarray, energy_db: np.ndarray) -> np.ndarray:
    """:class:`ProsodyStats` of one or more concatenated utterances -> (3,) float32."""
    return ProsodyStats().add(f0_hz, energy_db).result()


def normalise_prosody(
    f0_hz: np.ndarray, energy_db: np.ndarray, stats: np.ndarray, energy_scale_db: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (lf0_norm (F,), voiced (F,) float 0/1, energy_norm (F,)) given ``stats`` from prosody_stats."""
    f0_hz = np.asarray(f0_hz, dtype=np.float32)
    voiced = (f0_hz > 0).astype(np.float32)
    lf0 = np.where(voiced > 0, (np.log(np.maximum(f0_hz, 1e-3)) - stats[0]) / stats[1], 0.0).astype(np.float32)
    energy = ((np.asarray(energy_db, dtype=np.float32) - stats[2]) / energy_scale_db).astype(np.float32)
    return lf0, voiced, energy


def denormalise_f0(lf0_norm: torch.Tensor, voiced: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
    """lf0_norm (B, F), voiced (B, F) bool/0-1, stats (B, 3) -> F0 in Hz (B, F), 0 = unvoiced."""
    f0 = torch.exp(lf0_norm * stats[:, 1:2] + stats[:, 0:1])
    return f0 * (voiced > 0.5).to(f0.dtype)


class ProsodyPredictor(nn.Module):
    """frames (B, F, D), mask (B, F), cond (B, G) -> dict(lf0 (B, F), voicing_logit (B, F), energy (B, F))."""

    def __init__(self, cfg: ProsodyConfig, in_dim: int, cond_dim: int) -> None:
        super().__init__()
        self.stack = CondConvStack(in_dim, cfg.channels, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)
        self.out = nn.Linear(cfg.channels, 3)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> dict[str, torch.Tensor]:
        y = self.out(self.stack(h, mask, cond)) * mask.unsqueeze(-1).to(h.dtype)
        return {"lf0": y[..., 0], "voicing_logit": y[..., 1], "energy": y[..., 2]}
