"""Vocos-style generator: shapes, iSTFT-head alignment, the registry and strict release round trips."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from promptevc.config import AudioConfig
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.vocoder import load_vocoder
from promptevc.models.vocoder.registry import build_generator, parse_generator_config, write_vocoder_release
from promptevc.models.vocoder.vocos import ISTFTHead, VocosConfig, VocosGenerator, depthwise_conv_time, vocos_preset

TINY = VocosConfig(dim=8, intermediate_dim=16, num_layers=2)
HIFIGAN22K = AudioConfig.preset("hifigan22k")


def tiny_vocos(audio: AudioConfig = HIFIGAN22K, seed: int = 0) -> VocosGenerator:
    torch.manual_seed(seed)
    gen = build_generator("vocos", TINY, audio)
    with torch.no_grad():  # an untrained head is near-silent; make the output depend on every weight
        for p in gen.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return gen.eval()


def analysed_stft(wav: torch.Tensor, n_fft: int, hop: int, center: bool) -> torch.Tensor:
    """STFT (B, F, bins) framed exactly like MelSpectrogram frames the mel for ``center``."""
    window = torch.hann_window(n_fft)
    if not center:
        pad = (n_fft - hop) // 2
        wav = F.pad(wav[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(wav, n_fft, hop, n_fft, window, center=center, pad_mode="reflect", return_complex=True)
    return spec.transpose(1, 2)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("n_fft", [1024, 640])  # 640: not a multiple of the hop (the fold path)
def test_istft_head_puts_every_frame_where_the_mel_analysed_it(center, n_fft):
    wav = torch.randn(2, 256 * 12, generator=torch.Generator().manual_seed(0))
    head = ISTFTHead(4, n_fft, 256, center)
    spec = analysed_stft(wav, n_fft, 256, center)
    frames = AudioConfig(center=center).num_frames(wav.shape[1])
    assert spec.shape[1] == frames
    out = head.istft(spec)
    assert out.shape == (2, frames * 256)
    n = min(out.shape[1], wav.shape[1])
    torch.testing.assert_close(out[:, :n], wav[:, :n], atol=1e-5, rtol=0)  # perfect reconstruction, in place
    # Shifting by one sample is a real error at that tolerance: the check is about alignment.
    assert (out[:, 1:n] - wav[:, : n - 1]).abs().max() > 0.1


def test_depthwise_conv_matches_grouped_conv1d():
    conv = torch.nn.Conv1d(6, 6, 7, padding=3, groups=6)
    x = torch.randn(2, 11, 6)
    torch.testing.assert_close(depthwise_conv_time(x, conv), conv(x.transpose(1, 2)).transpose(1, 2))


@pytest.mark.parametrize("audio", [HIFIGAN22K, AudioConfig()], ids=["uncentred", "centred"])
def test_generator_shapes_batches_and_padding(audio):
    gen = tiny_vocos(audio)
    mel = torch.randn(3, 80, 30) - 5
    with torch.no_grad():
        wav = gen(mel)
        assert wav.shape == (3, 1, 30 * 256) and torch.isfinite(wav).all() and wav.abs().max() <= 1
        # Items of a batch are independent; padding changes only samples within the receptive
        # field of the tail (3 kernel-7 convs: 9 frames, plus the 4-frame iSTFT window).
        torch.testing.assert_close(gen(mel[1:2]), wav[1:2], atol=1e-5, rtol=1e-4)
        padded = gen(F.pad(mel[:1], (0, 8), value=-11.5))
        torch.testing.assert_close(padded[..., : 18 * 256], wav[:1, :, : 18 * 256], atol=1e-5, rtol=1e-4)
        assert (padded[..., 25 * 256 : 30 * 256] - wav[:1, :, 25 * 256 :]).abs().max() > 1e-4


def test_paper_size_and_small_preset():
    assert sum(p.numel() for p in VocosGenerator(vocos_preset("base"), 100).parameters()) == pytest.approx(13.5e6, rel=0.01)
    assert sum(p.numel() for p in VocosGenerator(vocos_preset("small"), 80).parameters()) < 2.1e6
    with pytest.raises(ConfigError, match="unknown Vocos preset"):
        vocos_preset("huge")


def test_config_validation():
    with pytest.raises(ValueError, match="at least 2 \\* hop_length"):
        VocosConfig(n_fft=256, hop_length=256)
    with pytest.raises(ConfigError, match="unknown config key generator.upsample_rates"):
        parse_generator_config("vocos", {"upsample_rates": [8, 8, 4]})
    with pytest.raises(ConfigError, match="unknown vocoder architecture 'wavenet'; choose hifigan, vocos"):
        parse_generator_config("wavenet", {})
    with pytest.raises(ConfigError, match="hop \\(128\\) must equal audio.hop_length \\(256\\)"):
        build_generator("vocos", VocosConfig(hop_length=128, n_fft=512), HIFIGAN22K)


def test_release_round_trip_is_identical_and_strict(tmp_path):
    gen = tiny_vocos()
    release = write_vocoder_release(tmp_path / "rel", gen, HIFIGAN22K, {"step": 3})
    vocoder = load_vocoder(release)
    assert vocoder.audio_config == HIFIGAN22K and vocoder.generator.config == TINY
    mel = torch.randn(2, 80, 6) - 5
    with torch.no_grad():
        torch.testing.assert_close(vocoder(mel), gen(mel).squeeze(1), atol=0, rtol=0)

    # A weight too many, an unknown generator key, a hop that does not fit: refused, naming it.
    from safetensors.torch import load_file, save_file

    weights = load_file(release / "model.safetensors")
    save_file(weights | {"head.extra": torch.zeros(1)}, release / "model.safetensors")
    with pytest.raises(ModelLoadError, match="head.extra"):
        load_vocoder(release)
    save_file(weights, release / "model.safetensors")
    config = (release / "config.yaml").read_text()
    (release / "config.yaml").write_text(config.replace("num_layers: 2", "num_layers: 2\n  depth: 3"))
    with pytest.raises(ModelLoadError, match="depth"):
        load_vocoder(release)
    (release / "config.yaml").write_text(config.replace("hop_length: 256", "hop_length: 128"))
    with pytest.raises(ModelLoadError, match="hop"):
        load_vocoder(release)
    (release / "config.yaml").write_text(config.replace("architecture: vocos", "architecture: wavenet"))
    with pytest.raises(ModelLoadError, match="unknown vocoder architecture"):
        load_vocoder(release)
