"""Resolve a model name: a local file or folder, or a Hugging Face Hub repo id.

Repo ids go through ``huggingface_hub`` (its cache, ``revision`` pinning and ``HF_HUB_OFFLINE``).
A repo that cannot be reached and is not cached gives one line that says how to fix it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from promptevc.errors import ModelLoadError, clip, one_line, os_reason, short

log = logging.getLogger(__name__)

# The Hub's rules (huggingface_hub.utils.validate_repo_id): letters, digits, "-", "_", "."; no
# "--" or ".."; no leading or trailing "-" or "."; at most 96 characters per part.
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")


def looks_like_repo_id(name: str) -> bool:
    """``org/name`` following the Hub's naming rules, and not an existing local path."""
    if not isinstance(name, str) or "--" in name or ".." in name or name.endswith(".git"):
        return False
    return bool(_REPO_ID.match(name)) and not Path(name).exists()


def resolve_path(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    filename: str | None = None,
    kind: str = "model",
    allow_patterns: list[str] | None = None,
) -> Path:
    """Return a local path for ``name_or_path``.

    Local files and folders are returned as they are. A repo id (``org/name``) is downloaded
    (or found in the cache) with huggingface_hub: the whole snapshot, or only ``filename`` when
    given. ``kind`` names the thing in error messages ("vocoder", "release", ...).
    """
    name = str(name_or_path)
    if not name or "\x00" in name or len(name) > 4096:
        raise ModelLoadError(f"{kind} {clip(name)!r}: not a valid path or Hugging Face repo id")
    path = Path(name).expanduser()
    try:
        exists = path.exists()
    except OSError as err:  # a symlink loop, a name too long ...
        raise ModelLoadError(f"{kind} {clip(name)!r}: {os_reason(err)}") from None
    if exists:
        return path / filename if filename and path.is_dir() else path
    if not looks_like_repo_id(name):
        raise ModelLoadError(f"{kind} {clip(name)!r}: no such file or folder, and not a Hugging Face repo id "
                             "(org/name)")
    if revision is not None and (not isinstance(revision, str) or not revision or "\x00" in revision):
        raise ModelLoadError(f"{kind} {name!r}: invalid revision {short(revision)}")
    try:
        import huggingface_hub
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            HFValidationError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:  # pragma: no cover - a core dependency
        raise ModelLoadError("huggingface_hub is not installed; pip install huggingface_hub") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        if filename:
            local = huggingface_hub.hf_hub_download(name, filename, revision=revision)
        else:
            local = huggingface_hub.snapshot_download(name, revision=revision, allow_patterns=allow_patterns)
    except (LocalEntryNotFoundError, FileNotFoundError):
        hint = (
            "HF_HUB_OFFLINE=1 is set and it is not in the cache; unset it, or download it on a "
            "connected machine and pass the local folder"
            if offline
            else "the Hub cannot be reached and it is not in the cache; check the network, or pass a local folder"
        )
        raise ModelLoadError(f"{kind} {name!r}: {hint}") from None
    except RepositoryNotFoundError:
        raise ModelLoadError(f"{kind} {name!r}: no such repository on the Hugging Face Hub (or it is private)") from None
    except RevisionNotFoundError:
        raise ModelLoadError(f"{kind} {name!r}: revision {revision!r} not found") from None
    except EntryNotFoundError:
        raise ModelLoadError(f"{kind} {name!r}: the repository has no file {filename!r}") from None
    except HFValidationError as err:
        raise ModelLoadError(f"{kind} {name!r}: not a valid Hugging Face repo id ({one_line(str(err), 120)})") from None
    except HfHubHTTPError as err:
        raise ModelLoadError(f"{kind} {name!r}: the Hub refused the request ({one_line(str(err), 160)})") from None
    except OSError as err:
        raise ModelLoadError(f"{kind} {name!r}: download failed ({os_reason(err)})") from None
    except ValueError as err:
        raise ModelLoadError(f"{kind} {name!r}: {one_line(str(err), 160)}") from None
    log.info("resolved %s %s -> %s", kind, name, local)
    return Path(local)
