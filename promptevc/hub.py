"""Resolve a model name: a local file or folder, or a Hugging Face Hub repo id.

Repo ids go through ``huggingface_hub`` (its cache, ``revision`` pinning and ``HF_HUB_OFFLINE``).
A repo that cannot be reached and is not cached gives one line that says how to fix it, within
about a second: with ``HF_HUB_OFFLINE=1``, or when the Hub endpoint (or the HTTPS proxy) does not
accept a connection within :data:`HUB_PROBE_TIMEOUT_S`, only the local cache is consulted, so a
user without the Hub never waits through the download retries of huggingface_hub/transformers.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from promptevc.errors import ModelLoadError, clip, one_line, os_reason, short

log = logging.getLogger(__name__)

# The Hub's rules (huggingface_hub.utils.validate_repo_id): letters, digits, "-", "_", "."; no
# "--" or ".."; no leading or trailing "-" or "."; at most 96 characters per part.
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
HUB_PROBE_TIMEOUT_S = 1.0  # how long a connection to the Hub may take before we call it unreachable
_TRUE = ("1", "true", "yes", "on")
_probe_cache: dict[tuple[str, int], bool] = {}


def looks_like_repo_id(name: str) -> bool:
    """``org/name`` following the Hub's naming rules, and not an existing local path."""
    if not isinstance(name, str) or "--" in name or ".." in name or name.endswith(".git"):
        return False
    return bool(_REPO_ID.match(name)) and not Path(name).exists()


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(v, "0").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _probe_target() -> tuple[str, int]:
    """(host, port) a download would connect to first: the HTTPS proxy if one is set, else the endpoint."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
    url = proxy or os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "huggingface.co", parts.port or default


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether the Hub (or the proxy) accepts a TCP connection within ``timeout`` seconds.

    Name resolution is included in the limit (it runs in a daemon thread, as getaddrinfo has no
    timeout of its own). The answer is cached for the life of the process.
    """
    target = _probe_target()
    if target in _probe_cache:
        return _probe_cache[target]
    result: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection(target, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    ok = bool(result and result[0])
    if not ok:
        log.info("the Hugging Face Hub (%s:%d) did not answer within %.1f s: using the local cache only",
                 target[0], target[1], timeout)
    _probe_cache[target] = ok
    return ok


def _local_only() -> tuple[bool, str]:
    """(use the cache only, why) for the current environment."""
    if hub_offline():
        return True, "HF_HUB_OFFLINE=1 is set and it is not in the Hugging Face cache"
    if not hub_reachable():
        host, port = _probe_target()
        return True, (f"the Hugging Face Hub cannot be reached ({host}:{port} did not answer within "
                      f"{HUB_PROBE_TIMEOUT_S:g} s) and it is not in the cache")
    return False, ""


def model_available(name_or_path: str | os.PathLike, revision: str | None = None) -> tuple[bool, str]:
    """Can ``name_or_path`` be loaded here without waiting? ``(ok, reason when not)``; downloads nothing.

    A local path is available; a repo id is when the Hub is reachable (it will be downloaded on
    first use) or when a snapshot of it is in the cache.
    """
    name = str(name_or_path)
    if Path(name).expanduser().exists():
        return True, ""
    if not looks_like_repo_id(name):
        return False, "no such file or folder, and not a Hugging Face repo id (org/name)"
    local_only, why = _local_only()
    if not local_only:
        return True, ""
    import huggingface_hub

    try:
        huggingface_hub.snapshot_download(name, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure of a cache-only lookup means "not cached"
        return False, why
    return True, ""


def resolve_path(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    filename: str | None = None,
    kind: str = "model",
    allow_patterns: list[str] | None = None,
    hint: str | None = None,
) -> Path:
    """Return a local path for ``name_or_path``.

    Local files and folders are returned as they are. A repo id (``org/name``) is downloaded
    (or found in the cache) with huggingface_hub: the whole snapshot, or only ``filename`` when
    given. ``kind`` names the thing in error messages ("vocoder", "release", ...); ``hint`` is
    appended to the message when the model is not available offline (e.g. "or use --content mel").
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
    local_only, why = _local_only()
    try:
        if filename:
            local = huggingface_hub.hf_hub_download(name, filename, revision=revision, local_files_only=local_only)
        else:
            local = huggingface_hub.snapshot_download(name, revision=revision, allow_patterns=allow_patterns,
                                                      local_files_only=local_only)
    except (LocalEntryNotFoundError, FileNotFoundError):
        reason = why or "the Hub cannot be reached and it is not in the cache"
        fix = hint or "download it on a connected machine (it is then cached) and copy the cache, or pass a local folder"
        raise ModelLoadError(f"{kind} {name!r}: {reason}; {fix}") from None
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
