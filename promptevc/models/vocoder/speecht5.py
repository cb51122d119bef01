"""transformers' ``SpeechT5HifiGan`` (e.g. ``microsoft/speecht5_hifigan``) behind :class:`Vocoder`.

The model was trained on SpeechT5's 16 kHz log10 mels, which is exactly our default
``AudioConfig()`` (the ``speecht5`` preset). It normalises its input itself with the ``mean`` /
``scale`` buffers stored in its weights (``normalize_before``), so mels are passed in raw:
normalising here as well would apply it twice. transformers wants (B, F, n_mels); we take
(B, n_mels, F) like every vocoder and transpose.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch

from promptevc.config import AudioConfig
from promptevc.errors import ModelLoadError
from promptevc.models.vocoder.base import Vocoder
from promptevc.models.vocoder.hifigan import HiFiGANConfig

log = logging.getLogger(__name__)


def speecht5_audio_config(config: Any, source: str = "speecht5") -> AudioConfig:
    """The AudioConfig a SpeechT5HifiGan expects: the speecht5 preset, checked against it."""
    audio = AudioConfig.preset("speecht5")
    hop = math.prod(config.upsample_rates)
    problems = []
    if config.model_in_dim != audio.n_mels:
        problems.append(f"model_in_dim {config.model_in_dim} (need {audio.n_mels})")
    if config.sampling_rate != audio.sample_rate:
        problems.append(f"sampling_rate {config.sampling_rate} (need {audio.sample_rate})")
    if hop != audio.hop_length:
        problems.append(f"upsample product {hop} (need hop {audio.hop_length})")
    if problems:
        raise ModelLoadError(
            f"{source}: SpeechT5HifiGan does not match the speecht5 audio preset: {', '.join(problems)}"
        )
    return audio


class SpeechT5Vocoder(Vocoder):
    """Wraps a ``transformers.SpeechT5HifiGan``; weights untouched, input raw log10 mels."""

    def __init__(self, model: torch.nn.Module, name: str = "speecht5_hifigan") -> None:
        super().__init__(speecht5_audio_config(model.config, name), name=name)
        self.model = model
        self.eval()

    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        # (B, n_mels, F) -> (B, F, n_mels); the model applies its own mean/scale.
        return self.model(mel.transpose(1, 2))

    @classmethod
    def from_pretrained(cls, path: str | Path, name: str | None = None) -> "SpeechT5Vocoder":
        """Load a local ``save_pretrained`` folder (config.json + weights)."""
        from transformers import SpeechT5HifiGan
        from transformers.utils import logging as hf_logging

        # transformers draws a "Loading weights" bar per load; a vocoder load is quick and quiet.
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model = SpeechT5HifiGan.from_pretrained(str(path))
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelLoadError(f"{path}: cannot load SpeechT5HifiGan ({first})") from None
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        return cls(model, name=name or str(path))


def speecht5_to_hifigan(model: torch.nn.Module) -> tuple[HiFiGANConfig, dict[str, torch.Tensor]]:
    """Convert a SpeechT5HifiGan into our generator config + state dict (for fine-tuning).

    The architectures are the same HiFi-GAN (resblock type 1) with the input normalisation
    kept as ``mean``/``scale`` buffers; only the upsampler's name differs (``upsampler`` ->
    ``ups``). The leaky-ReLU slope must be the standard 0.1.
    """
    cfg = model.config
    if abs(cfg.leaky_relu_slope - 0.1) > 1e-9:
        raise ModelLoadError(f"SpeechT5HifiGan leaky_relu_slope {cfg.leaky_relu_slope} is not 0.1; cannot convert")
    gen = HiFiGANConfig(
        resblock="1",
        upsample_rates=list(cfg.upsample_rates),
        upsample_kernel_sizes=list(cfg.upsample_kernel_sizes),
        upsample_initial_channel=cfg.upsample_initial_channel,
        resblock_kernel_sizes=list(cfg.resblock_kernel_sizes),
        resblock_dilation_sizes=[list(d) for d in cfg.resblock_dilation_sizes],
        normalize_input=bool(cfg.normalize_before),
    )
    state = {}
    for key, value in model.state_dict().items():
        if key in ("mean", "scale") and not cfg.normalize_before:
            continue
        new = "ups." + key[len("upsampler."):] if key.startswith("upsampler.") else key
        state[new] = value.detach().clone()
    return gen, state
