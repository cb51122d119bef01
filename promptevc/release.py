"""Releases: the files inference loads (DESIGN §6).

A release folder holds ``config.yaml`` (the resolved config), ``model.safetensors`` (weights
only, no pickles) and ``meta.json`` (format version, toolkit version, kind, AudioConfig and
whatever the kind needs: labels, encoder ids, vocoder id ...). Loading is strict: a wrong kind,
a newer format, or a missing/unexpected weight is a ModelLoadError naming both sides.
Resume state (optimisers, RNG, step) lives in training checkpoints, never in a release.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml

from promptevc import __version__
from promptevc.errors import ModelLoadError, clip, one_line, short

FORMAT_VERSION = 1
CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
TRAINING_SECTION = "train"


@dataclasses.dataclass
class Release:
    """A loaded release: ``config`` (dict), ``state_dict`` (name -> tensor), ``meta`` (dict)."""

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]
    path: Path


def write_release(
    out_dir: str | os.PathLike,
    *,
    kind: str,
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any] | None = None,
    overwrite: bool = True,
    folders: dict[str, str | os.PathLike] | None = None,
) -> Path:
    """Write a release folder atomically (built in a temp folder, then renamed).

    ``folders``: sub-folders copied in (name in the release -> source folder), e.g. the emotion
    evaluator an acoustic release uses for ``--ref``. A release holds what inference needs and
    nothing of training: a ``train`` section in ``config`` is refused.
    """
    from safetensors.torch import save_file

    if TRAINING_SECTION in config or TRAINING_SECTION in (meta or {}):
        raise ValueError(f"a {kind} release holds no training settings; drop the {TRAINING_SECTION!r} section")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise ModelLoadError(f"{out}: exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    full_meta = {"format_version": FORMAT_VERSION, "toolkit_version": __version__, "kind": kind}
    full_meta.update(meta or {})
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        # mkdtemp makes the folder 0700; a release follows the umask like any other output.
        os.chmod(tmp, 0o777 & ~_umask())
        # safetensors refuses shared or non-contiguous storage: store independent copies.
        clean = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
        save_file(clean, str(tmp / WEIGHTS_FILE), metadata={"kind": kind, "format_version": str(FORMAT_VERSION)})
        (tmp / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, sort_keys=True), encoding="utf-8")
        for name, src in (folders or {}).items():
            shutil.copytree(src, tmp / name)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_release(
    path_or_repo_id: str | os.PathLike, *, kind: str, revision: str | None = None, device: str = "cpu"
) -> Release:
    """Load a release from a local folder or a Hugging Face repo id, checking kind and version."""
    from safetensors.torch import load_file

    from promptevc.hub import resolve_path

    root = resolve_path(path_or_repo_id, revision=revision, kind=f"{kind} release")
    if not root.is_dir():
        raise ModelLoadError(f"{root}: a {kind} release is a folder with {CONFIG_FILE}, {WEIGHTS_FILE} and {META_FILE}")
    missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE, META_FILE) if not (root / f).exists()]
    if missing:
        raise ModelLoadError(f"{root}: not a release folder (missing {', '.join(missing)})")
    meta = read_meta(root / META_FILE)
    config = read_config(root / CONFIG_FILE)
    if meta.get("kind") != kind:
        raise ModelLoadError(f"{root}: is a {clip(meta.get('kind'), 40)!r} release, expected a {kind!r} release")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelLoadError(
            f"{root}: release format version {short(version)} (written by promptevc "
            f"{clip(meta.get('toolkit_version'), 40)}) does not match this promptevc {__version__} "
            f"(format version {FORMAT_VERSION}); use a matching promptevc version or re-export"
        )
    weights = root / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelLoadError(f"{weights}: the weights are not a regular file")
    try:
        state = load_file(str(weights), device=device)
    except Exception as err:  # safetensors raises its own error types
        raise ModelLoadError(f"{weights}: cannot read weights ({one_line(str(err), 160)})") from None
    check_finite(state, str(weights))
    return Release(config=config, state_dict=state, meta=meta, path=root)


def read_meta(path: Path) -> dict[str, Any]:
    """A release's ``meta.json``: a JSON object of at most 1 MB (untrusted: errors on one line)."""
    from promptevc.config import read_text_file

    text = read_text_file(path, "release metadata", error=ModelLoadError)
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ModelLoadError(f"{path}: corrupt release metadata ({one_line(str(err), 120)})") from None
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{path}: release metadata must be a JSON object, not {type(meta).__name__}")
    return meta


def read_config(path: Path) -> dict[str, Any]:
    """A release's ``config.yaml``: a mapping, loaded with the size- and alias-limited safe loader."""
    from promptevc.config import read_text_file, safe_load_yaml
    from promptevc.errors import ConfigError

    try:
        config = safe_load_yaml(read_text_file(path, "release config", error=ModelLoadError), str(path))
    except ConfigError as err:
        raise ModelLoadError(f"corrupt release config ({err})") from None
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: the release config must be a mapping, not {type(config).__name__}")
    return config


def check_finite(state: dict[str, torch.Tensor], name: str) -> None:
    """ModelLoadError naming the first floating-point weight with NaN or infinite values."""
    for key, value in state.items():
        if torch.is_floating_point(value) and not bool(torch.isfinite(value).all()):
            raise ModelLoadError(f"{name}: weight {clip(key)} contains NaN or infinite values; the release is "
                                 "corrupt (re-export it from a healthy checkpoint)")


def load_state_strict(module: torch.nn.Module, state_dict: dict[str, torch.Tensor], name: str = "model") -> None:
    """``load_state_dict(strict=True)`` with a one-line ModelLoadError naming the keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s) e.g. {missing[0]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} key(s) e.g. {unexpected[0]}")
        raise ModelLoadError(f"{name}: weights do not match the model ({'; '.join(parts)})")
    bad = [k for k, v in state_dict.items() if tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        k = bad[0]
        raise ModelLoadError(
            f"{name}: weight {k} has shape {tuple(state_dict[k].shape)}, model expects {tuple(own[k].shape)}"
        )
    module.load_state_dict(state_dict, strict=True)
