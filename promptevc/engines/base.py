"""The engine interface shared by the prosody (embedded) and neural (trained release) engines.

An engine turns a validated mono waveform at ``audio.sample_rate`` plus an EmotionControl into a
converted waveform at the same rate. Loading, validation and writing live in ``promptevc.api``;
engines do no file I/O on audio.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from promptevc.config import AudioConfig
from promptevc.errors import ConfigError
from promptevc.prompt.control import EmotionControl

# name -> "module:Class". Imported lazily so that `promptevc convert` with the prosody engine
# never pays for torch or the neural model code.
ENGINES: dict[str, str] = {
    "prosody": "promptevc.engines.prosody:ProsodyEngine",
    "neural": "promptevc.engines.neural:NeuralEngine",
}


class Engine:
    """Base class: ``convert(wav (T,), control) -> wav (T',)`` at ``audio.sample_rate``."""

    name: str = "base"
    audio: AudioConfig

    def __init__(self, audio: AudioConfig | None = None) -> None:
        self.audio = audio or AudioConfig()

    def convert(
        self,
        wav: np.ndarray,
        control: EmotionControl,
        *,
        ref_wav: np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """Convert ``wav`` (T,) float32 at ``audio.sample_rate``; returns (T',) float32.

        ``ref_wav`` (T_ref,) is an optional emotion reference at the same rate (engines that do
        not use one ignore it); ``seed`` makes stochastic engines reproducible.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sample_rate={self.audio.sample_rate})"


def engine_class(name: str) -> type:
    """Import and return the engine class registered under ``name``."""
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    module_name, cls_name = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def load_engine(name: str, **kwargs: Any) -> Engine:
    """Build an engine by name. Keyword arguments go to the engine's ``load`` classmethod.

    ``prosody``: ``audio``, ``policy`` (model/vocoder/device are ignored: nothing to load).
    ``neural``: ``model`` (release folder or repo id, required), ``vocoder``, ``device``, ``audio``.
    """
    cls = engine_class(name)
    loader = getattr(cls, "load", None)
    return loader(**kwargs) if loader is not None else cls(**kwargs)
