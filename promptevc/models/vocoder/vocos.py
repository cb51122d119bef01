"""A Vocos-style vocoder: ConvNeXt backbone at the frame rate + an inverse-STFT head.

Vocos (Siuzdak, 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural
vocoders") keeps every layer at the mel frame rate and lets an inverse STFT do the upsampling:
the network predicts, per frame, the log-magnitude and the phase of each STFT bin, and one
overlap-add turns them into ``hop`` samples per frame. Nothing runs at the sample rate, which is
why it is several times cheaper than HiFi-GAN's transposed-convolution upsampler.

Stages (each a module below, shapes in the docstrings):

1. :class:`ConvNeXtBackbone` — mel (B, n_mels, F) -> features (B, F, dim): a kernel-7 embedding
   conv, then ConvNeXt blocks (depthwise conv k=7, LayerNorm, pointwise MLP with GELU, learned
   per-channel layer scale, residual), then a LayerNorm.
2. :class:`ISTFTHead` — features (B, F, dim) -> wav (B, F * hop): a linear layer to
   ``n_fft + 2`` values per frame, split into log-magnitude (clipped at exp(x) <= 100, as the
   paper) and phase (used through cos/sin, so it needs no wrapping), then an inverse FFT,
   Hann window and overlap-add with window-envelope normalisation.

The overlap-add output is trimmed so that output frame ``i`` sits exactly where mel frame ``i``
was analysed: ``center=True`` mels (frame i centred on sample i * hop) and HiFi-GAN's uncentred
mels (reflect padding of (n_fft - hop) / 2, so frame i is centred on i * hop + hop / 2) both
give exactly ``F * hop`` samples in place.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn import functional as F

from promptevc.config import AudioConfig

# Vocos clips the predicted magnitude at 1e2 (in linear units) to keep early training stable.
MAX_LOG_MAGNITUDE = 4.605170185988092  # ln(100)


@dataclasses.dataclass
class VocosConfig:
    """Generator shape. ``hop_length`` must equal the AudioConfig hop length.

    Defaults are the paper's mel-spectrogram model (dim 512, MLP 1536, 8 blocks, n_fft 1024,
    hop 256; 13.5 M parameters with 100 mels). ``layer_scale_init`` null means 1 / num_layers.
    """

    dim: int = 512
    intermediate_dim: int = 1536
    num_layers: int = 8
    n_fft: int = 1024
    hop_length: int = 256
    kernel_size: int = 7
    layer_scale_init: float | None = None

    def __post_init__(self) -> None:
        if min(self.dim, self.intermediate_dim, self.num_layers, self.hop_length) < 1:
            raise ValueError("dim, intermediate_dim, num_layers and hop_length must be positive")
        # Hann windows at a hop of at most n_fft / 2 overlap everywhere, so the overlap-add
        # envelope never reaches zero.
        if self.n_fft < 2 * self.hop_length or self.n_fft % 2:
            raise ValueError(f"n_fft {self.n_fft} must be even and at least 2 * hop_length ({2 * self.hop_length})")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size {self.kernel_size} must be odd")


def vocos_preset(name: str) -> VocosConfig:
    """``base``: the paper's size (8 x 512). ``small``: 4 x 256, about 8x fewer MACs."""
    from promptevc.errors import ConfigError

    if name == "base":
        return VocosConfig()
    if name == "small":
        return VocosConfig(dim=256, intermediate_dim=768, num_layers=4)
    raise ConfigError(f"unknown Vocos preset {name!r}; choose base or small")


def depthwise_conv_time(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv`` (depthwise, odd kernel, 'same' zero padding) on channels-last x (B, F, C) -> (B, F, C).

    A sum of shifted, per-channel scaled copies of ``x``: on a CPU this is several times faster
    than a grouped ``conv1d`` and needs no transposes, and it is the same arithmetic.
    """
    kernel = conv.weight.shape[-1]
    frames = x.shape[1]
    padded = F.pad(x, (0, 0, kernel // 2, kernel // 2))
    weight = conv.weight[:, 0, :].T  # (kernel, C)
    out = conv.bias + padded[:, :frames] * weight[0]
    for k in range(1, kernel):
        out = out + padded[:, k : k + frames] * weight[k]
    return out


class ConvNeXtBlock(nn.Module):
    """x (B, F, dim) -> x + gamma * MLP(LayerNorm(DepthwiseConv(x))) (B, F, dim), channels last."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale_init: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(depthwise_conv_time(x, self.dwconv)))))
        return x + self.gamma * y


class ConvNeXtBackbone(nn.Module):
    """mel (B, n_mels, F) -> features (B, F, dim)."""

    def __init__(self, config: VocosConfig, n_mels: int) -> None:
        super().__init__()
        scale = config.layer_scale_init if config.layer_scale_init is not None else 1.0 / config.num_layers
        self.embed = nn.Conv1d(n_mels, config.dim, config.kernel_size, padding=config.kernel_size // 2)
        self.norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(config.dim, config.intermediate_dim, config.kernel_size, scale)
            for _ in range(config.num_layers)
        )
        self.final_norm = nn.LayerNorm(config.dim, eps=1e-6)
        # Truncated-normal init of the convs and linears (ConvNeXt's), zero biases.
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.embed(mel).transpose(1, 2))  # (B, F, dim) from here on
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x)


