"""Helpers for the front/back and safety tests: contract engines with checkable behaviour, bomb files.

Imported by name (``from safety_support import ...``); pytest puts ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from promptevc.engines.base import Engine, EngineSession
from promptevc.utils.synth import synth_speech


@pytest.fixture(autouse=True)
def fresh_logging():
    """Autouse where imported: cli.setup_logging's handler must not outlive a test's captured stderr."""
    logger = logging.getLogger("promptevc")
    saved = logger.handlers[:]
    logger.handlers.clear()
    yield
    logger.handlers[:] = saved


class GainSession(EngineSession):
    """Multiplies by ``gain``; ``tempo`` != 1 stretches by resampling. Records what it was given."""

    def __init__(self, engine: "GainEngine", sample_rate: int, num_channels: int) -> None:
        super().__init__(sample_rate, num_channels)
        self.engine = engine
        self.needs_analysis = engine.analysis
        self.identity = engine.identity
        self.observed = 0

    def observe(self, block: np.ndarray) -> None:
        assert block.ndim == 2 and block.shape[1] == self.num_channels
        self.observed += len(block)
        self.engine.observed_blocks.append(len(block))

    def convert(self, chunk: np.ndarray) -> np.ndarray:
        assert chunk.dtype == np.float32 and chunk.ndim == 2 and chunk.shape[1] == self.num_channels
        self.engine.chunks.append(len(chunk))
        self.engine.dc_seen.append(float(np.mean(chunk)))
        y = chunk * self.engine.gain
        if self.engine.tempo != 1.0:
            y = _stretch(y, round(len(chunk) * self.engine.tempo))
        return y.astype(np.float32)


def _stretch(y: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0, len(y) - 1, n)
    return np.stack([np.interp(t, np.arange(len(y)), y[:, c]) for c in range(y.shape[1])], axis=1)


class GainEngine(Engine):
    """A contract engine: any rate (``rate`` None) or a fixed one, multichannel or not."""

    name = "gain"

    def __init__(self, gain: float = 0.5, multichannel: bool = True, rate: int | None = None,
                 analysis: bool = True, identity: bool = False, tempo: float = 1.0) -> None:
        super().__init__()
        self.gain, self.multichannel, self.rate = gain, multichannel, rate
        self.analysis, self.identity, self.tempo = analysis, identity, tempo
        self.chunks: list[int] = []
        self.observed_blocks: list[int] = []
        self.dc_seen: list[float] = []
        self.sessions: list[GainSession] = []

    def working_rate(self, input_rate: int) -> int:
        return self.rate or input_rate

    def start(self, control, *, sample_rate, num_channels=1, ref_wav=None, seed=None):
        session = GainSession(self, sample_rate, num_channels)
        self.sessions.append(session)
        return session


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_speech(path: Path, seconds: float = 1.0, sr: int = 16000, channels: int = 1, subtype: str = "PCM_16",
                 f0: float = 150.0) -> Path:
    wav = synth_speech(f0, seconds, sr)
    data = wav if channels == 1 else np.stack([wav * (1.0 - 0.2 * c) for c in range(channels)], axis=1)
    sf.write(path, data, sr, subtype=subtype)
    return path


def flac_declaring(path: Path, total_frames: int, seconds: float = 1.0, sr: int = 16000, channels: int = 1) -> Path:
    """A real, small FLAC whose STREAMINFO declares ``total_frames`` samples (a "bomb" header)."""
    rng = np.random.default_rng(0)
    sf.write(path, (0.1 * rng.standard_normal((int(seconds * sr), channels))).astype(np.float32), sr,
             subtype="PCM_16", format="FLAC")
    raw = bytearray(path.read_bytes())
    assert raw[:4] == b"fLaC"
    # STREAMINFO starts at byte 8; the total sample count is the low 36 bits of its first 18 bytes.
    v = int.from_bytes(raw[8:26], "big")
    v = (v & ~((1 << 36) - 1)) | (total_frames & ((1 << 36) - 1))
    raw[8:26] = v.to_bytes(18, "big")
    path.write_bytes(bytes(raw))
    return path


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML whose aliases expand to ``width ** levels`` strings ("billion laughs")."""
    text = "a: &a [" + ", ".join(['"lol"'] * width) + "]\n"
    prev = "a"
    for i in range(1, levels):
        name = f"l{i}"
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]\n"
        prev = name
    return text + f"model: {{decoder: *{prev}}}\n"
