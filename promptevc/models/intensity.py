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

import numpy as np
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


def projection_score(emb: torch.Tensor, neutral: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Signed distance of ``emb (..., E)`` from ``neutral (E,)`` along the direction to ``target (E,)``.

    The score the intensity pseudo-labels rank (:mod:`promptevc.train.intensity_labels`,
    ``projection``): ``(emb - neutral) . d / |d|`` with ``d = target - neutral``.
    """
    d = target - neutral
    return ((emb - neutral) * d).sum(-1) / d.norm().clamp_min(1e-8)


class ReferenceIntensity:
    """Intensity of a reference recording, read off the emotion evaluator the way the pseudo-labels are.

    Training labels rank each emotional utterance's :func:`projection_score` within its
    speaker x emotion group and scale the rank to [0, 1]. A single reference has no group to be
    ranked in, so this keeps, per emotion, the quantiles of the training utterances' scores
    (against the global neutral and emotion centroids of the raw evaluator embeddings) and maps
    a reference's score through that empirical CDF: the reference gets the rank it would have
    had among the training utterances of its emotion (pooled over speakers). Neutral is 0.

    Tensors (``state_tensors``, stored as ``reference.*`` in an acoustic release):
    ``neutral (E,)``, ``centroids (K, E)``, ``quantiles (K, Q)`` (non-decreasing per row).
    """

    def __init__(self, neutral: torch.Tensor, centroids: torch.Tensor, quantiles: torch.Tensor,
                 neutral_index: int = 0) -> None:
        self.neutral = neutral.float().cpu()
        self.centroids = centroids.float().cpu()
        self.quantiles = quantiles.float().cpu()
        self.neutral_index = neutral_index
        e = self.neutral.shape[0]
        if self.centroids.dim() != 2 or self.centroids.shape[1] != e or self.quantiles.shape[0] != self.centroids.shape[0]:
            raise ValueError(f"reference calibration shapes do not match: neutral {tuple(self.neutral.shape)}, "
                             f"centroids {tuple(self.centroids.shape)}, quantiles {tuple(self.quantiles.shape)}")

    @classmethod
    def fit(cls, embeddings: torch.Tensor, emotions: torch.Tensor, n_emotions: int, neutral_index: int = 0,
            n_quantiles: int = 101) -> "ReferenceIntensity":
        """From raw evaluator embeddings ``(N, E)`` of training utterances and their labels ``(N,)``.

        Emotions absent from the data get the global mean as centroid and a flat quantile row
        (their references all read 0.5).
        """
        emb = embeddings.float()
        if not (emotions == neutral_index).any():
            raise ValueError("no neutral utterances: intensity is measured from neutral speech")
        mean = emb.mean(0)
        centroids = torch.stack([emb[emotions == k].mean(0) if (emotions == k).any() else mean
                                 for k in range(n_emotions)])
        neutral = centroids[neutral_index]
        qs = torch.linspace(0, 1, n_quantiles)
        rows = []
        for k in range(n_emotions):
            sel = emotions == k
            if k == neutral_index or not sel.any():
                rows.append(torch.zeros(n_quantiles))
                continue
            rows.append(torch.quantile(projection_score(emb[sel], neutral, centroids[k]), qs))
        return cls(neutral, centroids, torch.stack(rows), neutral_index)

    def __call__(self, embedding: torch.Tensor, emotion: int) -> float:
        """Intensity in [0, 1] of a raw evaluator ``embedding (E,)`` rendered as ``emotion``."""
        if emotion == self.neutral_index:
            return 0.0
        row = self.quantiles[emotion]
        if float(row[-1] - row[0]) <= 1e-8:
            return 0.5
        score = float(projection_score(embedding.float().cpu(), self.neutral, self.centroids[emotion]))
        grid = np.linspace(0.0, 1.0, len(row))
        return float(np.interp(score, row.numpy(), grid))

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"neutral": self.neutral.clone(), "centroids": self.centroids.clone(), "quantiles": self.quantiles.clone()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], neutral_index: int = 0) -> "ReferenceIntensity":
        """Strict: exactly ``neutral``, ``centroids``, ``quantiles``."""
        expected = {"neutral", "centroids", "quantiles"}
        if set(tensors) != expected:
            raise ValueError(f"reference calibration needs exactly {sorted(expected)}, got {sorted(tensors)}")
        return cls(tensors["neutral"], tensors["centroids"], tensors["quantiles"], neutral_index)
