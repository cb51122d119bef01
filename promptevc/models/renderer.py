"""Emotion renderer: fuses frame-level content with emotion, intensity, speaker, F0 and energy.

EINet's renderer expands the emotion features to frame level and fuses them with the linguistic
features (papers.md §2.2). Ours: the frame content (B, F, D) plus an embedding of the frame
prosody (normalised log-F0, voicing, energy; teacher-forced in training, predicted at inference)
goes through conv blocks whose conditional layer norms take their scale and shift from the
global condition (intensity-mapped emotion conditioning + speaker), i.e. FiLM at every layer.
"""

from __future__ import annotations

import torch
from torch import nn

from promptevc.models.config import RendererConfig
from promptevc.models.layers import CondConvStack


class EmotionRenderer(nn.Module):
    """frames (B, F, D), prosody (B, F, 3), mask (B, F), cond (B, G) -> (B, F, channels)."""

    def __init__(self, cfg: RendererConfig, in_dim: int, cond_dim: int) -> None:
        super().__init__()
        # A small conv over the prosody track gives local pitch movement as well as level.
        self.prosody_embed = nn.Conv1d(3, in_dim, kernel_size=3, padding=1)
        self.stack = CondConvStack(in_dim, cfg.channels, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)

    def forward(self, frames: torch.Tensor, prosody: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor
                ) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(frames.dtype)
        p = self.prosody_embed((prosody * m).transpose(1, 2)).transpose(1, 2)
        return self.stack((frames + p) * m, mask, cond)
