"""The conversion tab's logic, written against the public API (``from promptevc import Converter``).

:class:`ConversionService` loads converters lazily (one per engine/model, cached), reads the
uploaded or recorded file under the demo's input policy, converts, and draws the pitch/energy
plot. Every user-caused failure comes back as a readable message for the page, never a
traceback.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.errors import PromptError, PromptEVCError

log = logging.getLogger(__name__)

ENGINES = ("prosody", "neural")
#: Uploads with more channels are refused from the header; the rest are mixed to mono.
MAX_CHANNELS = 8
#: Uploads above this rate are resampled to it (what the prosody engine works at, at most).
MAX_RATE = 48000
EXAMPLE_PROMPTS = (
    "make it sound a little sad",
    "very angry, and a bit louder",
    "happy and excited, slightly faster",
    "surprised!",
    "calm and neutral",
)
# Loader signature: (engine, model, vocoder, device) -> an object with Converter's interface.
ConverterLoader = Callable[[str, "str | None", "str | None", str], Any]


def load_public_converter(engine: str, model: str | None, vocoder: str | None, device: str) -> Any:
    """Default loader: :meth:`promptevc.Converter.load` (imported lazily; it pulls in torch)."""
    from promptevc import Converter

    return Converter.load(engine=engine, model=model, vocoder=vocoder, device=device)


@dataclasses.dataclass
class ConvertResult:
    """What the page shows: ``audio`` is ``(sample_rate, int16 (T,))`` or None on error."""

    audio: tuple[int, np.ndarray] | None
    plot: str | None
    parse: str
    message: str
    ok: bool


def to_int16(wav: np.ndarray) -> np.ndarray:
    """float waveform (T,) in [-1, 1] → int16 (T,), what the browser's audio player gets."""
    return (np.clip(np.nan_to_num(np.asarray(wav, dtype=np.float32)), -1.0, 1.0) * 32767).astype(np.int16)


