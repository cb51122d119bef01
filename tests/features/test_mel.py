import librosa
import numpy as np
import pytest
import torch

from promptevc.config import AudioConfig
from promptevc.features.mel import MelSpectrogram


@pytest.mark.parametrize("preset", ["speecht5", "hifigan"])
def test_mel_matches_librosa(preset, speech_wav):
    wav, sr = speech_wav
    cfg = AudioConfig.preset(preset)
    ours = MelSpectrogram(cfg)(torch.from_numpy(wav)[None])[0].numpy()
    x = wav
    if not cfg.center:
        pad = (cfg.n_fft - cfg.hop_length) // 2
        x = np.pad(wav, (pad, pad), mode="reflect")
    mag = np.abs(
        librosa.stft(x, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                     window="hann", center=cfg.center, pad_mode="reflect")
    )
    mag = np.sqrt(mag**2 + cfg.magnitude_eps)
    fb = librosa.filters.mel(sr=sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax)
    ref = np.maximum(fb @ mag, cfg.log_floor)
    ref = np.log10(ref) if cfg.log == "log10" else np.log(ref)
    assert ours.shape == ref.shape == (cfg.n_mels, cfg.num_frames(len(wav)))
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_mel_batch_equals_single(speech_wav):
    wav, _ = speech_wav
    mel = MelSpectrogram(AudioConfig())
    a = torch.from_numpy(wav)
    b = torch.from_numpy(wav[::-1].copy())
    batch = mel(torch.stack([a, b]))
    assert batch.shape[0] == 2
    torch.testing.assert_close(batch[0], mel(a[None])[0])
    torch.testing.assert_close(batch[1], mel(b[None])[0])
    assert torch.isfinite(batch).all()
    lens = mel.frame_lengths(torch.tensor([len(wav), 1000]))
    assert lens.tolist() == [batch.shape[-1], 1 + 1000 // 256]
