"""promptevc/hub.py without the Hub: HF_HUB_OFFLINE and an unreachable endpoint both answer from
the cache only, at once, with one line and the caller's offline alternative; a cached repo loads."""

from __future__ import annotations

import numpy as np
import pytest

from promptevc import hub
from promptevc.errors import ModelLoadError


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    """A Hugging Face cache holding ``tiny-org/tiny-hubert`` (a real, tiny HuBERT)."""
    import huggingface_hub.constants as hf_constants
    import torch
    from transformers import HubertConfig, HubertModel

    cache = tmp_path / "hf_cache"
    revision = "0123456789abcdef0123456789abcdef01234567"
    root = cache / "models--tiny-org--tiny-hubert"
    torch.manual_seed(0)
    cfg = HubertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                       conv_dim=(8,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    HubertModel(cfg).save_pretrained(root / "snapshots" / revision)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def online_but_unreachable(monkeypatch):
    """HF_HUB_OFFLINE unset; the conftest socket guard makes every connection fail at once."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    monkeypatch.setattr(hub, "_probe_cache", {})


def test_offline_missing_model_is_one_line_with_the_hint(fake_cache):
    with pytest.raises(ModelLoadError) as err:
        hub.resolve_path("nobody/no-model", kind="content model", hint="or use --content mel")
    msg = str(err.value)
    assert "\n" not in msg and "HF_HUB_OFFLINE=1" in msg and msg.endswith("or use --content mel")
    assert hub.model_available("nobody/no-model") == (False, "HF_HUB_OFFLINE=1 is set and it is not in the "
                                                              "Hugging Face cache")
    assert hub.model_available("tiny-org/tiny-hubert") == (True, "")
    assert hub.resolve_path("tiny-org/tiny-hubert").joinpath("config.json").is_file()


def test_unreachable_hub_uses_the_cache_only(fake_cache, online_but_unreachable, monkeypatch):
    import huggingface_hub

    calls = []
    real = huggingface_hub.snapshot_download

    def recording(*args, **kwargs):
        calls.append(kwargs.get("local_files_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", recording)
    assert hub.hub_reachable() is False
    with pytest.raises(ModelLoadError, match=r"cannot be reached \(huggingface.co:443 did not answer within 1 s\)"):
        hub.resolve_path("nobody/no-model", kind="text encoder")
    assert hub.resolve_path("tiny-org/tiny-hubert").is_dir()
    assert calls and all(calls)  # never a download attempt (no retries) while the Hub is unreachable


def test_probe_goes_to_the_proxy_when_one_is_set(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert hub._probe_target() == ("proxy.example", 3128)
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example")
    assert hub._probe_target() == ("hf-mirror.example", 443)


def test_hubert_from_the_cache_and_the_missing_model_message(fake_cache, online_but_unreachable):
    from promptevc.features.content import ContentConfig, ContentEncoder

    wav = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    feats = ContentEncoder(ContentConfig(type="hubert", model_id="tiny-org/tiny-hubert", layer=1)).extract(wav)
    assert feats.shape == ((8000 - 400) // 320 + 1, 16)
    with pytest.raises(ModelLoadError) as err:
        ContentEncoder(ContentConfig(type="hubert", model_id="facebook/hubert-base-ls960")).extract(wav)
    assert "cannot be reached" in str(err.value) and "--content mel" in str(err.value)


def test_text_encoder_message_names_the_packaged_minilm(monkeypatch):
    from promptevc.models.descriptor import load_text_encoder

    with pytest.raises(ModelLoadError) as err:
        load_text_encoder("FacebookAI/roberta-base")
    assert "HF_HUB_OFFLINE=1" in str(err.value)
    assert "model.descriptor.encoder=packaged:all-MiniLM-L6-v2" in str(err.value)
