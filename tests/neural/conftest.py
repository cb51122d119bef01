"""Fixtures for the neural-model tests: a tiny text encoder, tiny configs, synthetic corpora."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# Helpers live in a uniquely named module (several test dirs have a conftest.py).
from neural_corpus import TINY_CONFIG, make_corpus, make_fast_corpus, make_tiny_text_encoder  # noqa: E402


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 1-layer BERT (random weights, the MiniLM tokenizer) saved with save_pretrained."""
    return make_tiny_text_encoder(tmp_path_factory.mktemp("text_encoder"))


@pytest.fixture(scope="session")
def tiny_text_encoder(tiny_encoder_dir):
    from promptevc.models.descriptor import load_text_encoder

    return load_text_encoder(str(tiny_encoder_dir))


@pytest.fixture
def tiny_cfg(tiny_encoder_dir):
    """Factory: the tiny acoustic training config plus dotted overrides."""
    from promptevc.config import load_yaml
    from promptevc.train.acoustic import AcousticExperimentConfig

    def make(*overrides: str):
        return load_yaml(AcousticExperimentConfig, TINY_CONFIG,
                         [f"model.descriptor.encoder={tiny_encoder_dir}", "model.content.num_units=12",
                          "model.speaker.in_dim=12", *overrides])

    return make


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """A small synthetic corpus dumped with D2's dump_features / fit_units: (data_dir, units_dir)."""
    return make_corpus(tmp_path_factory.mktemp("corpus"), utts_per_style=1, seconds=1.0, k=8,
                       emotions=("neutral", "happy"))


__all__ = ["TINY_CONFIG", "make_corpus", "make_fast_corpus", "make_tiny_text_encoder"]
