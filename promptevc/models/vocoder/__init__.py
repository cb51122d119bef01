"""Vocoders: log-mel (B, n_mels, F) -> waveform (B, F * hop), loaded by name (DESIGN §5).

- :class:`Vocoder` — the interface (``audio_config``, ``__call__(mel) -> wav``).
- :mod:`.hifigan` — our HiFi-GAN generator (V1/V2/V3); official checkpoints and our releases.
- :mod:`.speecht5` — transformers' SpeechT5HifiGan (``microsoft/speecht5_hifigan``, the default).
- :mod:`.griffinlim` — Griffin-Lim, only when asked for by name, for debugging.

:func:`load_vocoder` takes a local folder or file, or a Hugging Face repo id, and works out
the format from the files present.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from promptevc.config import AudioConfig, check_audio_compatible
from promptevc.errors import ConfigError, ModelLoadError

if TYPE_CHECKING:
    from promptevc.models.vocoder.base import Vocoder

log = logging.getLogger(__name__)

# The toolkit's default: a public 16 kHz HiFi-GAN trained on exactly our default AudioConfig
# (SpeechT5's log10 Slaney mels, 80-7600 Hz, hop 256), so the acoustic model's mels need no
# conversion and no fine-tuning to be heard.
DEFAULT_VOCODER = "microsoft/speecht5_hifigan"
GRIFFIN_LIM = "griffin-lim"

VocoderKind = Literal["release", "hifigan", "speecht5", "griffin-lim"]
_KINDS = ("release", "hifigan", "speecht5", "griffin-lim")
# File names an official HiFi-GAN generator checkpoint goes by (g_02500000, generator_v1 ...).
_GENERATOR_PREFIXES = ("g_", "generator")

__all__ = [
    "DEFAULT_VOCODER",
    "GRIFFIN_LIM",
    "Vocoder",
    "check_vocoder_compatible",
    "detect_vocoder_kind",
    "load_vocoder",
]


def __getattr__(name: str) -> Any:
    # ``Vocoder`` is imported lazily so that the CLI can read DEFAULT_VOCODER without torch.
    if name == "Vocoder":
        from promptevc.models.vocoder.base import Vocoder

        return Vocoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{path}: cannot read JSON ({err})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    return data


def _is_transformers_config(data: dict) -> bool:
    return data.get("model_type") == "hifigan" or "SpeechT5HifiGan" in (data.get("architectures") or [])


def _find_generator_file(folder: Path) -> Path:
    """The single official generator checkpoint in ``folder`` (g_*, generator*)."""
    found = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.name.lower().startswith(_GENERATOR_PREFIXES) and p.suffix not in (".json", ".yaml", ".md")
    )
    if not found:
        raise ModelLoadError(
            f"{folder}: has a HiFi-GAN config.json but no generator file (g_XXXXXXXX or generator*); "
            "pass the generator file itself"
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:4])
        raise ModelLoadError(f"{folder}: several generator files ({names}); pass the one to use as a file path")
    return found[0]


def detect_vocoder_kind(path: Path) -> VocoderKind:
    """Which format the local ``path`` holds: our release, official HiFi-GAN or transformers."""
    if path.is_file():
        if path.name == "config.json" or (path.parent / "meta.json").exists():
            return detect_vocoder_kind(path.parent)
        return "hifigan"  # a generator checkpoint with config.json beside it
    if (path / "meta.json").exists():
        return "release"
    config = path / "config.json"
    if config.exists():
        data = _read_json(config)
        if _is_transformers_config(data):
            return "speecht5"
        if "upsample_rates" in data and "resblock" in data:
            return "hifigan"
        raise ModelLoadError(f"{config}: neither a HiFi-GAN config nor a transformers SpeechT5HifiGan config")
    raise ModelLoadError(
        f"{path}: not a vocoder folder (expected meta.json of a promptevc release, or config.json of a "
        "HiFi-GAN / transformers SpeechT5HifiGan model)"
    )


def load_vocoder(
    name_or_path: str | os.PathLike = DEFAULT_VOCODER,
    *,
    revision: str | None = None,
    device: str = "cpu",
    kind: VocoderKind | None = None,
    audio_config: AudioConfig | None = None,
) -> Vocoder:
    """Load a vocoder by local path or Hugging Face repo id, in eval mode on ``device``.

    ``name_or_path``: a promptevc vocoder release folder; an official HiFi-GAN folder
    (``config.json`` + ``g_*``/``generator*`` file) or generator file with ``config.json``
    beside it; a transformers SpeechT5HifiGan folder; a repo id holding any of these
    (resolved through huggingface_hub: cache, ``revision``, ``HF_HUB_OFFLINE``); or
    ``"griffin-lim"`` (debugging only). ``kind`` forces the format instead of detecting it.
    ``audio_config`` only applies to Griffin-Lim, which has no weights and so can follow any
    AudioConfig (default: ``AudioConfig()``); trained vocoders carry their own.
    """
    name = str(name_or_path)
    if kind is not None and kind not in _KINDS:
        raise ModelLoadError(f"unknown vocoder kind {kind!r}; choose one of {', '.join(_KINDS)}")
    if name == GRIFFIN_LIM or kind == "griffin-lim":
        from promptevc.models.vocoder.griffinlim import GriffinLimVocoder

        log.warning("using the Griffin-Lim vocoder: for debugging only, the audio will sound phasey")
        return GriffinLimVocoder(audio_config).to(device)

    from promptevc.hub import resolve_path

    path = resolve_path(name, revision=revision, kind="vocoder")
    kind = kind or detect_vocoder_kind(path)
    log.info("loading %s vocoder from %s", kind, path)
    if kind == "release":
        from promptevc.models.vocoder.hifigan import HiFiGANVocoder
        from promptevc.release import read_release

        folder = path.parent if path.is_file() else path
        vocoder = HiFiGANVocoder.from_release(read_release(folder, kind="vocoder"))
    elif kind == "hifigan":
        from promptevc.models.vocoder.hifigan import HiFiGANVocoder

        if path.is_file():
            config, generator = path.parent / "config.json", path
            if not config.exists():
                raise ModelLoadError(f"{path}: an official HiFi-GAN generator needs config.json beside it")
        else:
            config, generator = path / "config.json", _find_generator_file(path)
        vocoder = HiFiGANVocoder.from_official(config, generator)
    else:
        from promptevc.models.vocoder.speecht5 import SpeechT5Vocoder

        vocoder = SpeechT5Vocoder.from_pretrained(path.parent if path.is_file() else path, name=name)
    vocoder.name = name
    return vocoder.to(device).eval()


def check_vocoder_compatible(
    model_audio: AudioConfig, vocoder: Vocoder, model_name: str = "acoustic model"
) -> None:
    """Raise ConfigError naming both sides when the vocoder expects other mels than the model makes."""
    try:
        check_audio_compatible(model_audio, vocoder.audio_config, model_name, "vocoder")
    except ConfigError as err:
        raise ConfigError(f"{err} (vocoder: {vocoder.name})") from None
