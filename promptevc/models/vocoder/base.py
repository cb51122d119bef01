"""The :class:`Vocoder` interface: log-mel (B, n_mels, F) -> waveform (B, F * hop)."""

from __future__ import annotations

import torch
from torch import nn

from promptevc.config import AudioConfig
from promptevc.errors import ConfigError


class Vocoder(nn.Module):
    """Base class of every vocoder.

    ``audio_config`` is the AudioConfig whose mels the vocoder expects (and whose sample rate
    it produces). Calling the vocoder with ``mel (B, n_mels, F)`` (or ``(n_mels, F)``) returns
    ``wav (B, F * hop_length)`` on the vocoder's device. In eval mode (the state every loader
    returns) no autograd graph is built. Subclasses implement :meth:`generate`.
    """

    def __init__(self, audio_config: AudioConfig, name: str = "vocoder") -> None:
        super().__init__()
        self.audio_config = audio_config
        self.name = name

    @property
    def device(self) -> torch.device:
        for tensor in list(self.parameters()) + list(self.buffers()):
            return tensor.device
        return torch.device("cpu")

    @property
    def sample_rate(self) -> int:
        return self.audio_config.sample_rate

    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) on the vocoder device -> wav (B, F * hop)."""
        raise NotImplementedError

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) or (n_mels, F) -> wav (B, F * hop) or (F * hop,)."""
        mel = torch.as_tensor(mel)
        unbatched = mel.dim() == 2
        if unbatched:
            mel = mel.unsqueeze(0)
        if mel.dim() != 3 or mel.shape[1] != self.audio_config.n_mels:
            raise ConfigError(
                f"{self.name}: expected mel of shape (batch, {self.audio_config.n_mels}, frames), "
                f"got {tuple(mel.shape)}"
            )
        mel = mel.to(self.device, torch.float32)
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            wav = self.generate(mel)
        expected = mel.shape[-1] * self.audio_config.hop_length
        if wav.shape[-1] != expected:  # pragma: no cover - guards a broken subclass
            raise RuntimeError(f"{self.name}: produced {wav.shape[-1]} samples, expected {expected}")
        return wav[0] if unbatched else wav

    def extra_repr(self) -> str:
        a = self.audio_config
        return f"name={self.name!r}, sample_rate={a.sample_rate}, hop_length={a.hop_length}, n_mels={a.n_mels}"


class GeneratorVocoder(Vocoder):
    """A trained generator module behind the :class:`Vocoder` interface.

    ``generator`` maps mel (B, n_mels, F) to wav (B, 1, F * hop) and exposes ``hop_length`` and
    ``n_mels``, which must match ``audio_config``.
    """

    def __init__(self, generator: nn.Module, audio_config: AudioConfig, name: str = "vocoder") -> None:
        from promptevc.errors import ModelLoadError

        super().__init__(audio_config, name=name)
        if generator.hop_length != audio_config.hop_length:
            raise ModelLoadError(
                f"{name}: generator hop {generator.hop_length} differs from audio hop_length "
                f"{audio_config.hop_length}"
            )
        if generator.n_mels != audio_config.n_mels:
            raise ModelLoadError(f"{name}: generator takes {generator.n_mels} mels, audio config has {audio_config.n_mels}")
        self.generator = generator
        self.eval()

    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        return self.generator(mel).squeeze(1)