class ConversionService:
    """Converters per (engine, model), the input policy, and the convert/describe handlers."""

    def __init__(
        self,
        models: Sequence[str] = (),
        vocoder: str | None = None,
        device: str = "auto",
        max_seconds: float = 60.0,
        work_dir: str | Path | None = None,
        loader: ConverterLoader | None = None,
    ):
        self.models = list(models)
        self.vocoder = vocoder
        self.device = device
        self.max_seconds = float(max_seconds)
        # Plots and exports live here; 0700, so other users of the machine cannot read them.
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="promptevc-demo-"))
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._loader = loader or load_public_converter
        self._converters: dict[tuple[str, str | None], Any] = {}
        # Gradio runs handlers in worker threads; loading the same model twice would waste memory.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Remove the work folder if this service made it (plots of people's recordings)."""
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    @property
    def engines(self) -> list[str]:
        """The neural engine is offered only when a release was given (--model)."""
        return ["prosody", "neural"] if self.models else ["prosody"]

    def converter(self, engine: str, model: str | None) -> Any:
        if engine not in self.engines:
            raise PromptEVCError(f"engine {engine!r} is not available; choose {', '.join(self.engines)}"
                                 + ("" if self.models else " (start the demo with --model for 'neural')"))
        if engine == "neural":
            model = model or self.models[0]
            if model not in self.models:
                raise PromptEVCError(f"model {model!r} was not offered; choose {', '.join(self.models)}")
        else:
            model = None
        key = (engine, model)
        with self._lock:
            if key not in self._converters:
                log.info("loading %s converter %s", engine, model or "")
                self._converters[key] = self._loader(engine, model, self.vocoder if engine == "neural" else None,
                                                     self.device)
            return self._converters[key]

    def describe(
        self, prompt: str, intensity_from_prompt: bool = True, intensity: float | None = None,
        engine: str = "prosody", model: str | None = None,
    ) -> str:
        """The parse of ``prompt`` as one line, e.g. ``sad, intensity 0.30 (...)``; errors as text."""
        try:
            control = self._control(prompt, intensity_from_prompt, intensity, engine, model)
            return "\n".join([control.summary(), *(f"Warning: {w}" for w in self.warnings(control, engine, model))])
        except PromptError as err:
            return f"Cannot read the prompt: {err}"
        except PromptEVCError as err:  # e.g. the neural release failed to load
            return f"Error: {err}"

    def warnings(self, control: Any, engine: str, model: str | None) -> list[str]:
        """The parser's warnings and the engine's (an emotion it does not know), one line each."""
        lines = list(control.warnings)
        eng = getattr(self.converter(engine, model), "engine", None)
        warning = eng.emotion_warning(control) if hasattr(eng, "emotion_warning") else None
        return lines + ([warning] if warning and warning not in lines else [])

    def _control(self, prompt: str, intensity_from_prompt: bool, intensity: float | None,
                 engine: str, model: str | None) -> Any:
        prompt = (prompt or "").strip()
        if not prompt:
            raise PromptError("type a prompt, e.g. 'make it sound a little sad'")
        control = self.converter(engine, model).describe(prompt)
        if not intensity_from_prompt and intensity is not None:
            control = control.with_overrides(intensity=float(intensity))
        return control

    def read_input(self, audio_path: str | Path | None) -> tuple[np.ndarray, int]:
        """Read the upload/recording under the demo policy; ``(wav (T,) float32, sample_rate)``.

        The header is checked before any sample is decoded (length, rate, at most
        :data:`MAX_CHANNELS` channels), so a small file declaring hours of audio is refused at
        once; the audio is then streamed into a mono array at its own rate (at most 48 kHz).
        """
        from promptevc.audio import FileSource, read_mono
        from promptevc.config import InputConfig
        from promptevc.errors import AudioError

        if not audio_path:
            raise AudioError("no audio yet: upload a file or record one")
        policy = InputConfig(max_seconds=self.max_seconds, max_channels=MAX_CHANNELS)
        try:
            source = FileSource(audio_path, policy)
            rate = min(source.info.sample_rate, MAX_RATE)
            wav = read_mono(source, rate, policy)
        except AudioError as err:
            # The server-side temp path means nothing to the user; name the file by its base name.
            raise AudioError(str(err).replace(str(audio_path), Path(audio_path).name)) from None
        return wav, rate

    def convert(
        self,
        audio_path: str | Path | None,
        prompt: str,
        intensity_from_prompt: bool = True,
        intensity: float | None = 0.5,
        engine: str = "prosody",
        model: str | None = None,
        seed: float | None = 0,
    ) -> ConvertResult:
        """Convert one input; the result carries either audio + plot or a readable error message."""
        parse = ""
        try:
            wav, sr = self.read_input(audio_path)
            control = self._control(prompt, intensity_from_prompt, intensity, engine, model)
            parse = control.summary()
            conv = self.converter(engine, model)
            out, out_sr = conv.convert(
                wav, sr, prompt=prompt.strip(),
                intensity=None if intensity_from_prompt else float(intensity if intensity is not None else 0.5),
                seed=None if seed is None else int(seed),
            )
            out = np.asarray(out, dtype=np.float32).reshape(-1)
            plot = self._plot(wav, sr, out, int(out_sr), parse)
        except PromptEVCError as err:
            return ConvertResult(None, None, parse, f"**Error:** {err}", ok=False)
        except MemoryError:
            log.warning("out of memory converting an upload")
            return ConvertResult(None, None, parse, "**Error:** the server ran out of memory converting this "
                                 "recording; try a shorter one", ok=False)
        seconds = len(out) / out_sr
        message = f"Converted {len(wav) / sr:.2f} s of audio with the {engine} engine ({seconds:.2f} s out)."
        warnings = self.warnings(control, engine, model)
        if warnings:
            message += "".join(f"\n\n**Warning:** {w}" for w in warnings)
        return ConvertResult((int(out_sr), to_int16(out)), plot, parse, message, ok=True)

    def _plot(self, before: np.ndarray, before_sr: int, after: np.ndarray, after_sr: int, title: str) -> str:
        from promptevc.demo.plots import plot_prosody

        path = self.work_dir / f"prosody-{uuid.uuid4().hex[:12]}.png"
        return str(plot_prosody(before, before_sr, after, after_sr, path, title=title))
