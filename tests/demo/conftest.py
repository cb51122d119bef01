"""Fixtures for the demo tests (helpers live in demo_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import FakeConverter, make_test_folder


@pytest.fixture
def fake_loader():
    """A converter loader that records what it built (``fake_loader.loaded``)."""
    loaded: list[FakeConverter] = []

    def load(engine, model, vocoder, device):
        conv = FakeConverter(engine, model)
        loaded.append(conv)
        return conv

    load.loaded = loaded
    return load


@pytest.fixture
def test_folder(tmp_path) -> Path:
    """``tmp_path/tests/pilot``: 6 stimuli -> 6 MOS, 6 emotion and 2 ranking trials."""
    return make_test_folder(tmp_path / "tests" / "pilot")
