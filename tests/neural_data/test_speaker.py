"""Speaker backbone (GE2E, tiny WavLM) and the trainable speaker encoder with its F0 head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.speaker import SpeakerBackbone, SpeakerEncoder, f0_constraint_loss, log_f0_stats
from promptevc.utils.synth import synth_speech


def test_ge2e_backbone_separates_speakers():
    bb = SpeakerBackbone("ge2e")
    a1, a2 = bb.embed(synth_speech(110, 1.5, seed=1)), bb.embed(synth_speech(110, 1.5, seed=2, vowels="oueia"))
    b = bb.embed(synth_speech(230, 1.5, seed=3))
    assert a1.shape == (256,) and bb.dim == 256 and a1.dtype == np.float32
    assert abs(np.linalg.norm(a1) - 1) < 1e-4
    assert a1 @ a2 > a1 @ b


def test_backbone_bad_name():
    with pytest.raises(ConfigError, match="choose one of ge2e, wavlm"):
        SpeakerBackbone("xvector")


def test_tiny_wavlm_backbone(tmp_path, speech_wav):
    from transformers import WavLMConfig, WavLMForXVector

    torch.manual_seed(0)
    cfg = WavLMConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, tdnn_dim=(8,) * 5, xvector_output_dim=12,
        num_buckets=8, max_bucket_distance=20,
    )
    WavLMForXVector(cfg).save_pretrained(tmp_path / "wavlm")
    bb = SpeakerBackbone("wavlm", model_id=str(tmp_path / "wavlm"))
    emb = bb.embed(speech_wav[0])
    assert emb.shape == (12,) and bb.dim == 12 and np.isfinite(emb).all()
    assert abs(np.linalg.norm(emb) - 1) < 1e-4
    np.testing.assert_allclose(bb.embed(speech_wav[0]), emb)  # eval mode: deterministic
    with pytest.raises(ModelLoadError, match="speaker model"):
        SpeakerBackbone("wavlm", model_id=str(tmp_path / "missing")).embed(speech_wav[0])


def test_speaker_encoder_shapes_and_f0_head_learns():
    torch.manual_seed(0)
    enc = SpeakerEncoder(in_dim=10, out_dim=6, hidden=16, dropout=0.0, f0_hidden=8)
    emb = torch.nn.functional.normalize(torch.randn(4, 10), dim=1)
    h, f0 = enc(emb)
    assert h.shape == (4, 6) and f0.shape == (4, 2) and (f0[:, 1] > 0).all()
    # The untrained head starts near log(150 Hz).
    assert torch.allclose(f0[:, 0], torch.full((4,), float(np.log(150))), atol=0.5)
    with pytest.raises(ValueError, match=r"\(B, 10\)"):
        enc(torch.randn(4, 9))
    # The F0 constraint is learnable: map 4 "speakers" to their log-F0 stats.
    target = torch.tensor([[np.log(100), 0.1], [np.log(140), 0.15], [np.log(200), 0.2], [np.log(260), 0.12]]).float()
    opt = torch.optim.Adam(enc.parameters(), lr=1e-2)
    first = f0_constraint_loss(enc(emb)[1], target).item()
    for _ in range(150):
        opt.zero_grad()
        loss = f0_constraint_loss(enc(emb)[1], target)
        loss.backward()
        opt.step()
    assert loss.item() < 0.02 * first
    # mask drops rows
    m = f0_constraint_loss(target + 1, target, mask=torch.tensor([True, False, False, False]))
    assert float(m) == pytest.approx(2.0)


def test_log_f0_stats():
    f0 = np.array([0, 100, 0, 200, 0], dtype=np.float32)
    mean, std = log_f0_stats(f0)
    assert mean == pytest.approx(np.log(np.sqrt(100 * 200)))
    assert std == pytest.approx(np.log(2) / 2)
    with pytest.raises(ValueError):
        log_f0_stats(np.zeros(5))
