"""Non-autoregressive mel decoder (conditional conv blocks) with a source-filter output path.

Mels are predicted in a per-bin standardised space (mean / std buffers of the composed model),
which keeps the L1 loss balanced across bins.

Source-filter inductive bias (our choice, not from the papers): a tiny decoder trained for a
few hundred steps learns to paint an *average* harmonic pattern from the content features and
ignores the F0 it is given, so the rendered audio does not follow the predicted F0 (and the
vocoder can even lock onto an octave of it). We therefore compute, from the frame F0, what a
flat-envelope harmonic source looks like on the mel filterbank (:class:`HarmonicExcitation`:
a comb of Hann-window main lobes at k * F0 on the STFT bins, projected through the mel
filters, in log10 units relative to a flat spectrum, 0 when unvoiced) and feed it to the
decoder twice: projected into its input, and added straight to its output through a learned
per-bin gain (initialised to 1). In the log domain a source-filter model is exactly
``log mel = log envelope + log excitation``, so the conv stack only has to predict the
envelope and the mel's harmonic spacing follows the F0 input by construction. The frame
energy (relative to the speaker, in log10 magnitude) is added the same way, so the output
level follows the (predicted) energy.
"""

from __future__ import annotations

import torch
from torch import nn

from promptevc.config import AudioConfig
from promptevc.models.config import DecoderConfig
from promptevc.models.layers import CondConvStack


class HarmonicExcitation(nn.Module):
    """f0_hz (B, F) (0 = unvoiced) -> harmonic excitation on the mel bins (B, F, n_mels), log10.

    Per frame: the magnitude spectrum of a flat harmonic source (Hann main lobe of the STFT
    window around every harmonic k * F0, k >= 1), scaled so that its mean over the analysed
    band is 1, projected through the mel filterbank and divided by the filterbank's response to
    a flat spectrum. Wide high bins average many harmonics (~0); narrow low bins show peaks on
    harmonics and dips between them. Values are clamped to [-floor_log10, +floor_log10]; all
    zero on unvoiced frames. No learned parameters; buffers are not saved (derived from audio).
    """

    def __init__(self, audio: AudioConfig, floor_log10: float = 2.0) -> None:
        super().__init__()
        from promptevc.features.mel import mel_filterbank

        fb = torch.from_numpy(mel_filterbank(audio))  # (n_mels, K)
        k = fb.shape[1]
        self.bin_hz = audio.sample_rate / audio.n_fft
        # Hann window of win_length zero-padded to n_fft: main lobe half-width 2 * n_fft / win bins.
        self.lobe_scale = audio.win_length / audio.n_fft
        freqs = torch.arange(k, dtype=torch.float32) * self.bin_hz
        band = (freqs >= audio.fmin) & (freqs <= audio.fmax)
        self.floor_log10 = floor_log10
        self.register_buffer("freqs", freqs, persistent=False)
        self.register_buffer("band", band.float(), persistent=False)
        self.register_buffer("fb", fb, persistent=False)
        self.register_buffer("flat", fb.sum(1).clamp(min=1e-8), persistent=False)

    def forward(self, f0_hz: torch.Tensor) -> torch.Tensor:
        voiced = f0_hz > 0
        f0 = torch.where(voiced, f0_hz, torch.full_like(f0_hz, 100.0)).clamp(min=20.0).unsqueeze(-1)  # (B, F, 1)
        ratio = self.freqs / f0  # (B, F, K) frequency in harmonic numbers
        harm = ratio.round().clamp(min=1.0)
        # Distance to the nearest harmonic in window-lobe units (Hann main lobe: |d| < 2).
        d = (ratio - harm) * f0 / self.bin_hz * self.lobe_scale
        one_minus = 1.0 - d * d
        safe = torch.where(one_minus.abs() < 1e-4, torch.ones_like(one_minus), one_minus)
        lobe = torch.where(one_minus.abs() < 1e-4, torch.full_like(d, 0.5), torch.sinc(d) / safe)
        lobe = torch.where(d.abs() < 2.0, lobe.abs(), torch.zeros_like(lobe))
        mean = (lobe * self.band).sum(-1, keepdim=True) / self.band.sum().clamp(min=1.0)
        lobe = lobe / mean.clamp(min=1e-6)
        mel = lobe @ self.fb.t()  # (B, F, n_mels)
        floor = 10.0 ** (-self.floor_log10)
        exc = torch.log10(mel / self.flat + floor).clamp(-self.floor_log10, self.floor_log10)
        return exc * voiced.unsqueeze(-1).to(exc.dtype)


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
    """h (B, F, D), mask (B, F), cond (B, G), source (B, F, 2 * n_mels) or None -> (mel, mel_post) (B, F, n_mels).

    ``source`` = [harmonic excitation (B, F, n_mels), frame energy broadcast to every bin
    (B, F, n_mels)], both already in the standardised mel space (log10 magnitude divided by the
    per-bin mel std): the source-filter path of the module docstring. None = zeros (the conv
    path alone).
    """

    def __init__(self, cfg: DecoderConfig, in_dim: int, cond_dim: int, n_mels: int) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.source_in = nn.Linear(2 * n_mels, in_dim)
        self.stack = CondConvStack(in_dim, cfg.channels, cond_dim, cfg.layers, cfg.kernel_size, cfg.dropout)
        self.out = nn.Linear(cfg.channels, n_mels)
        # Per-bin gains of the direct source path; 1 = the physical source-filter sum.
        self.excitation_gain = nn.Parameter(torch.ones(n_mels))
        self.energy_gain = nn.Parameter(torch.ones(n_mels))
        self.postnet = Postnet(n_mels, cfg.postnet_channels, cfg.postnet_layers, cfg.postnet_kernel_size, cfg.dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor, source: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        m = mask.unsqueeze(-1).to(h.dtype)
        if source is None:
            source = h.new_zeros(*h.shape[:2], 2 * self.n_mels)
        source = source * m
        x = self.stack(h + self.source_in(source), mask, cond)
        direct = source[..., : self.n_mels] * self.excitation_gain + source[..., self.n_mels :] * self.energy_gain
        mel = (self.out(x) + direct) * m
        return mel, self.postnet(mel, mask)


def energy_to_log10(energy_norm: torch.Tensor, energy_scale_db: float) -> torch.Tensor:
    """Normalised frame energy (dB relative to the speaker / energy_scale_db) -> log10 magnitude change."""
    return energy_norm * (energy_scale_db / 20.0)


__all__ = ["HarmonicExcitation", "MelDecoder", "Postnet", "energy_to_log10"]
