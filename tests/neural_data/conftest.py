"""Fixtures for the data side of the neural model: a tiny synthetic emotional corpus.

Emotions differ by construction in F0 level/range, tempo (syllable length) and level, like the
coarse acoustic profiles of ESD's categories; ``intensity`` in [0, 1] interpolates every
attribute from the speaker's neutral voice towards the full emotion.
"""

from pathlib import Path

import pytest
from neural_data_support import add_mel_features, emotional_speech, make_data_dir


@pytest.fixture
def synth_data():
    """The corpus factory ``make_data_dir(root, per_class=..., ...)``."""
    return make_data_dir


@pytest.fixture
def emo_speech():
    return emotional_speech


@pytest.fixture(scope="session")
def dumped_data(tmp_path_factory) -> Path:
    """A small dumped data dir (mel content, dio F0, GE2E speakers); shared, do not modify."""
    from promptevc.data.dump import dump_features
    from promptevc.features.content import ContentConfig

    root = make_data_dir(tmp_path_factory.mktemp("dumped") / "data", per_class=2)
    dump_features(root, content=ContentConfig(type="mel"), f0_method="dio", progress=False)
    return root


@pytest.fixture(scope="session")
def mel_corpus(tmp_path_factory) -> dict[str, Path]:
    """Train/valid dirs with mel-only features: 2 speakers x 5 emotions, intensities 0.5-1."""
    base = tmp_path_factory.mktemp("melcorpus")
    train = add_mel_features(make_data_dir(base / "train", per_class=8, intensities=(0.6, 0.8, 1.0), seconds=1.0))
    valid = add_mel_features(make_data_dir(base / "valid", per_class=3, intensities=(0.7, 0.9), seconds=1.1,
                                           speakers={"spk_a": 125.0, "spk_b": 200.0}))
    return {"train": train, "valid": valid}


@pytest.fixture(scope="session")
def trained_evaluator(mel_corpus, tmp_path_factory) -> Path:
    """EXP dir of a tiny evaluator trained on ``mel_corpus`` through the CLI (release in EXP/release)."""
    from promptevc.cli import main

    exp = tmp_path_factory.mktemp("evaluator") / "exp"
    rc = main(["train-evaluator", "--config", "tiny", "--data", str(mel_corpus["train"]),
               "--valid-data", str(mel_corpus["valid"]), "--exp", str(exp), "--no-progress", "--device", "cpu"])
    assert rc == 0
    return exp
