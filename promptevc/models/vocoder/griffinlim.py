"""Griffin-Lim: a weightless vocoder for debugging only (audibly phasey, never the default)."""

from __future__ import annotations

import logging

import torch

from promptevc.config import AudioConfig
from promptevc.features.mel import mel_filterbank
from promptevc.models.vocoder.base import Vocoder

log = logging.getLogger(__name__)


class GriffinLimVocoder(Vocoder):
    """Inverts the log-mel to a non-negative magnitude and iterates phase.

    Only for checking a pipeline without downloading weights: quality is far below a neural
    vocoder. The magnitude is the non-negative least-squares solution of ``basis @ S = mel``
    (``nnls_iter`` multiplicative updates started from the clamped pseudo-inverse): a clamped
    pseudo-inverse alone smears energy between harmonics, which pitch trackers then read as an
    octave error on low voices. Then ``n_iter`` Griffin-Lim iterations with momentum 0.99 (fast
    Griffin-Lim).
    """

    def __init__(
        self, audio_config: AudioConfig | None = None, n_iter: int = 32, momentum: float = 0.99, nnls_iter: int = 100
    ) -> None:
        audio = audio_config or AudioConfig()
        super().__init__(audio, name="griffin-lim (debugging only)")
        self.n_iter = n_iter
        self.momentum = momentum
        self.nnls_iter = nnls_iter
        basis = torch.from_numpy(mel_filterbank(audio))
        self.register_buffer("basis", basis, persistent=False)
        self.register_buffer("inverse_basis", torch.linalg.pinv(basis), persistent=False)
        self.register_buffer("window", torch.hann_window(audio.win_length), persistent=False)
        self.eval()

    def _stft(self, wav: torch.Tensor) -> torch.Tensor:
        a = self.audio_config
        return torch.stft(wav, a.n_fft, a.hop_length, a.win_length, self.window, center=True, return_complex=True)

    def _istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        a = self.audio_config
        return torch.istft(spec, a.n_fft, a.hop_length, a.win_length, self.window, center=True, length=length)

    def _mel_to_magnitude(self, linear: torch.Tensor) -> torch.Tensor:
        """Non-negative ``S`` (B, n_fft // 2 + 1, F) with ``basis @ S ≈ linear`` (B, n_mels, F)."""
        # Lee-Seung multiplicative updates keep S >= 0 and never increase ||basis @ S - linear||.
        magnitude = torch.clamp(self.inverse_basis @ linear, min=0.0) + 1e-6
        numerator = self.basis.T @ linear
        gram = self.basis.T @ self.basis
        for _ in range(self.nnls_iter):
            magnitude = magnitude * numerator / (gram @ magnitude + 1e-10)
        return magnitude

    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        a = self.audio_config
        linear = torch.pow(10.0, mel) if a.log == "log10" else torch.exp(mel)
        magnitude = self._mel_to_magnitude(linear)
        frames = mel.shape[-1]
        # Frame i is centred on sample i * hop with center=True; an uncentred (HiFi-GAN) mel is
        # shifted by half a window minus half a hop, small enough to ignore for a debug tool.
        length = frames * a.hop_length
        gen = torch.Generator(device="cpu").manual_seed(0)
        angles = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=gen)).to(magnitude.device)
        previous = torch.zeros_like(angles)
        wav = self._istft(magnitude * angles, length)
        for _ in range(self.n_iter):
            rebuilt = self._stft(wav)[..., :frames]
            if rebuilt.shape[-1] < frames:
                rebuilt = torch.nn.functional.pad(rebuilt, (0, frames - rebuilt.shape[-1]))
            angles = rebuilt - (self.momentum / (1 + self.momentum)) * previous
            previous = rebuilt
            angles = angles / (angles.abs() + 1e-8)
            wav = self._istft(magnitude * angles, length)
        return wav.clamp(-1.0, 1.0)
