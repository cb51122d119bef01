"""Building blocks shared by the acoustic-model parts: masks, conditional layer norm, conv blocks.

Sequences are channels-last ``(B, L, C)`` with a boolean ``mask (B, L)`` (True = valid).
Padded positions are zeroed after every block so that they never leak into convolutions.
"""

from __future__ import annotations

import torch
from torch import nn


def sequence_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """lengths (B,) -> mask (B, L) with True on valid positions."""
    max_len = int(max_len if max_len is not None else lengths.max().item() if lengths.numel() else 0)
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x (B, L, ...) over valid positions of mask (B, L) -> (B, ...)."""
    m = mask.to(x.dtype)
    while m.dim() < x.dim():
        m = m.unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class ConditionalLayerNorm(nn.Module):
    """Layer norm whose scale and shift come from a global condition (AdaSpeech-style CLN / FiLM).

    x (B, L, C), cond (B, G) -> (B, L, C). Initialised to the identity transform of plain
    LayerNorm (gamma 1, beta 0) so conditioning starts as a no-op and is learned.
    """

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, elementwise_affine=False)
        self.to_scale = nn.Linear(cond_dim, channels)
        self.to_shift = nn.Linear(cond_dim, channels)
        for lin in (self.to_scale, self.to_shift):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale = 1.0 + self.to_scale(cond).unsqueeze(1)
        shift = self.to_shift(cond).unsqueeze(1)
        return self.norm(x) * scale + shift


class CondConvBlock(nn.Module):
    """Residual block: conv1d -> ReLU -> conditional layer norm -> dropout.

    x (B, L, C), mask (B, L), cond (B, G) -> (B, L, C).
    """

    def __init__(self, channels: int, cond_dim: int, kernel_size: int = 5, dropout: float = 0.1,
                 dilation: int = 1) -> None:
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=pad, dilation=dilation)
        self.norm = ConditionalLayerNorm(channels, cond_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(x.dtype)
        y = self.conv((x * m).transpose(1, 2)).transpose(1, 2)
        y = self.dropout(self.norm(torch.relu(y), cond))
        return (x + y) * m


class CondConvStack(nn.Module):
    """``in_proj`` -> N :class:`CondConvBlock` -> (B, L, channels)."""

    def __init__(self, in_dim: int, channels: int, cond_dim: int, layers: int, kernel_size: int,
                 dropout: float) -> None:
        super().__init__()
        self.in_proj = nn.Linear(in_dim, channels) if in_dim != channels else nn.Identity()
        self.blocks = nn.ModuleList(
            CondConvBlock(channels, cond_dim, kernel_size, dropout) for _ in range(layers)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = self.in_proj(x) * mask.unsqueeze(-1).to(x.dtype)
        for block in self.blocks:
            x = block(x, mask, cond)
        return x
