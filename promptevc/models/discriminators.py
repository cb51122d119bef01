"""HiFi-GAN's discriminators (Kong et al., 2020): multi-period (MPD) and multi-scale (MSD).

MPD folds the waveform into 2-D with periods 2, 3, 5, 7, 11 and scores it with 2-D convs over
time; MSD scores the raw, 2x and 4x average-pooled waveform with strided, grouped 1-D convs.
Both return, per sub-discriminator, the scores and every layer's feature map (for the
feature-matching loss). They are used only in training (``promptevc.train.vocoder``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm


@dataclasses.dataclass
class DiscriminatorConfig:
    """MPD and MSD widths; the defaults are the paper's."""

    periods: list[int] = dataclasses.field(default_factory=lambda: [2, 3, 5, 7, 11])
    # Conv2d channels of each period discriminator; all but the last layer have stride 3.
    mpd_channels: list[int] = dataclasses.field(default_factory=lambda: [32, 128, 512, 1024, 1024])
    # Conv1d channels / groups of each scale discriminator (kernels 15, 41 x5, 5; strides 1,2,2,4,4,1,1).
    msd_channels: list[int] = dataclasses.field(default_factory=lambda: [128, 128, 256, 512, 1024, 1024, 1024])
    msd_groups: list[int] = dataclasses.field(default_factory=lambda: [1, 4, 16, 16, 16, 16, 1])
    msd_scales: int = 3

    def __post_init__(self) -> None:
        if len(self.msd_channels) != 7 or len(self.msd_groups) != 7:
            raise ValueError("msd_channels and msd_groups need 7 entries each")
        ins = [1] + self.msd_channels[:-1]
        for c_in, c_out, g in zip(ins, self.msd_channels, self.msd_groups, strict=True):
            if c_in % g or c_out % g:
                raise ValueError(f"msd group count {g} must divide channels {c_in} -> {c_out}")
        if not self.periods or not self.mpd_channels:
            raise ValueError("periods and mpd_channels must not be empty")



def _score(convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU conv stack, then the 1-channel output conv: (flattened scores, every layer's output)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), 0.1)
        features.append(x)
    x = conv_post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """wav (B, 1, T) folded to (B, 1, T / p, p): 2-D convs over time with kernel (5, 1)."""

    def __init__(self, period: int, channels: list[int], spectral: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        self.period = period
        ins = [1] + channels[:-1]
        self.convs = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(ins, channels, strict=True)):
            stride = 1 if i == len(channels) - 1 else 3
            self.convs.append(norm(nn.Conv2d(c_in, c_out, (5, 1), (stride, 1), padding=(2, 0))))
        self.conv_post = norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wav (B, 1, T) -> (scores (B, N), feature maps)."""
        b, c, t = wav.shape
        if t % self.period:
            # Reflect-pad to a whole number of periods (as the paper's implementation).
            wav = F.pad(wav, (0, self.period - t % self.period), mode="reflect")
            t = wav.shape[-1]
        return _score(self.convs, self.conv_post, wav.view(b, c, t // self.period, self.period))


class ScaleDiscriminator(nn.Module):
    """Strided, grouped 1-D convs over a (possibly pooled) waveform."""

    KERNELS = (15, 41, 41, 41, 41, 41, 5)
    STRIDES = (1, 2, 2, 4, 4, 1, 1)

    def __init__(self, channels: list[int], groups: list[int], spectral: bool = False) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        ins = [1] + channels[:-1]
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(c_in, c_out, k, s, groups=g, padding=(k - 1) // 2))
            for c_in, c_out, k, s, g in zip(ins, channels, self.KERNELS, self.STRIDES, groups, strict=True)
        )
        self.conv_post = norm(nn.Conv1d(channels[-1], 1, 3, 1, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wav (B, 1, T) -> (scores (B, N), feature maps)."""
        return _score(self.convs, self.conv_post, wav)


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, config.mpd_channels) for p in config.periods)

    def forward(self, wav: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """wav (B, 1, T) -> (scores per discriminator, feature maps per discriminator)."""
        outs = [d(wav) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class MultiScaleDiscriminator(nn.Module):
    """The first scale sees raw audio (spectral norm, as in the paper); the others 2x, 4x pooled."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(config.msd_channels, config.msd_groups, spectral=i == 0)
            for i in range(config.msd_scales)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, wav: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        scores, features = [], []
        for i, d in enumerate(self.discriminators):
            if i > 0:
                wav = self.pool(wav)
            s, f = d(wav)
            scores.append(s)
            features.append(f)
        return scores, features
