"""Configuration: dataclasses, strict YAML load/save and dotted overrides.

Every concern has one dataclass. Loading is strict: an unknown key or a value of the wrong
type is a :class:`~promptevc.errors.ConfigError` naming the dotted key. Overrides use the same
path syntax as the CLI: ``--set model.decoder.channels=64``.

:class:`AudioConfig` is the single owner of sample rate and mel settings (DESIGN §2).
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from promptevc.errors import ConfigError, PromptEVCError, clip, describe_os_error, one_line, short

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Generic machinery
# --------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it converted (strictly)."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{key}: {short(value)} is not a valid {_type_name(tp)}")
    if origin is Literal:
        if value not in get_args(tp):
            choices = ", ".join(repr(a) for a in get_args(tp))
            raise ConfigError(f"{key}: {short(value)} is not one of {choices}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for {tp.__name__}, got {short(value)}")
        return from_dict(tp, value, prefix=key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {short(value)}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item_tp = args[0] if args else Any
        items = [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {short(value)}")
        k_tp, v_tp = get_args(tp) or (Any, Any)
        return {
            _coerce(k, k_tp, f"{key}.{k}"): _coerce(v, v_tp, f"{key}.{k}") for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {short(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {short(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {short(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {short(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {short(value)}")
        return value
    raise ConfigError(f"{key}: unsupported config type {_type_name(tp)}")  # pragma: no cover


def from_dict(cls: type[T], data: dict[str, Any] | None, prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError."""
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected a mapping, got {short(data)}")
    data = dict(data or {})
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted((k for k in data if k not in names), key=str)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"unknown config key {where}{clip(unknown[0], 60)} for {cls.__name__}; "
            f"valid keys: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _coerce(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{prefix or cls.__name__}: {one_line(str(err), 200)}") from None
    return obj


def to_dict(obj: Any) -> Any:
    """Plain-python (YAML-safe) form of a config dataclass."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------------------------
# Untrusted text: YAML and JSON from releases are loaded with limits
# --------------------------------------------------------------------------------------------

#: Largest config / metadata file read (a release's config.yaml is a few kB).
MAX_TEXT_BYTES = 1 << 20
#: Most YAML nodes a document may hold once aliases are expanded (an alias bomb holds billions).
MAX_YAML_NODES = 100_000


def read_text_file(path: str | Path, what: str = "config", max_bytes: int = MAX_TEXT_BYTES,
                   error: type[PromptEVCError] = ConfigError) -> str:
    """UTF-8 text of a regular file of at most ``max_bytes``; ``error`` (one line) otherwise.

    FIFOs and devices are refused without being opened (reading one would block or never end).
    """
    path = Path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: the {what} is not a regular file")
        if st.st_size > max_bytes:
            raise error(f"{path}: the {what} is {st.st_size} bytes; at most {max_bytes} are read")
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as err:
        raise error(f"cannot read {what} ({describe_os_error(err, path)})") from None
    if len(raw) > max_bytes:
        raise error(f"{path}: the {what} is over {max_bytes} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{path}: the {what} is not valid UTF-8 text (byte {err.start})") from None


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose alias expansion exceeds :data:`MAX_YAML_NODES`."""

    def compose_document(self):  # type: ignore[override]
        node = super().compose_document()
        _check_expansion(node, MAX_YAML_NODES)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node, limit: int) -> None:
    """Size of ``root`` with every alias expanded (iterative, memoised); ConfigError past ``limit``."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > limit:
                raise ConfigError(f"more than {limit} values once its aliases are expanded (an alias bomb?)")
            sizes[nid] = total
            continue
        if nid in sizes:
            continue
        on_path.add(nid)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise ConfigError("a recursive alias (a value that contains itself)")
            if id(child) not in sizes:
                stack.append((child, False))


def safe_load_yaml(text: str, name: str = "YAML") -> Any:
    """Parse untrusted YAML: safe tags only, size- and alias-limited, errors on one short line."""
    if len(text) > MAX_TEXT_BYTES:
        raise ConfigError(f"{name}: over {MAX_TEXT_BYTES} characters of YAML")
    try:
        return yaml.load(text, Loader=_LimitedLoader)
    except ConfigError as err:
        raise ConfigError(f"{name}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{name}: invalid YAML{where} ({one_line(str(problem), 120)})") from None
    except RecursionError:
        raise ConfigError(f"{name}: YAML nested too deeply") from None


def load_yaml(cls: type[T], path: str | Path, overrides: typing.Sequence[str] = ()) -> T:
    """Read ``path`` into ``cls`` strictly, then apply dotted ``overrides`` ("a.b=1")."""
    path = Path(path)
    data = safe_load_yaml(read_text_file(path, "config"), str(path))
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    try:
        cfg = from_dict(cls, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return apply_overrides(cfg, overrides)


def save_yaml(obj: Any, path: str | Path) -> None:
    """Write a config dataclass as YAML (keys in field order)."""
    Path(path).write_text(yaml.safe_dump(to_dict(obj), sort_keys=False), encoding="utf-8")


def dump_yaml(obj: Any) -> str:
    return yaml.safe_dump(to_dict(obj), sort_keys=False)


def apply_overrides(cfg: T, overrides: typing.Sequence[str]) -> T:
    """Return a copy of ``cfg`` with ``key.sub=value`` overrides applied and re-validated.

    Values are parsed as YAML scalars/lists (``3``, ``0.5``, ``true``, ``[1, 2]``, ``null``).
    """
    if not overrides:
        return cfg
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {clip(item)}: expected KEY=VALUE, e.g. train.max_steps=100")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            value = safe_load_yaml(raw, f"override {key}") if raw.strip() else ""
        except ConfigError:
            value = raw
        node = data
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                raise ConfigError(f"override {clip(item)}: unknown key {clip('.'.join(parts[: i + 1]))}")
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"override {clip(item)}: unknown key {clip(key)}")
        node[parts[-1]] = value
    return from_dict(type(cfg), data)


# --------------------------------------------------------------------------------------------
# Audio: the one owner of sample rate and mel settings
# --------------------------------------------------------------------------------------------


# Names accepted by AudioConfig.preset (and by every --audio-preset option).
AUDIO_PRESETS = ("speecht5", "hifigan", "hifigan22k")


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """Sample rate and mel-spectrogram settings shared by features, models and vocoders.

    The default matches transformers' SpeechT5 feature extractor so that the public 16 kHz
    ``microsoft/speecht5_hifigan`` vocoder works unchanged: magnitude STFT, Slaney mel
    80-7600 Hz, log10 with floor 1e-10. :meth:`preset` names the conventions public vocoders
    were trained on (``AUDIO_PRESETS``).
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 80.0
    fmax: float = 7600.0
    mel_scale: Literal["slaney", "htk"] = "slaney"
    mel_norm: Literal["slaney", "none"] = "slaney"
    log: Literal["log10", "ln"] = "log10"
    log_floor: float = 1e-10
    # True: torch.stft(center=True) (frames = 1 + T // hop). False: HiFi-GAN's reflect padding
    # of (n_fft - hop) / 2 on both sides with center=False (frames = T // hop).
    center: bool = True
    # Added to the power spectrum before the square root (HiFi-GAN uses 1e-9).
    magnitude_eps: float = 0.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError("sample_rate, hop_length and n_mels must be positive")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length {self.win_length} exceeds n_fft {self.n_fft}")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin} fmax={self.fmax}"
            )

    @staticmethod
    def preset(name: str) -> "AudioConfig":
        """The AudioConfig named ``name`` (one of ``AUDIO_PRESETS``).

        - ``speecht5`` (the default ``AudioConfig()``): 16 kHz, SpeechT5's mel (Slaney 80-7600 Hz,
          log10, floor 1e-10, centred frames); ``microsoft/speecht5_hifigan`` takes it.
        - ``hifigan22k``: the official HiFi-GAN mel (jik876/hifi-gan ``meldataset.py`` with its
          V1 ``config.json``) at its own 22 050 Hz: n_fft 1024, win 1024, hop 256, 80 Slaney mels
          0-8000 Hz, magnitude ``sqrt(power + 1e-9)``, reflect padding of (n_fft - hop) / 2 each side
          instead of centring (so ``T // hop`` frames), natural log with clamp 1e-5. The packaged
          ``hifigan-universal`` and ``hifigan-ljspeech`` vocoders take exactly this.
        - ``hifigan``: the same mel convention at 16 kHz (for vocoders trained here at 16 kHz).

        Content features (HuBERT) and speaker embeddings are computed at 16 kHz whatever the
        preset: the feature code resamples the waveform for them.
        """
        if name == "speecht5":
            return AudioConfig()
        if name in ("hifigan", "hifigan22k"):
            return AudioConfig(
                sample_rate=22050 if name == "hifigan22k" else 16000,
                fmin=0.0, fmax=8000.0, log="ln", log_floor=1e-5, center=False, magnitude_eps=1e-9,
            )
        raise ConfigError(f"unknown audio preset {name!r}; choose {', '.join(AUDIO_PRESETS)}")

    @property
    def frame_seconds(self) -> float:
        return self.hop_length / self.sample_rate

    def num_frames(self, num_samples: int) -> int:
        """Mel frames produced for ``num_samples`` samples."""
        if self.center:
            return 1 + num_samples // self.hop_length
        return num_samples // self.hop_length

    def describe_difference(self, other: "AudioConfig") -> str:
        """Human-readable list of fields that differ (empty when equal)."""
        diffs = []
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a != b:
                diffs.append(f"{f.name} {a} vs {b}")
        return ", ".join(diffs)


