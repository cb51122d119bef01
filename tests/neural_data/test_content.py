"""Content features, k-means and units."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from promptevc.config import AudioConfig
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.features.content import (
    ContentConfig,
    ContentEncoder,
    KMeans,
    UnitExtractor,
    collapse_runs,
    map_to_mel_grid,
)
from promptevc.features.mel import extract_mel


def _blobs(n_per: int = 200, k: int = 4, dim: int = 6, seed: int = 0):
    g = np.random.default_rng(seed)
    centers = g.normal(0, 10, (k, dim))
    labels = np.repeat(np.arange(k), n_per)
    x = centers[labels] + g.normal(0, 0.5, (len(labels), dim))
    perm = g.permutation(len(labels))
    return x[perm].astype(np.float32), labels[perm], centers


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the two labelings are equal up to a renaming of clusters."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("minibatch", [None, 64])
def test_kmeans_recovers_separated_clusters(minibatch):
    x, labels, centers = _blobs()
    km = KMeans(4, n_iter=30, seed=1, minibatch_size=minibatch).fit(x)
    pred = km.assign(x).numpy()
    assert _same_partition(pred, labels)
    # Each fitted centroid sits on a true centre.
    d = np.linalg.norm(km.centroids.numpy()[:, None] - centers[None], axis=-1).min(1)
    assert d.max() < 0.5
    assert km.inertia_ < 0.5 * 6 * 1.5  # about dim * sigma^2 = 1.5


def test_kmeans_save_load_identical(tmp_path):
    x, _, _ = _blobs(seed=3)
    km = KMeans(4, seed=0).fit(x)
    km.save(tmp_path / "km.safetensors")
    again = KMeans.load(tmp_path / "km.safetensors")
    assert torch.equal(km.centroids, again.centroids)
    assert torch.equal(km.assign(x), again.assign(x))


def test_kmeans_errors(tmp_path):
    with pytest.raises(ConfigError, match="need at least k"):
        KMeans(10).fit(np.zeros((5, 2), np.float32))
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="bad.safetensors"):
        KMeans.load(tmp_path / "bad.safetensors")


def test_kmeans_duplicate_points_no_nan():
    x = np.zeros((50, 3), np.float32)
    x[25:] = 1.0
    km = KMeans(4, seed=0).fit(x)
    assert torch.isfinite(km.centroids).all()
    assert set(km.assign(x).tolist()) <= set(range(4))


def test_collapse_runs():
    ids, lengths = collapse_runs(np.array([3, 3, 5, 5, 5, 3, 7]))
    assert ids.tolist() == [3, 5, 3, 7] and lengths.tolist() == [2, 3, 1, 1]
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    ids_t, len_t = collapse_runs(torch.tensor([1, 1, 1, 2]))
    assert ids_t.tolist() == [1, 2] and len_t.tolist() == [3, 1]
    e_ids, e_len = collapse_runs(np.array([], dtype=np.int64))
    assert e_ids.size == 0 and e_len.size == 0
    g = np.random.default_rng(0).integers(0, 4, 100)
    ids, lengths = collapse_runs(g)
    assert lengths.sum() == 100 and np.array_equal(np.repeat(ids, lengths), g)


def test_mel_content_and_units_on_mel_grid(speech_wav, tmp_path):
    wav, _ = speech_wav
    audio = AudioConfig()
    cfg = ContentConfig(type="mel", k=8)
    enc = ContentEncoder(cfg, audio)
    feats = enc.extract(wav)
    n_frames = extract_mel(wav, audio).shape[1]
    assert feats.shape == (n_frames, audio.n_mels)
    np.testing.assert_allclose(feats.mean(0), 0, atol=1e-4)  # utterance mean removed
    x = torch.from_numpy(feats)
    mean, std = x.mean(0), x.std(0)
    km = KMeans(8, seed=0).fit((x - mean) / std)
    ue = UnitExtractor(cfg, km.centroids, mean, std, audio=audio)
    units = ue.units(wav, n_frames)
    assert units.shape == (n_frames,) and units.dtype == np.int64
    assert len(set(units.tolist())) > 2
    # Silence and vowels get different units.
    ids, lengths = collapse_runs(units)
    assert lengths.sum() == n_frames and len(ids) < n_frames
    # save/load and from_tensors give the same units
    ue.save(tmp_path / "units")
    again = UnitExtractor.load(tmp_path / "units")
    assert again.audio == audio and again.cfg == cfg
    assert np.array_equal(again.units(wav, n_frames), units)
    again2 = UnitExtractor.from_tensors(cfg, ue.state_tensors(), audio=audio)
    assert np.array_equal(again2.units(wav, n_frames), units)
    with pytest.raises(ModelLoadError, match="unexpected"):
        UnitExtractor.from_tensors(cfg, {**ue.state_tensors(), "extra": torch.zeros(1)})


def test_map_to_mel_grid_hubert_rate():
    audio = AudioConfig()  # hop 256 at 16 kHz, centred
    cfg = ContentConfig(type="hubert")
    t = 32000
    n_mel, n_c = audio.num_frames(t), (t - 400) // 320 + 1
    idx = map_to_mel_grid(cfg, audio, n_c, n_mel)
    assert idx.shape == (n_mel,) and idx.min() == 0 and idx.max() == n_c - 1
    assert np.all(np.diff(idx) >= 0)
    # Mel frame 50 is centred at 0.8 s; HuBERT frame j at (320 j + 200) / 16000 s -> j = 39.375 -> 39.
    assert idx[50] == 39
    mel_cfg = ContentConfig(type="mel")
    assert np.array_equal(map_to_mel_grid(mel_cfg, audio, n_mel, n_mel), np.arange(n_mel))


@pytest.fixture
def tiny_hubert(tmp_path):
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(
        hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )
    model = HubertModel(cfg).eval()
    path = tmp_path / "tiny_hubert"
    model.save_pretrained(path)
    return path, model


def test_tiny_hubert_frames_and_layer(tiny_hubert, speech_wav):
    path, model = tiny_hubert
    wav, _ = speech_wav
    enc = ContentEncoder(ContentConfig(type="hubert", model_id=str(path), layer=2))
    feats = enc.extract(wav)
    assert feats.shape == ((len(wav) - 400) // 320 + 1, 16)
    assert enc.dim == 16
    with torch.no_grad():
        ref = model(torch.from_numpy(wav)[None], output_hidden_states=True).hidden_states
    np.testing.assert_allclose(feats, ref[2][0].numpy(), atol=1e-5)
    assert not np.allclose(feats, ref[3][0].numpy(), atol=1e-3)
    # Long input goes in chunks of whole frames: same frame count as one pass.
    enc.max_chunk_frames = 20
    chunked = enc.extract(wav)
    assert chunked.shape == feats.shape and np.isfinite(chunked).all()
    for n in (400, 719, 720, 1039, 6400 + 399):
        assert enc.extract(wav[:n]).shape[0] == (n - 400) // 320 + 1
    enc.max_chunk_frames = 1500
    # units from HuBERT features are on the mel grid
    x = torch.from_numpy(feats)
    km = KMeans(4, seed=0).fit(x)
    ue = UnitExtractor(ContentConfig(type="hubert", model_id=str(path), layer=2, k=4), km.centroids, encoder=enc)
    n_mel = AudioConfig().num_frames(len(wav))
    assert ue.units(wav, n_mel).shape == (n_mel,)


def test_hubert_bad_layer_and_missing_model(tiny_hubert, speech_wav, tmp_path):
    path, _ = tiny_hubert
    with pytest.raises(ConfigError, match="only 3 transformer layers"):
        ContentEncoder(ContentConfig(type="hubert", model_id=str(path), layer=5)).extract(speech_wav[0])
    with pytest.raises(ModelLoadError, match="content model"):
        ContentEncoder(ContentConfig(type="hubert", model_id=str(tmp_path / "nope"))).extract(speech_wav[0])
