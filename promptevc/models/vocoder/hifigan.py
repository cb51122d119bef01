"""HiFi-GAN generator (Kong et al., 2020) and loaders for its official and our release formats.

The generator maps a log-mel spectrogram (B, n_mels, F) to a waveform (B, 1, F * hop) through
a stack of transposed convolutions (``ups``), each followed by a multi-receptive-field fusion
of residual blocks (``resblocks``). The module and parameter names follow the official
implementation (jik876/hifi-gan: ``conv_pre``, ``ups.i``, ``resblocks.k.convs1.j``,
``conv_post``) so that its checkpoints load with strict key matching.

Weight norm is used while training (:meth:`HiFiGANGenerator.apply_weight_norm`) and folded
into plain weights for inference (:meth:`HiFiGANGenerator.remove_weight_norm`); official
checkpoints store it as ``weight_g`` / ``weight_v`` pairs, newer PyTorch as
``parametrizations.weight.original0/1``; :func:`fold_weight_norm` accepts both.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from promptevc.config import AudioConfig, from_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.vocoder.base import GeneratorVocoder

log = logging.getLogger(__name__)

# Negative slope of the leaky ReLUs inside the generator (official LRELU_SLOPE). The one before
# conv_post uses PyTorch's default 0.01, as the official code does; keeping both makes
# official weights produce the same audio here.
LRELU_SLOPE = 0.1
FINAL_LRELU_SLOPE = 0.01


@dataclasses.dataclass
class HiFiGANConfig:
    """Generator shape. ``prod(upsample_rates)`` must equal the AudioConfig hop length.

    The number of mel bins is not stored here: it belongs to :class:`AudioConfig` (n_mels).
    ``normalize_input`` adds ``mean``/``scale`` buffers applied to the input mel first, as
    transformers' SpeechT5HifiGan does, so that its weights can be fine-tuned here.
    """

    resblock: Literal["1", "2"] = "1"
    upsample_rates: list[int] = dataclasses.field(default_factory=lambda: [8, 8, 2, 2])
    upsample_kernel_sizes: list[int] = dataclasses.field(default_factory=lambda: [16, 16, 4, 4])
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: list[int] = dataclasses.field(default_factory=lambda: [3, 7, 11])
    resblock_dilation_sizes: list[list[int]] = dataclasses.field(
        default_factory=lambda: [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    )
    normalize_input: bool = False

    def __post_init__(self) -> None:
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes) or not self.upsample_rates:
            raise ValueError("upsample_rates and upsample_kernel_sizes need the same, non-zero length")
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True):
            # Transposed conv output = L * rate only when (kernel - rate) is even.
            if rate < 1 or kernel < rate or (kernel - rate) % 2:
                raise ValueError(f"upsample kernel {kernel} and rate {rate}: need kernel >= rate, kernel - rate even")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError("resblock_kernel_sizes and resblock_dilation_sizes need the same length")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError("upsample_initial_channel must be divisible by 2 ** len(upsample_rates)")

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsample_rates)


def hifigan_preset(name: str) -> HiFiGANConfig:
    """The three generator configurations of the HiFi-GAN paper (Table 1 / official configs).

    ``v1``: 512 channels, resblock 1, rates 8-8-2-2 (best quality). ``v2``: the same at 128
    channels (small). ``v3``: 256 channels, resblock 2, rates 8-8-4 (fastest).
    """
    name = name.lower()
    if name == "v1":
        return HiFiGANConfig()
    if name == "v2":
        return HiFiGANConfig(upsample_initial_channel=128)
    if name == "v3":
        return HiFiGANConfig(
            resblock="2",
            upsample_rates=[8, 8, 4],
            upsample_kernel_sizes=[16, 16, 8],
            upsample_initial_channel=256,
            resblock_kernel_sizes=[3, 5, 7],
            resblock_dilation_sizes=[[1, 2], [2, 6], [3, 12]],
        )
    raise ConfigError(f"unknown HiFi-GAN preset {name!r}; choose v1, v2 or v3")


def _padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of a dilated odd-sized convolution."""
    return (kernel_size * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """Pairs of (dilated conv, plain conv) with leaky ReLUs and a residual around each pair."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=_padding(kernel_size, d)) for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=_padding(kernel_size)) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            y = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = x + y
        return x


class ResBlock2(nn.Module):
    """One dilated conv per residual step (the lighter block of V3)."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=_padding(kernel_size, d)) for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class HiFiGANGenerator(nn.Module):
    """log-mel (B, n_mels, F) -> waveform (B, 1, F * hop) with hop = prod(upsample_rates)."""

    def __init__(self, config: HiFiGANConfig, n_mels: int = 80) -> None:
        super().__init__()
        self.config = config
        self.n_mels = n_mels
        self.num_kernels = len(config.resblock_kernel_sizes)
        ch = config.upsample_initial_channel
        if config.normalize_input:
            self.register_buffer("mean", torch.zeros(n_mels))
            self.register_buffer("scale", torch.ones(n_mels))
        self.conv_pre = nn.Conv1d(n_mels, ch, 7, padding=3)
        self.ups = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True)):
            self.ups.append(
                nn.ConvTranspose1d(ch // 2**i, ch // 2 ** (i + 1), kernel, stride=rate, padding=(kernel - rate) // 2)
            )
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            for kernel, dilations in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes, strict=True):
                self.resblocks.append(block(ch // 2 ** (i + 1), kernel, dilations))
        self.conv_post = nn.Conv1d(ch // 2 ** len(self.ups), 1, 7, padding=3)
        # Small initial weights for the upsampling and residual convs (as the official recipe):
        # keeps the untrained residual stack close to identity so training starts stable.
        for module in list(self.ups.modules()) + list(self.resblocks.modules()):
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                nn.init.normal_(module.weight, 0.0, 0.01)
        self._weight_norm = False

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @classmethod
    def for_audio(cls, config: HiFiGANConfig, audio: AudioConfig) -> "HiFiGANGenerator":
        return cls(config, audio.n_mels)

    def _convs(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]

    def apply_weight_norm(self) -> "HiFiGANGenerator":
        """Reparametrise every conv weight as g * v / ||v|| (for training)."""
        if not self._weight_norm:
            for conv in self._convs():
                weight_norm(conv)
            self._weight_norm = True
        return self

    def remove_weight_norm(self) -> "HiFiGANGenerator":
        """Fold weight norm back into plain weights (same output, faster inference)."""
        if self._weight_norm:
            for conv in self._convs():
                parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
            self._weight_norm = False
        return self

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) -> wav (B, 1, F * hop), in [-1, 1]."""
        if self.config.normalize_input:
            mel = (mel - self.mean[:, None]) / self.scale[:, None]
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            # Multi-receptive-field fusion: the mean of the residual blocks of this scale.
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        x = self.conv_post(F.leaky_relu(x, FINAL_LRELU_SLOPE))
        return torch.tanh(x)


# --------------------------------------------------------------------------------------------
# State-dict conversion
# --------------------------------------------------------------------------------------------


def _fold(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """weight = g * v / ||v||, the norm over every dim but the first (weight_norm dim=0)."""
    norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
    return v * (g / norm)


def fold_weight_norm(state_dict: dict[str, torch.Tensor], name: str = "generator") -> dict[str, torch.Tensor]:
    """Turn weight-norm pairs into plain ``weight`` tensors; other keys pass unchanged.

    Accepts the old ``X.weight_g`` / ``X.weight_v`` keys (official HiFi-GAN checkpoints) and
    the new ``X.parametrizations.weight.original0`` / ``original1`` keys. A half pair is a
    ModelLoadError.
    """
    out: dict[str, torch.Tensor] = {}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        for g_suffix, v_suffix in ((".weight_g", ".weight_v"), (".parametrizations.weight.original0",
                                                                 ".parametrizations.weight.original1")):
            if key.endswith(g_suffix):
                pairs.setdefault(key[: -len(g_suffix)], {})["g"] = value
                break
            if key.endswith(v_suffix):
                pairs.setdefault(key[: -len(v_suffix)], {})["v"] = value
                break
        else:
            out[key] = value
    for prefix, pair in pairs.items():
        if set(pair) != {"g", "v"}:
            raise ModelLoadError(f"{name}: weight-norm parameters of {prefix} are incomplete (need g and v)")
        if prefix + ".weight" in out:
            raise ModelLoadError(f"{name}: {prefix} has both a plain weight and weight-norm parameters")
        out[prefix + ".weight"] = _fold(pair["g"].float(), pair["v"].float())
    return out


def official_config_to_configs(data: dict[str, Any], source: str = "config.json") -> tuple[HiFiGANConfig, AudioConfig]:
    """Map an official HiFi-GAN ``config.json`` onto (HiFiGANConfig, AudioConfig).

    The official mel is the ``hifigan`` preset convention (natural log, clamp 1e-5, reflect
    padding, no centring, magnitude eps 1e-9) with the rate and STFT sizes from the file.
    """
    needed = ["resblock", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel",
              "resblock_kernel_sizes", "resblock_dilation_sizes"]
    missing = [k for k in needed if k not in data]
    if missing:
        raise ModelLoadError(f"{source}: not a HiFi-GAN config (missing {', '.join(missing)})")
    try:
        gen = from_dict(HiFiGANConfig, {k: data[k] for k in needed} | {"resblock": str(data["resblock"])})
    except ConfigError as err:
        raise ModelLoadError(f"{source}: invalid HiFi-GAN generator settings ({err})") from None
    sr = int(data.get("sampling_rate", 22050))
    fmax = data.get("fmax")
    try:
        audio = dataclasses.replace(
            AudioConfig.preset("hifigan"),
            sample_rate=sr,
            n_fft=int(data.get("n_fft", 1024)),
            win_length=int(data.get("win_size", 1024)),
            hop_length=int(data.get("hop_size", 256)),
            n_mels=int(data.get("num_mels", 80)),
            fmin=float(data.get("fmin", 0) or 0),
            fmax=float(fmax) if fmax else sr / 2,
        )
    except ValueError as err:
        raise ModelLoadError(f"{source}: invalid audio settings ({err})") from None
    if gen.hop_length != audio.hop_length:
        raise ModelLoadError(
            f"{source}: upsample rates {gen.upsample_rates} give hop {gen.hop_length}, "
            f"but hop_size is {audio.hop_length}"
        )
    return gen, audio


# --------------------------------------------------------------------------------------------
# The inference wrapper
# --------------------------------------------------------------------------------------------


class HiFiGANVocoder(GeneratorVocoder):
    """Our HiFi-GAN generator behind the :class:`Vocoder` interface (weight norm removed)."""

    def __init__(self, generator: HiFiGANGenerator, audio_config: AudioConfig, name: str = "hifigan") -> None:
        super().__init__(generator.remove_weight_norm(), audio_config, name=name)

    # ---- loaders --------------------------------------------------------------------------

    @classmethod
    def from_generator_state(
        cls,
        config: HiFiGANConfig,
        audio_config: AudioConfig,
        state_dict: dict[str, torch.Tensor],
        name: str = "hifigan",
    ) -> "HiFiGANVocoder":
        """Build from a generator state dict (plain or weight-norm keys), strictly."""
        from promptevc.release import load_state_strict

        generator = HiFiGANGenerator(config, audio_config.n_mels)
        load_state_strict(generator, fold_weight_norm(state_dict, name), name)
        return cls(generator, audio_config, name=name)

    @classmethod
    def from_official(cls, config_path: Path, generator_path: Path) -> "HiFiGANVocoder":
        """Load the official format: ``config.json`` + a torch file ``{"generator": state_dict}``."""
        try:
            data = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ModelLoadError(f"{config_path}: cannot read HiFi-GAN config ({err})") from None
        gen_cfg, audio = official_config_to_configs(data, str(config_path))
        try:
            # weights_only: never unpickle arbitrary objects from a downloaded file.
            ckpt = torch.load(str(generator_path), map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises UnpicklingError, RuntimeError, ...
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelLoadError(f"{generator_path}: cannot read generator weights ({first})") from None
        if isinstance(ckpt, dict) and "generator" in ckpt:
            state = ckpt["generator"]
        elif isinstance(ckpt, dict) and ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            state = ckpt  # a bare state dict, as some conversions store it
        else:
            raise ModelLoadError(f"{generator_path}: expected a dict with a 'generator' state dict")
        return cls.from_generator_state(gen_cfg, audio, state, name=str(generator_path))

