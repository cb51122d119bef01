"""Frame-level prosody predictor and the speaker normalisation of F0 and energy.

Targets are *speaker-normalised* so the predictor models emotion, not identity (DESIGN §4):

    lf0_norm = (log F0 - mu_spk) / sigma_spk      on voiced frames (0 elsewhere)
    energy_norm = (energy_dB - e_spk) / energy_scale_db

with (mu_spk, sigma_spk, e_spk) the log-F0 mean / std and mean voiced-frame energy of the
speaker's *neutral* speech in training (all of its speech when it has no neutral utterances), and
of the source utterance at inference: the speaker's own statistics are added back there, so a
converted low voice stays low. :func:`prosody_stats` and :func:`normalise_prosody` are the single
implementation used by the dataset, the engine and the tests.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from promptevc.models.config import ProsodyConfig
from promptevc.models.layers import CondConvStack


def prosody_stats(f0_hz: np.ndarray, energy_db: np.ndarray) -> np.ndarray:
    """(log-F0 mean, log-F0 std, mean voiced energy dB) of one or more concatenated utterances.

    Falls back to 150 Hz / 0.15 / mean energy when nothing is voiced.
    """
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    energy_db = np.asarray(energy_db, dtype=np.float64)
    voiced = f0_hz > 0
    if voiced.sum() >= 2:
        lf0 = np.log(f0_hz[voiced])
        mu, sd = float(lf0.mean()), float(max(lf0.std(), 0.02))
        e = float(energy_db[voiced[: len(energy_db)]].mean()) if len(energy_db) else 0.0
    else:
        mu, sd = float(np.log(150.0)), 0.15
        e = float(energy_db.mean()) if len(energy_db) else 0.0
    return np.array([mu, sd, e], dtype=np.float32)


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
