"""The engine interface shared by the prosody (embedded) and neural (trained release) engines.

The :class:`~promptevc.api.Converter` owns the front and the back of every conversion (DESIGN
§1-2): header checks, streaming block reads, chunking at pauses, resampling to and from the
engine's working rate, peak handling and output writing. An engine only converts chunks, through
an :class:`EngineSession` that holds one plan for the whole input:

1. ``session = engine.start(control, sample_rate=..., num_channels=..., ref_wav=..., seed=...)``
   with ``sample_rate = engine.working_rate(input_rate)``;
2. if ``session.needs_analysis``: ``session.observe(block)`` for every block of the whole input,
   in order (pass 1: whole-input statistics such as the F0 centre, pause level, speaker embedding;
   memory must stay bounded by the block, so accumulate statistics, never samples);
3. ``session.convert(chunk)`` for every chunk, in order (pass 2); the converter cuts chunks at
   pauses and cross-fades their outputs;
4. ``session.identity`` True means the plan changes nothing: the converter then passes the
   input samples through unchanged (intensity 0 is the exact input).

Arrays are float32, shaped ``(T, C)``: ``C`` = ``num_channels`` for engines with
``multichannel = True`` (one plan applied to every channel, so they stay in sync), else 1 (the
converter mixes down first). Engines do no file I/O on audio.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from promptevc.config import AudioConfig
from promptevc.errors import ConfigError
from promptevc.prompt.control import EMOTIONS, EmotionControl, unknown_emotion_warning

# name -> "module:Class". Imported lazily so that `promptevc convert` with the prosody engine
# never pays for torch or the neural model code.
ENGINES: dict[str, str] = {
    "prosody": "promptevc.engines.prosody:ProsodyEngine",
    "neural": "promptevc.engines.neural:NeuralEngine",
}


class EngineSession:
    """One input converted chunk by chunk with one plan (see the module docstring)."""

    #: True when the session wants pass 1 (``observe``) over the whole input before ``convert``.
    needs_analysis: bool = False
    #: True when the plan leaves the input unchanged; the converter then copies the input.
    identity: bool = False

    def __init__(self, sample_rate: int, num_channels: int = 1) -> None:
        self.sample_rate = int(sample_rate)
        self.num_channels = int(num_channels)

    def observe(self, block: np.ndarray) -> None:
        """Pass 1: accumulate whole-input statistics from ``block`` (T, C). Default: nothing."""

    def convert(self, chunk: np.ndarray) -> np.ndarray:
        """Pass 2: convert ``chunk`` (T, C) float32 -> (T', C) float32 at ``sample_rate``."""
        raise NotImplementedError

    def summary(self) -> str:
        """One log line saying what the plan does."""
        return type(self).__name__


class Engine:
    """Base class: ``start(control, ...) -> EngineSession``; ``convert`` is a whole-array shortcut."""

    name: str = "base"
    audio: AudioConfig
    #: True: sessions take (T, C) with the input's channels; False: the converter mixes to mono.
    multichannel: bool = False
    #: Emotion labels this engine renders; others are rendered as ``control.probs`` (ESD's five).
    emotions: tuple[str, ...] = EMOTIONS

    def __init__(self, audio: AudioConfig | None = None) -> None:
        self.audio = audio or AudioConfig()

    def working_rate(self, input_rate: int) -> int:
        """Sample rate at which this engine converts an input recorded at ``input_rate``.

        Default: the models' rate (``audio.sample_rate``). The prosody engine works at the input's
        own rate (within the supported range).
        """
        return self.audio.sample_rate

    def emotion_warning(self, control: EmotionControl) -> str | None:
        """One warning line when ``control`` names an emotion this engine does not know, else None.

        The Converter logs it (CLI, API) and the demo shows it: the engine then renders the
        documented nearest emotion (``promptevc.prompt.control.NEAREST_ESD``).
        """
        return unknown_emotion_warning(control, self.name, self.emotions)

    def start(
        self,
        control: EmotionControl,
        *,
        sample_rate: int,
        num_channels: int = 1,
        ref_wav: np.ndarray | None = None,
        seed: int | None = None,
    ) -> EngineSession:
        """Begin converting one input at ``sample_rate`` (= ``working_rate(input rate)``).

        ``ref_wav`` (T_ref,) mono float32 at ``sample_rate`` is an optional emotion reference
        (engines that do not use one say so in a warning); ``seed`` makes stochastic engines
        reproducible.
        """
        raise NotImplementedError

    def convert(
        self,
        wav: np.ndarray,
        control: EmotionControl,
        *,
        sample_rate: int | None = None,
        ref_wav: np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """Convert a whole array in one chunk: ``wav`` (T,) or (T, C) float32 -> same layout.

        For tests and benches; real conversions go through the Converter (chunking, peaks).
        ``sample_rate`` defaults to ``audio.sample_rate`` and must be a working rate.
        """
        x = np.asarray(wav, dtype=np.float32)
        mono = x.ndim == 1
        x2 = x[:, None] if mono else x
        sr = self.audio.sample_rate if sample_rate is None else int(sample_rate)
        session = self.start(control, sample_rate=sr, num_channels=x2.shape[1], ref_wav=ref_wav, seed=seed)
        if session.identity:
            return x.copy()
        if session.needs_analysis:
            session.observe(x2)
        y = session.convert(x2)
        return y[:, 0] if mono else y

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
