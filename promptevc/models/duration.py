"""Unit encoder, unit-level duration predictor and length regulator (PromptEVC "duration regulator").

Content arrives as de-duplicated k-means units with run lengths (``collapse_runs``). The unit
encoder embeds them and runs a conditional conv stack; the duration predictor (six conv layers +
a linear projection, papers.md §1.2) predicts ``log(run_length + 1)`` per unit from the encoded
units and the global condition (emotion conditioning + speaker), trained with the log-cosh loss
of PromptEVC Eq. 4. The length regulator repeats each unit vector by its duration.
"""

from __future__ import annotations

import torch
from torch import nn

from promptevc.models.config import ContentEncoderConfig, DurationConfig
from promptevc.models.layers import CondConvStack, sequence_mask


class UnitEncoder(nn.Module):
    """unit ids (B, N), mask (B, N), cond (B, G) -> h_units (B, N, dim)."""

    def __init__(self, cfg: ContentEncoderConfig, cond_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.num_units, cfg.dim)
        self.stack = CondConvStack(cfg.dim, cfg.dim, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)

    def forward(self, units: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.stack(self.embed(units.clamp(min=0)), mask, cond)


class DurationPredictor(nn.Module):
    """h_units (B, N, D), mask (B, N), cond (B, G) -> predicted log(run length + 1) (B, N)."""

    def __init__(self, cfg: DurationConfig, in_dim: int, cond_dim: int) -> None:
        super().__init__()
        self.stack = CondConvStack(in_dim, cfg.channels, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)
        self.out = nn.Linear(cfg.channels, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.out(self.stack(h, mask, cond)).squeeze(-1) * mask.to(h.dtype)


def durations_from_log(log_dur: torch.Tensor, mask: torch.Tensor, scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Integer frame counts (B, N) from predicted log(d + 1): (exp(x) - 1) * scale, at least 1 frame.

    Rounding is cumulative: the running sum of the real-valued durations is rounded and
    differenced, so each utterance's total length (and every prefix of it) is the real-valued
    total to within half a frame. Rounding each unit on its own would not: most units last 1-3
    frames, and a tempo change of 10-15 % (ESD's sad, or a "slower" hint) moves few of them past
    a rounding threshold, so the rendered tempo would barely follow the prediction. Every unit
    keeps at least one frame (no content is dropped: with real-valued durations >= 1 the rounded
    running sum grows by at least one per unit); ``scale`` (> 1 = slower) is applied first.
    Padded units get 0.
    """
    if not torch.is_tensor(scale):
        scale = torch.tensor(scale, device=log_dur.device)
    scale = scale.to(log_dur.device, torch.float64)
    if scale.dim() == 1:
        scale = scale.unsqueeze(-1)
    m = mask.to(torch.float64)
    d = ((torch.exp(log_dur.to(torch.float64)) - 1.0).clamp(min=0.0) * scale).clamp(min=1.0) * m
    ends = torch.floor(torch.cumsum(d, 1) + 0.5)
    starts = torch.cat([torch.zeros_like(ends[:, :1]), ends[:, :-1]], dim=1)
    return ((ends - starts) * m).long()


def length_regulate(h: torch.Tensor, durations: torch.Tensor, max_len: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat unit vectors h (B, N, D) by durations (B, N) -> (frames (B, F, D), frame_lens (B,)).

    Implemented with a cumulative-sum index (no Python loop over the batch): frame f of item b
    takes the unit whose run covers f.
    """
    frame_lens = durations.sum(1)
    total = int(max_len if max_len is not None else frame_lens.max().item() if frame_lens.numel() else 0)
    ends = torch.cumsum(durations, 1)  # (B, N)
    pos = torch.arange(total, device=h.device)
    # index of the first unit whose end is > f
    idx = torch.searchsorted(ends.contiguous(), pos.unsqueeze(0).expand(h.shape[0], -1).contiguous(), right=True)
    idx = idx.clamp(max=h.shape[1] - 1)
    out = torch.gather(h, 1, idx.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
    mask = sequence_mask(frame_lens, total)
    return out * mask.unsqueeze(-1).to(out.dtype), frame_lens
