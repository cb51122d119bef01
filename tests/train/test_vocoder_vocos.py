"""train-vocoder with the Vocos-style generator (architecture from the config, via the registry)."""

from __future__ import annotations

import torch
import yaml
from vocoder_support import synthetic_data_dir

from promptevc.cli import main
from promptevc.config import AudioConfig
from promptevc.train.config import load_train_config
from promptevc.train.experiment import read_metrics
from promptevc.train.loop import export_release
from promptevc.train.vocoder import VocoderExperimentConfig


def _data_dir(tmp_path):
    return synthetic_data_dir(tmp_path, (110.0, 150.0, 210.0))


def _train(*args: str) -> int:
    return main(["-q", "train-vocoder", "--config", "vocoder_vocos_tiny", "--device", "cpu", "--no-progress", *args])


def test_vocos_trains_exports_and_fine_tunes(tmp_path):
    from promptevc.models.vocoder import load_vocoder
    from promptevc.models.vocoder.vocos import VocosGenerator

    data, exp = _data_dir(tmp_path), tmp_path / "exp"
    assert _train("--data", str(data), "--exp", str(exp), "--set", "train.max_steps=8",
                  "--set", "train.valid_every=8", "--set", "train.save_every=8") == 0
    valid = {int(r["step"]): float(r["value"]) for r in read_metrics(exp) if r["split"] == "valid"}
    assert valid[8] < 0.9 * valid[0], valid  # held-out mel L1 goes down

    vocoder = load_vocoder(exp / "release")
    assert isinstance(vocoder.generator, VocosGenerator)
    assert vocoder.audio_config == AudioConfig.preset("hifigan22k")
    assert yaml.safe_load((exp / "release" / "config.yaml").read_text())["architecture"] == "vocos"
    mel = torch.randn(1, 80, 12) - 5
    wav = vocoder(mel)
    assert wav.shape == (1, 12 * 256) and torch.isfinite(wav).all()
    # Exporting the same checkpoint again gives the same generator, bit for bit.
    again = load_vocoder(export_release(exp, tmp_path / "again", exp / "checkpoints" / "step_00000008.pt"))
    torch.testing.assert_close(again(mel), wav, atol=0, rtol=0)

    # --init from the Vocos release: architecture, shape and audio come from it, even though the
    # config names HiFi-GAN.
    exp2 = tmp_path / "ft"
    assert main(["-q", "train-vocoder", "--config", "vocoder_tiny", "--device", "cpu", "--no-progress",
                 "--data", str(data), "--exp", str(exp2), "--init", str(exp / "release"),
                 "--set", "train.max_steps=1", "--set", "train.valid_every=1"]) == 0
    saved = load_train_config(VocoderExperimentConfig, exp2 / "config.yaml")
    assert saved.architecture == "vocos" and saved.audio == AudioConfig.preset("hifigan22k")
    first = [float(r["value"]) for r in read_metrics(exp2) if r["split"] == "valid" and int(r["step"]) == 0]
    assert first and abs(first[0] - valid[8]) < 0.05 * valid[8]  # starts where the first run ended
