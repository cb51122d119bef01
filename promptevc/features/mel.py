"""Log-mel spectrogram as a batchable ``torch.nn.Module`` built from :class:`AudioConfig`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from promptevc.config import AudioConfig


def mel_filterbank(audio: AudioConfig) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) mel filterbank for ``audio``."""
    import librosa

    return librosa.filters.mel(
        sr=audio.sample_rate,
        n_fft=audio.n_fft,
        n_mels=audio.n_mels,
        fmin=audio.fmin,
        fmax=audio.fmax,
        htk=audio.mel_scale == "htk",
        norm="slaney" if audio.mel_norm == "slaney" else None,
    ).astype(np.float32)


class MelSpectrogram(nn.Module):
    """wav (B, T) -> log-mel (B, n_mels, F) following ``audio`` exactly.

    ``F = audio.num_frames(T)``. Use :meth:`frame_lengths` to turn sample lengths of a padded
    batch into frame lengths.
    """

    def __init__(self, audio: AudioConfig) -> None:
        super().__init__()
        self.audio = audio
        self.register_buffer("window", torch.hann_window(audio.win_length, periodic=True), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(mel_filterbank(audio)), persistent=False)

    def magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        """Linear magnitude spectrogram (B, n_fft // 2 + 1, F)."""
        a = self.audio
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        if not a.center:
            pad = (a.n_fft - a.hop_length) // 2
            wav = torch.nn.functional.pad(wav.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        spec = torch.stft(
            wav.float(),
            n_fft=a.n_fft,
            hop_length=a.hop_length,
            win_length=a.win_length,
            window=self.window,
            center=a.center,
            pad_mode="reflect",
            return_complex=True,
        )
        power = spec.real.pow(2) + spec.imag.pow(2)
        return torch.sqrt(power + a.magnitude_eps)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.mel_basis, self.magnitude(wav))
        mel = torch.clamp(mel, min=self.audio.log_floor)
        return torch.log10(mel) if self.audio.log == "log10" else torch.log(mel)

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        if self.audio.center:
            return 1 + sample_lengths // self.audio.hop_length
        return sample_lengths // self.audio.hop_length


def extract_mel(wav: np.ndarray, audio: AudioConfig | None = None) -> np.ndarray:
    """Convenience: log-mel (n_mels, F) of a mono numpy waveform."""
    audio = audio or AudioConfig()
    with torch.no_grad():
        mel = MelSpectrogram(audio)(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)))
    return mel[0].numpy()
