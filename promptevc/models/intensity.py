"""Intensity mapper: (emotion probabilities, intensity, emotion embedding) -> conditioning vector.

EINet maps (category, intensity) to VAD with an invertible flow (papers.md §2.2). We need two
properties more than invertibility (DESIGN §4):

1. intensity 0 reproduces neutral prosody, whatever the emotion or embedding;
2. the change grows monotonically with intensity.

Both hold by construction with a conditioning that is affine in the intensity:

    c = n + s * d,      d = sum_k p_k * u_k + W e,      s = intensity in [0, 1]

``n`` is a learned neutral point, ``u_k`` a learned direction per emotion (mixtures blend them by
their probabilities), ``W e`` a learned linear read-out of the fine-grained emotion embedding
(e_ref in training, e_pm at inference). At s = 0, c = n exactly (property 1); ||c - n|| = s ||d||
grows linearly in s (property 2).

The neutral category is the origin, not a direction: the strength actually applied is
``s * (1 - p_neutral)`` (our choice). Training never shows neutral speech with s > 0 (neutral
utterances are labelled 0), so without this a "neutral" prompt that the descriptor gives a
non-zero intensity would land on an untrained conditioning; with it, a neutral prompt always
renders the neutral point, and a neutral/emotion mixture renders the emotion at its share. Training uses the pseudo-labels of ``utt2intensity`` (neutral
utterances have s = 0, so they all train the neutral point). The downstream predictors are
nonlinear, so monotone *prosody* is not guaranteed by this module alone; the controllability test
checks it end to end.
"""

from __future__ import annotations

import torch
from torch import nn


class IntensityMapper(nn.Module):
    """probs (B, K), intensity (B,), emb (B, E) or None -> conditioning c (B, dim)."""

    def __init__(self, n_emotions: int, emb_dim: int, dim: int, neutral_index: int | None = 0) -> None:
        super().__init__()
        self.neutral_index = neutral_index  # EMOTIONS.index("neutral"); None = no neutral category
        self.neutral = nn.Parameter(torch.zeros(dim))
        self.directions = nn.Parameter(torch.randn(n_emotions, dim) * 0.5)
        self.from_emb = nn.Linear(emb_dim, dim, bias=False)

    def direction(self, probs: torch.Tensor, emb: torch.Tensor | None) -> torch.Tensor:
        """Emotion direction d (B, dim) of the conditioning."""
        d = probs.to(self.directions.dtype) @ self.directions
        if emb is not None:
            d = d + self.from_emb(emb)
        return d

    def forward(self, probs: torch.Tensor, intensity: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        s = intensity.to(self.neutral.dtype).clamp(0.0, 1.0).unsqueeze(-1)
        if self.neutral_index is not None:
            s = s * (1.0 - probs[:, self.neutral_index : self.neutral_index + 1].to(s.dtype)).clamp(0.0, 1.0)
        return self.neutral.unsqueeze(0) + s * self.direction(probs, emb)
