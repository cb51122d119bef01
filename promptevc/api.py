"""Python API: ``Converter.load(engine=...)`` then ``.convert(wav, sample_rate, prompt=...)``.

Example::

    from promptevc import Converter
    conv = Converter.load()                       # embedded prosody engine, nothing to download
    out, sr = conv.convert(wav, 44100, prompt="slightly sad")
    conv.convert_file("in.wav", "out.wav", prompt="very happy")

The converter owns the shared front and back (DESIGN §1): input validation and resampling
(``promptevc.audio``), prompt understanding (``promptevc.prompt``), output writing. Engines only
map (16 kHz waveform, EmotionControl) to a waveform.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from promptevc.audio import check_output_path, load_audio, prepare_waveform, write_audio
from promptevc.config import AudioConfig, InputConfig
from promptevc.engines.base import ENGINES, Engine, load_engine
from promptevc.errors import ConfigError, PromptError
from promptevc.prompt.control import EmotionControl

log = logging.getLogger(__name__)


class Converter:
    """Prompt-controlled emotional voice conversion with one engine."""

    def __init__(self, engine: Engine, policy: InputConfig | None = None) -> None:
        self.engine = engine
        self.policy = policy or InputConfig()
        self._parser = None

    @property
    def audio(self) -> AudioConfig:
        return self.engine.audio

    @property
    def sample_rate(self) -> int:
        return self.engine.audio.sample_rate

    @classmethod
    def load(
        cls,
        engine: str = "prosody",
        model: str | None = None,
        vocoder: str | None = None,
        device: str = "auto",
        audio: AudioConfig | None = None,
        policy: InputConfig | None = None,
    ) -> Converter:
        """Build a converter.

        ``engine="prosody"`` (default) needs nothing else. ``engine="neural"`` needs ``model``: a
        release folder or Hugging Face repo id; ``vocoder`` overrides the release's vocoder;
        ``device`` is a torch device or "auto".
        """
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        policy = policy or InputConfig()
        if engine == "prosody":
            if model is not None:
                raise ConfigError(f"--model {model} needs --engine neural (the prosody engine has no model)")
            if vocoder is not None:
                raise ConfigError(f"--vocoder {vocoder} needs --engine neural (the prosody engine has no vocoder)")
            eng = load_engine("prosody", audio=audio, policy=policy)
        else:
            if not model:
                raise ConfigError(f"--engine {engine} needs --model RELEASE (a release folder or repo id)")
            eng = load_engine(engine, model=model, vocoder=vocoder, device=device, audio=audio)
        return cls(eng, policy)

    # ----------------------------------------------------------------------------------------
    # Prompt understanding
    # ----------------------------------------------------------------------------------------

    def describe(self, prompt: str) -> EmotionControl:
        """How ``prompt`` is understood (the zero-shot parser; loaded on first use)."""
        if prompt is None or not str(prompt).strip():
            raise PromptError("the prompt is empty; describe the emotion, e.g. --prompt \"slightly sad\"")
        if self._parser is None:
            from promptevc.prompt.parser import get_parser  # lazy: loads the sentence encoder

            self._parser = get_parser()
        return self._parser.parse(prompt)

    def control(
        self,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
    ) -> EmotionControl:
        """EmotionControl from a prompt and/or explicit ``emotion`` / ``intensity`` (which win).

        Without a prompt, ``emotion`` is required; intensity then defaults to 0.5.
        """
        if prompt is not None and str(prompt).strip():
            ctrl = self.describe(prompt)
        elif emotion is not None:
            ctrl = EmotionControl.from_label(emotion, intensity=0.5 if intensity is None else intensity)
        elif prompt is not None:
            raise PromptError("the prompt is empty; describe the emotion, e.g. --prompt \"slightly sad\"")
        else:
            raise PromptError("give a prompt (--prompt \"slightly sad\") or an emotion (--emotion sad)")
        if intensity is not None and not 0.0 <= float(intensity) <= 1.0:
            raise PromptError(f"intensity {intensity} is outside [0, 1]")
        return ctrl.with_overrides(emotion=emotion, intensity=intensity)

    # ----------------------------------------------------------------------------------------
    # Conversion
    # ----------------------------------------------------------------------------------------

    def convert(
        self,
        wav: np.ndarray,
        sample_rate: int,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        control: EmotionControl | None = None,
        ref_wav: np.ndarray | None = None,
        ref_sample_rate: int | None = None,
        seed: int | None = None,
        name: str = "input",
    ) -> tuple[np.ndarray, int]:
        """Convert ``wav`` ((T,) or (T, C), any rate, int or float) -> ``(wav (T',), sample_rate)``.

        The input is validated with the converter's InputConfig and resampled to the engine's
        rate; the output is at ``self.sample_rate``. ``control`` (already parsed) replaces
        prompt/emotion/intensity. ``ref_wav`` (at ``ref_sample_rate``, default ``sample_rate``)
        is passed to engines that use an emotion reference.
        """
        ctrl = control if control is not None else self.control(prompt, emotion=emotion, intensity=intensity)
        x = prepare_waveform(wav, sample_rate, self.audio, self.policy, name=name)
        ref = None
        if ref_wav is not None:
            ref = prepare_waveform(ref_wav, ref_sample_rate or sample_rate, self.audio, self.policy, name="reference")
        y = self.engine.convert(x, ctrl, ref_wav=ref, seed=seed)
        return np.asarray(y, dtype=np.float32), self.sample_rate

    def convert_file(
        self,
        in_path: str | Path,
        out_path: str | Path,
        prompt: str | None = None,
        *,
        emotion: str | None = None,
        intensity: float | None = None,
        control: EmotionControl | None = None,
        ref_path: str | Path | None = None,
        seed: int | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Convert one file and write ``out_path`` atomically; returns the output path.

        The input is never overwritten and an existing output is kept unless ``overwrite``.
        """
        out = check_output_path(out_path, [in_path], overwrite=overwrite)
        ctrl = control if control is not None else self.control(prompt, emotion=emotion, intensity=intensity)
        x = load_audio(in_path, self.audio, self.policy)
        ref = load_audio(ref_path, self.audio, self.policy) if ref_path is not None else None
        y = self.engine.convert(x, ctrl, ref_wav=ref, seed=seed)
        return write_audio(out, y, self.sample_rate, overwrite=overwrite)
