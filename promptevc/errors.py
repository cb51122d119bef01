"""User-facing errors.

Anything a user can cause (a bad file, a bad option, a missing model) raises a subclass of
:class:`PromptEVCError` whose message is one readable line naming the thing, the value and the
fix. The CLI prints that line and exits non-zero; any other exception is a bug and keeps its
traceback. :func:`short` is how messages quote a value: bounded, whatever the value is (a
YAML alias bomb expands to gigabytes when printed with ``repr``).
"""

from __future__ import annotations

import errno
import os
import reprlib
from typing import Any


class PromptEVCError(Exception):
    """Base class for errors caused by user input; the message is shown as is."""


class ConfigError(PromptEVCError):
    """A configuration file, an option value or an override is invalid."""


class AudioError(PromptEVCError):
    """An audio file cannot be read, or fails the input policy (too short, silent, ...)."""


class OutputError(PromptEVCError):
    """An output cannot be written where it was asked for (folder, format, permissions, space)."""


class OutputExistsError(OutputError):
    """An output file exists and ``--overwrite`` was not given, or would clobber an input."""


class PromptError(PromptEVCError):
    """A prompt is empty or cannot be understood."""


class ModelLoadError(PromptEVCError):
    """A release, vocoder or checkpoint cannot be found or does not match what is expected."""


class TrainingError(PromptEVCError):
    """Training cannot go on (e.g. the loss stayed non-finite); the message says what to change."""


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxstring = 60
_REPR.maxother = 60


def short(value: Any, limit: int = 80) -> str:
    """A bounded ``repr`` of ``value`` for error messages (nesting, items and length capped).

    ``reprlib`` stops at depth 2 and 4 items per container, so shared sub-structures (YAML
    aliases) are never expanded; the result is cut to ``limit`` characters.
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: Any, limit: int = 80) -> str:
    """``text`` (a str as is, anything else as :func:`short`) on one line, cut to ``limit``."""
    if not isinstance(text, str):
        return short(text, limit)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(message: str, limit: int = 600) -> str:
    """``message`` on one line and at most ``limit`` characters (what the CLI prints)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# errno -> what it means for the user, when strerror alone is terse ("System error.").
_ERRNO_HINTS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop?)",
    errno.ENOTDIR: "a component of the path is a file, not a folder",
    errno.EISDIR: "is a folder",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "exists",
    errno.ENXIO: "no such device or address",
}


def os_reason(err: OSError) -> str:
    """What an OSError means, in plain words for the common errnos (no path)."""
    return _ERRNO_HINTS.get(err.errno or -1) or err.strerror or str(err) or type(err).__name__


def describe_os_error(err: OSError, path: str | os.PathLike | None = None) -> str:
    """``path: reason`` for an OSError (``path`` defaults to the error's own filename)."""
    where = path if path is not None else (err.filename if err.filename is not None else None)
    reason = os_reason(err)
    if where is None:
        return reason
    text = f"{os.fsdecode(where) if isinstance(where, (bytes, os.PathLike)) else where}: {reason}"
    if err.filename2 is not None:
        text += f" ({err.filename2})"
    return text