class ISTFTHead(nn.Module):
    """features (B, F, dim) -> wav (B, F * hop), frame ``i`` placed as mel frame ``i`` was analysed."""

    def __init__(self, dim: int, n_fft: int, hop_length: int, center: bool) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        # Samples of the overlap-added signal before the first output sample.
        self.trim = n_fft // 2 if center else (n_fft - hop_length) // 2
        self.out = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """Complex STFT (B, F, n_fft // 2 + 1), frames first, predicted from features (B, F, dim)."""
        log_mag, phase = self.out(x).chunk(2, dim=-1)
        return torch.polar(torch.exp(log_mag.clamp(max=MAX_LOG_MAGNITUDE)), phase)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.istft(self.spectrum(x))

    def istft(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex STFT (B, F, n_fft // 2 + 1) -> wav (B, F * hop), frames placed as analysed."""
        batch, frames = spec.shape[:2]
        hop = self.hop_length
        chunks = torch.fft.irfft(spec, n=self.n_fft, dim=-1) * self.window  # (B, F, n_fft)
        length = (frames - 1) * hop + self.n_fft
        if self.n_fft % hop == 0:
            # Overlap-add as n_fft / hop shifted adds of hop-long pieces (cheaper than fold).
            pieces = self.n_fft // hop
            parts = chunks.view(batch, frames, pieces, hop)
            wav = chunks.new_zeros(batch, frames + pieces - 1, hop)
            for j in range(pieces):
                wav[:, j : j + frames] += parts[:, :, j]
            wav = wav.view(batch, length)
        else:
            fold = dict(output_size=(1, length), kernel_size=(1, self.n_fft), stride=(1, hop))
            wav = F.fold(chunks.transpose(1, 2), **fold)[:, 0, 0]
        envelope = self._envelope(frames, length, spec.device)
        start, end = self.trim, self.trim + frames * hop
        # hop <= n_fft / 2 keeps the envelope of the kept span well above zero; the floor only
        # guards rounding.
        return wav[:, start:end] / envelope[start:end].clamp(min=1e-8)

    def _envelope(self, frames: int, length: int, device: torch.device) -> torch.Tensor:
        """Sum of the squared windows of ``frames`` overlap-added frames, (length,)."""
        fold = dict(output_size=(1, length), kernel_size=(1, self.n_fft), stride=(1, self.hop_length))
        squared = self.window.square().to(device)[None, :, None].expand(1, -1, frames)
        return F.fold(squared, **fold)[0, 0, 0]


class VocosGenerator(nn.Module):
    """log-mel (B, n_mels, F) -> waveform (B, 1, F * hop), ``hop = config.hop_length``.

    ``center`` is the mel's framing (``AudioConfig.center``): it decides where the head places
    each frame. Has no weight norm (``remove_weight_norm`` is not needed); output is not
    squashed, so it is clamped to [-1, 1] only in eval mode.
    """

    def __init__(self, config: VocosConfig, n_mels: int = 80, center: bool = True) -> None:
        super().__init__()
        self.config = config
        self.n_mels = n_mels
        self.center = center
        self.backbone = ConvNeXtBackbone(config, n_mels)
        self.head = ISTFTHead(config.dim, config.n_fft, config.hop_length, center)

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) -> wav (B, 1, F * hop)."""
        wav = self.head(self.backbone(mel)).unsqueeze(1)
        return wav if self.training else wav.clamp(-1.0, 1.0)

    @classmethod
    def for_audio(cls, config: VocosConfig, audio: AudioConfig) -> "VocosGenerator":
        return cls(config, audio.n_mels, audio.center)
