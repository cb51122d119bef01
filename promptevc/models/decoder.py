"""Non-autoregressive mel decoder (conditional conv blocks) and a Tacotron-style postnet.

Mels are predicted in a per-bin standardised space (mean / std buffers of the composed model),
which keeps the L1 loss balanced across bins.
"""

from __future__ import annotations

import torch
from torch import nn

from promptevc.models.config import DecoderConfig
from promptevc.models.layers import CondConvStack


class Postnet(nn.Module):
    """Residual refinement: mel (B, F, n_mels), mask (B, F) -> mel (B, F, n_mels)."""

    def __init__(self, n_mels: int, channels: int, layers: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        convs = []
        dims = [n_mels] + [channels] * (layers - 1) + [n_mels]
        for i in range(layers):
            convs.append(nn.Conv1d(dims[i], dims[i + 1], kernel_size, padding=(kernel_size - 1) // 2))
        self.convs = nn.ModuleList(convs)
        # Per-frame layer norm instead of Tacotron's batch norm: padding never enters the statistics.
        self.norms = nn.ModuleList(nn.LayerNorm(d) for d in dims[1:-1])
        self.dropout = nn.Dropout(dropout)

    def forward(self, mel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(1).to(mel.dtype)
        x = mel.transpose(1, 2) * m
        for i, conv in enumerate(self.convs):
            x = conv(x) * m
            if i < len(self.norms):
                x = self.norms[i](x.transpose(1, 2)).transpose(1, 2)
                x = self.dropout(torch.tanh(x)) * m
        return mel + x.transpose(1, 2)


class MelDecoder(nn.Module):
    """h (B, F, D), mask (B, F), cond (B, G) -> (mel (B, F, n_mels), mel_post (B, F, n_mels))."""

    def __init__(self, cfg: DecoderConfig, in_dim: int, cond_dim: int, n_mels: int) -> None:
        super().__init__()
        self.stack = CondConvStack(in_dim, cfg.channels, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)
        self.out = nn.Linear(cfg.channels, n_mels)
        self.postnet = Postnet(n_mels, cfg.postnet_channels, cfg.postnet_layers, cfg.postnet_kernel_size, cfg.dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mel = self.out(self.stack(h, mask, cond)) * mask.unsqueeze(-1).to(h.dtype)
        return mel, self.postnet(mel, mask)