def check_audio_compatible(
    a: AudioConfig, b: AudioConfig, a_name: str = "model", b_name: str = "vocoder"
) -> None:
    """Raise ConfigError naming both sides when two AudioConfigs differ."""
    diff = a.describe_difference(b)
    if diff:
        raise ConfigError(
            f"{a_name} and {b_name} use different audio settings ({a_name} vs {b_name}: {diff}); "
            f"pick a {b_name} trained with the same AudioConfig"
        )


# --------------------------------------------------------------------------------------------
# Input policy shared by every engine
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class InputConfig:
    """What input audio is accepted, and how long input is split into chunks."""

    min_seconds: float = 0.3
    max_seconds: float = 600.0
    # Input longer than this is processed in chunks split at pauses.
    chunk_seconds: float = 20.0
    crossfade_seconds: float = 0.02
    # A file whose peak (once any DC offset is removed) is below this (dBFS) is "silent".
    silence_dbfs: float = -60.0
    max_channels: int = 64

    def __post_init__(self) -> None:
        for name in ("min_seconds", "max_seconds", "chunk_seconds", "crossfade_seconds", "silence_dbfs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"input policy {name}: {short(value)} is not a finite number")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ConfigError(f"input policy: need 0 < min_seconds <= max_seconds, got {self.min_seconds:g} and "
                              f"{self.max_seconds:g}")
        if self.chunk_seconds < 1.0 or not 0 <= self.crossfade_seconds < self.chunk_seconds / 4:
            raise ConfigError("input policy: chunk_seconds must be >= 1 and crossfade_seconds in [0, chunk/4)")
        if isinstance(self.max_channels, bool) or not isinstance(self.max_channels, int) or self.max_channels < 1:
            raise ConfigError(f"input policy max_channels: {short(self.max_channels)} is not a positive integer")
