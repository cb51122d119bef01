"""Offline speech recognisers for content preservation (WER/CER).

- ``pocketsphinx`` (default): CMU PocketSphinx 5 through its Python API with the US English
  acoustic model, dictionary and language model bundled in the wheel; no download, CPU only.
  Its accuracy on expressive or synthetic speech is modest, so compare WERs of systems measured
  the same way rather than reading them as absolute.
- any other name is a transformers ``automatic-speech-recognition`` model id or local folder
  (e.g. ``openai/whisper-small``), resolved through the Hugging Face cache (offline honoured).
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from promptevc.errors import ModelLoadError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class Recognizer(Protocol):
    """``transcribe(wav (T,) float 16 kHz) -> text``."""

    name: str

    def transcribe(self, wav: np.ndarray) -> str: ...


class PocketSphinxRecognizer:
    """PocketSphinx with its bundled US English model."""

    name = "pocketsphinx"

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


class TransformersRecognizer:
    """A transformers ASR pipeline (model id or local folder)."""

    def __init__(self, model_id: str, device: str = "cpu") -> None:
        self.name = model_id
        try:
            from transformers import pipeline

            self._pipe = pipeline("automatic-speech-recognition", model=model_id, device=device)
        except (OSError, ValueError, ImportError) as exc:
            first = str(exc).strip().split("\n")[0]
            raise ModelLoadError(
                f"ASR model {model_id!r} cannot be loaded ({first}); give a local folder or download it "
                "first with network access (huggingface-cli download ID), or use --asr pocketsphinx"
            ) from exc

    def transcribe(self, wav: np.ndarray) -> str:
        out = self._pipe({"raw": np.asarray(wav, dtype=np.float32), "sampling_rate": SAMPLE_RATE})
        return str(out.get("text", "")).strip() if isinstance(out, dict) else str(out)


def load_recognizer(name: str = "pocketsphinx", device: str = "cpu") -> Recognizer:
    """``pocketsphinx`` or a transformers ASR model id / folder."""
    if name == "pocketsphinx":
        return PocketSphinxRecognizer()
    return TransformersRecognizer(name, device=device)
