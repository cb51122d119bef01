"""Generator architectures by name, and the vocoder release format that names one.

Training configs and releases say ``architecture: hifigan`` or ``architecture: vocos`` plus a
``generator:`` mapping of that architecture's config dataclass; this registry turns the pair
into a module (no import paths in configs). Every registered generator maps
mel (B, n_mels, F) -> wav (B, 1, F * hop), exposes ``config``, ``hop_length`` and ``n_mels``,
and is built from (config, AudioConfig) by ``for_audio``.

A vocoder release (``promptevc export`` of a train-vocoder run) is ``config.yaml`` =
``{architecture, generator}``, ``model.safetensors`` = the generator's plain weights (weight norm
folded) and ``meta.json`` with the AudioConfig; loading is strict.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from torch import nn

from promptevc.config import AudioConfig, from_dict, to_dict
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.vocoder.base import GeneratorVocoder
from promptevc.models.vocoder.hifigan import HiFiGANConfig, HiFiGANGenerator, HiFiGANVocoder, fold_weight_norm
from promptevc.models.vocoder.vocos import VocosConfig, VocosGenerator


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """One registered architecture."""

    config_class: type
    generator_class: type[nn.Module]
    # Trained with weight norm on every conv (folded into plain weights for a release).
    weight_norm: bool
    description: str


GENERATORS: dict[str, GeneratorSpec] = {
    "hifigan": GeneratorSpec(HiFiGANConfig, HiFiGANGenerator, True,
                             "HiFi-GAN (Kong et al. 2020): transposed-conv upsampler + multi-receptive-field fusion"),
    "vocos": GeneratorSpec(VocosConfig, VocosGenerator, False,
                           "Vocos (Siuzdak 2023): ConvNeXt at the frame rate + inverse-STFT head"),
}


def generator_spec(architecture: str) -> GeneratorSpec:
    if architecture not in GENERATORS:
        raise ConfigError(f"unknown vocoder architecture {architecture!r}; choose {', '.join(GENERATORS)}")
    return GENERATORS[architecture]


def parse_generator_config(architecture: str, data: Any, prefix: str = "generator") -> Any:
    """The config dataclass of ``architecture`` from a mapping (strict) or an instance of it."""
    spec = generator_spec(architecture)
    if isinstance(data, spec.config_class):
        return data
    if dataclasses.is_dataclass(data):
        raise ConfigError(f"{prefix}: a {type(data).__name__} does not configure architecture {architecture!r}")
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{prefix}: expected a mapping of {spec.config_class.__name__} settings")
    return from_dict(spec.config_class, data, prefix=prefix)


def architecture_of(generator: nn.Module) -> str:
    for name, spec in GENERATORS.items():
        if type(generator) is spec.generator_class:
            return name
    raise ConfigError(f"{type(generator).__name__} is not a registered vocoder generator")


def build_generator(architecture: str, config: Any, audio: AudioConfig) -> nn.Module:
    """A freshly initialised generator of ``architecture`` for mels of ``audio``."""
    spec = generator_spec(architecture)
    config = parse_generator_config(architecture, config)
    if config.hop_length != audio.hop_length:
        raise ConfigError(
            f"the {architecture} generator's hop ({config.hop_length}) must equal audio.hop_length "
            f"({audio.hop_length})"
        )
    return spec.generator_class.for_audio(config, audio)


def plain_state_dict(generator: nn.Module) -> dict[str, Any]:
    """The generator's weights with any weight-norm pairs folded into plain ``weight`` tensors."""
    return fold_weight_norm(generator.state_dict())


# --------------------------------------------------------------------------------------------
# Releases
# --------------------------------------------------------------------------------------------


def parse_release(config: dict[str, Any], meta: dict[str, Any], source: str) -> tuple[str, Any, AudioConfig]:
    """(architecture, generator config, AudioConfig) of a vocoder release, strictly parsed."""
    if "audio" not in meta:
        raise ModelLoadError(f"{source}: meta.json of the vocoder release has no 'audio' settings")
    unknown = sorted(set(config) - {"architecture", "generator"})
    if unknown:
        raise ModelLoadError(f"{source}: unknown key {unknown[0]!r} in the vocoder release config "
                             "(expected architecture, generator)")
    architecture = config.get("architecture", "hifigan")
    try:
        if not isinstance(architecture, str):
            raise ConfigError(f"architecture: expected a name, got {type(architecture).__name__}")
        generator = parse_generator_config(architecture, config.get("generator"))
        audio = from_dict(AudioConfig, meta["audio"], prefix="audio")
    except ConfigError as err:
        raise ModelLoadError(f"{source}: invalid vocoder release ({err})") from None
    if generator.hop_length != audio.hop_length:
        raise ModelLoadError(f"{source}: generator hop {generator.hop_length} differs from audio hop "
                             f"{audio.hop_length}")
    return architecture, generator, audio


def release_contents(architecture: str, generator: Any, audio: AudioConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config.yaml dict, meta.json additions) describing a generator for write_release."""
    config = {"architecture": architecture, "generator": to_dict(parse_generator_config(architecture, generator))}
    return config, {"architecture": architecture, "audio": to_dict(audio)}


def write_vocoder_release(
    out_dir: str | Path, generator: nn.Module, audio: AudioConfig, meta: dict[str, Any] | None = None
) -> Path:
    """Write a generator-only vocoder release of any registered generator to ``out_dir``."""
    from promptevc.release import write_release

    architecture = architecture_of(generator)
    if generator.hop_length != audio.hop_length or generator.n_mels != audio.n_mels:
        raise ConfigError(
            f"generator (hop {generator.hop_length}, {generator.n_mels} mels) does not fit the audio config "
            f"(hop {audio.hop_length}, {audio.n_mels} mels)"
        )
    config, release_meta = release_contents(architecture, generator.config, audio)
    return write_release(out_dir, kind="vocoder", config=config, tensors=plain_state_dict(generator),
                         meta=release_meta | (meta or {}))


def vocoder_from_release(release: Any) -> GeneratorVocoder:
    """The vocoder of a :class:`promptevc.release.Release` of kind ``vocoder`` (strict keys)."""
    from promptevc.release import load_state_strict

    name = str(release.path)
    architecture, config, audio = parse_release(release.config, release.meta, name)
    if architecture == "hifigan":
        return HiFiGANVocoder.from_generator_state(config, audio, release.state_dict, name=name)
    generator = build_generator(architecture, config, audio)
    load_state_strict(generator, release.state_dict, name)
    return GeneratorVocoder(generator, audio, name=name)
