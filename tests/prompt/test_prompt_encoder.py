"""SentenceEncoder backends: the NumPy fast path equals transformers' AutoModel."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

SENTENCES = ["very happy", "slightly sad, a bit slower please", "read this sentence", "Extremely FURIOUS!!!"]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """A random 2-layer BERT with the packaged MiniLM tokenizer, saved with save_pretrained."""
    import torch
    from transformers import BertConfig, BertModel

    from promptevc.prompt.encoder import packaged_minilm_path

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_bert")
    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=32, max_position_embeddings=64)
    BertModel(cfg).eval().save_pretrained(path)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(packaged_minilm_path() / name, path / name)
    return path


# First six dimensions of the packaged MiniLM embeddings, computed with the transformers backend
# (AutoModel + mean pooling + L2 norm); sentence-transformers gives the same numbers.
REFERENCE = np.array([
    [-0.039454, 0.054291, -0.001373, -0.05859, -0.050424, -0.064791],
    [0.008969, -0.014974, 0.09479, -0.017059, 0.094485, -0.053486],
], dtype=np.float32)


def test_packaged_minilm_numpy_backend_matches_reference_values(encoder):
    assert encoder.backend == "numpy" and encoder.dim == 384
    emb = encoder.encode(SENTENCES[:2])
    np.testing.assert_allclose(emb[:, :6], REFERENCE, atol=2e-6)


@pytest.mark.slow
def test_numpy_backend_matches_transformers_on_a_tiny_bert(tiny_bert_dir):
    from promptevc.prompt.encoder import SentenceEncoder

    fast = SentenceEncoder(tiny_bert_dir)
    assert fast.backend == "numpy"
    ref = SentenceEncoder(str(tiny_bert_dir), backend="transformers")
    a, b = fast.encode(SENTENCES), ref.encode(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 16)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # Padding must not change a sentence's embedding: encoded alone vs in a batch.
    np.testing.assert_allclose(fast.encode(SENTENCES[:1])[0], a[0], atol=1e-5)


@pytest.mark.slow
def test_missing_model_is_a_clear_error(tmp_path):
    from promptevc.errors import ModelLoadError
    from promptevc.prompt.encoder import SentenceEncoder

    with pytest.raises(ModelLoadError, match="numpy backend"):
        SentenceEncoder(tmp_path, backend="numpy")
    with pytest.raises(ModelLoadError, match="cannot load sentence encoder"):
        SentenceEncoder(str(tmp_path / "absent-model"), backend="transformers")


@pytest.mark.slow
def test_numpy_backend_matches_transformers_on_packaged_minilm(encoder):
    from promptevc.prompt.encoder import SentenceEncoder

    ref = SentenceEncoder(None, backend="transformers")
    np.testing.assert_allclose(encoder.encode(SENTENCES), ref.encode(SENTENCES), atol=1e-5)
