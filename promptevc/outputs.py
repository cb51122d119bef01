"""Outputs: where converted audio may go, and writing it so that nothing is ever lost.

- :func:`output_format` / :func:`choose_subtype`: the file format follows the extension; the
  sample format follows the input unless asked otherwise (and the format must support it).
- :func:`inspect_output` resolves a path (symlinks included) and checks, before any work is
  done, that it can be written: no NUL, no over-long names, no file where a folder must be, a
  writable folder on a writable file system, and an existing target only if it is a regular file.
- :class:`OutputFile` streams samples into a temp file in the destination folder, created with
  mode 0666 so the umask applies, then commits atomically: ``os.link`` when the output must not
  be replaced (it fails if another process created the name meanwhile: no check-then-rename
  race), ``os.replace`` with ``overwrite`` (regular files only). An error or an interrupt
  removes the temp file.
- :func:`clean_stale_temps` recognises temp files of interrupted runs by name (host, pid) and
  age, and removes them.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import logging
import os
import re
import secrets
import socket
import stat
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from promptevc.errors import OutputError, OutputExistsError, describe_os_error, os_reason

log = logging.getLogger(__name__)

#: extension -> libsndfile format. Writing picks the format from the output's name.
OUTPUT_FORMATS = {
    ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3", ".aiff": "AIFF", ".aif": "AIFF",
    ".au": "AU", ".caf": "CAF", ".w64": "W64", ".rf64": "RF64",
}
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
TEMP_RE = re.compile(r"^\.(?P<stem>.*)\.pevc-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$", re.S)
# mkstemp names of earlier versions (".out.wav.k3j_x9a2.tmp"): recognised by age only.
_LEGACY_TEMP_RE = re.compile(r"^\..+\.(?:wav|flac|ogg|mp3|aiff?|au|caf|w64|rf64)\.[a-z0-9_]{8}\.tmp$", re.S | re.I)
STALE_AGE_S = 24 * 3600.0
LEGACY_STALE_AGE_S = 3600.0
_cleaned: set[str] = set()


def output_format(path: str | os.PathLike) -> str:
    """The libsndfile format for ``path``'s extension; OutputError for anything else."""
    ext = Path(path).suffix.lower()
    fmt = OUTPUT_FORMATS.get(ext)
    if fmt is None or fmt not in sf.available_formats():
        have = ", ".join(e for e, f in OUTPUT_FORMATS.items() if f in sf.available_formats())
        shown = ext if ext else "(no extension)"
        raise OutputError(f"{path}: unsupported output format {shown}; name the output with one of {have}")
    return fmt


def choose_subtype(fmt: str, wanted: str | None, source_subtype: str | None) -> tuple[str, str | None]:
    """``(subtype, note)``: ``wanted`` if given (must suit ``fmt``), else the source's, else the closest.

    ``note`` says why the source's sample format could not be kept (None when it was).
    """
    if wanted:
        wanted = wanted.upper()
        if wanted not in sf.available_subtypes() or not sf.check_format(fmt, wanted):
            ok = ", ".join(s for s in sf.available_subtypes(fmt))
            raise OutputError(f"--subtype {wanted}: not available for {fmt} files; choose one of {ok}")
        return wanted, None
    if source_subtype and sf.check_format(fmt, source_subtype):
        return source_subtype, None
    fallback = sf.default_subtype(fmt)
    if source_subtype in ("FLOAT", "DOUBLE", "PCM_32") and sf.check_format(fmt, "PCM_24"):
        fallback = "PCM_24"
    note = f"{fmt} cannot store {source_subtype}; writing {fallback}" if source_subtype else None
    return fallback, note


def check_format_options(path: str | os.PathLike, fmt: str, sample_rate: int, channels: int, subtype: str) -> None:
    """Refuse a format / rate / channels / subtype combination libsndfile cannot write (before converting)."""
    try:
        with sf.SoundFile(io.BytesIO(), "w", int(sample_rate), int(channels), subtype, format=fmt):
            pass
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
        reason = re.sub(r"^Error opening .*?: ", "", str(err).strip().split("\n")[0])[:160]
        raise OutputError(
            f"{path}: cannot write {fmt} at {sample_rate} Hz with {channels} channel(s) as {subtype} ({reason}); "
            "choose another format, --sample-rate or --mono"
        ) from None


@dataclasses.dataclass(frozen=True)
class OutputTarget:
    """A checked output: ``path`` resolved (symlinks followed), ``exists`` (a regular file)."""

    path: Path
    exists: bool
    inode: tuple[int, int] | None = None


def inspect_output(path: str | os.PathLike) -> OutputTarget:
    """Resolve ``path`` and check it can be written, without creating anything."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or "\x00" in text:
        raise OutputError(f"{text!r}: not a valid output path" if text else "the output path is empty")
    resolved = os.path.realpath(os.path.abspath(text))
    missing: list[str] = []
    probe = resolved
    while True:
        try:
            st = os.stat(probe)
            break
        except (FileNotFoundError, NotADirectoryError):
            parent = os.path.dirname(probe)
            if parent == probe:
                raise OutputError(f"{text}: no existing folder on this path") from None
            missing.append(os.path.basename(probe))
            probe = parent
        except OSError as err:
            raise OutputError(describe_os_error(err, text)) from None
    if missing and not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{text}: {probe} is a file, not a folder")
    target = Path(resolved)
    if not missing:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{text}: is a folder; give a file name (or use --out-dir)")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{text}: exists and is not a regular file (a FIFO, device or socket); refusing to "
                              "replace it")
        folder = os.path.dirname(resolved)
    else:
        folder = probe
    _check_folder(text, folder, missing or [os.path.basename(resolved)])
    if len(os.fsencode(resolved)) >= 4096:
        raise OutputError(f"{text}: path too long ({len(os.fsencode(resolved))} bytes)")
    return OutputTarget(target, not missing, (st.st_dev, st.st_ino) if not missing else None)


def _check_folder(text: str, folder: str, new_names: list[str]) -> None:
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for name in new_names:
        if len(os.fsencode(name)) > name_max:
            raise OutputError(f"{text}: file name too long ({len(os.fsencode(name))} bytes; the file system "
                              f"allows {name_max})")
    try:
        readonly = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        readonly = False
    if readonly:
        raise OutputError(f"{text}: {folder} is on a read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{text}: permission denied (cannot create files in {folder})")


def check_output_target(path: str | os.PathLike, overwrite: bool = False) -> OutputTarget:
    """:func:`inspect_output`, and an existing output is an error unless ``overwrite``."""
    target = inspect_output(path)
    if target.exists and not overwrite:
        raise OutputExistsError(f"{path}: exists; pass --overwrite to replace it")
    return target


def check_output_path(output: str | os.PathLike, inputs=(), overwrite: bool = False) -> Path:
    """Refuse an output that is one of ``inputs`` (path or inode), unusable, or exists without overwrite."""
    target = inspect_output(output)
    for inp in inputs:
        if same_file(inp, target):
            raise OutputExistsError(f"{output}: output would overwrite the input; choose another path")
    if target.exists and not overwrite:
        raise OutputExistsError(f"{output}: exists; pass --overwrite to replace it")
    return target.path


def file_key(path: str | os.PathLike) -> tuple[str, tuple[int, int] | None]:
    """(resolved path, (device, inode) or None): what identifies a file for the "same file" checks."""
    resolved = os.path.realpath(os.path.abspath(os.fspath(path)))
    try:
        st = os.stat(resolved)
        return resolved, (st.st_dev, st.st_ino)
    except (OSError, ValueError):
        return resolved, None


def same_file(path: str | os.PathLike, target: OutputTarget) -> bool:
    resolved, inode = file_key(path)
    return resolved == str(target.path) or (inode is not None and inode == target.inode)


# --------------------------------------------------------------------------------------------
# Temp files
# --------------------------------------------------------------------------------------------


def temp_name(name: str, name_max: int = 255) -> str:
    """A temp-file name for output ``name``: ``.NAME.pevc-HOST-PID-RANDOM.tmp`` (within ``name_max``)."""
    suffix = f".pevc-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    stem = name
    while stem and len(os.fsencode("." + stem + suffix)) > name_max:
        stem = stem[:-1]
    return "." + stem + suffix


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike, *, force: bool = False) -> int:
    """Remove temp files of interrupted runs in ``folder``; returns how many.

    A promptevc temp file is stale when its process (named in it, on this host) is gone, or
    when it is older than a day (another host, or a reused pid). Only regular files matching the
    pattern are touched. Each folder is scanned once per process unless ``force``.
    """
    key = os.path.realpath(os.fspath(folder))
    if key in _cleaned and not force:
        return 0
    _cleaned.add(key)
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(key))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.endswith(".tmp") or not entry.name.startswith("."):
            continue
        m = TEMP_RE.match(entry.name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        age = now - st.st_mtime
        if m:
            stale = age > STALE_AGE_S or (m["host"] == _HOST and not _pid_alive(int(m["pid"])))
        else:
            stale = bool(_LEGACY_TEMP_RE.match(entry.name)) and age > LEGACY_STALE_AGE_S
        if stale:
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    if removed:
        log.info("removed %d stale temp file(s) of an interrupted run from %s", removed, key)
    return removed


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class OutputFile:
    """Stream (T, C) float32 blocks into ``path`` through a temp file; :meth:`commit` publishes it.

    Use as a context manager: leaving the block without :meth:`commit` (an error, Ctrl-C)
    removes the temp file, so a failed conversion leaves nothing behind.
    """

    def __init__(self, path: str | os.PathLike, *, sample_rate: int, channels: int, format: str, subtype: str,
                 overwrite: bool = False) -> None:
        self.path = Path(path)
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.format, self.subtype = format, subtype
        self.overwrite = overwrite
        self.tmp: Path | None = None
        self._fd: int | None = None
        self._sf: sf.SoundFile | None = None
        self.frames = 0

    def __enter__(self) -> OutputFile:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

    def open(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(describe_os_error(err, folder)) from None
        clean_stale_temps(folder)
        try:
            name_max = os.pathconf(folder, "PC_NAME_MAX")
        except (OSError, ValueError):
            name_max = 255
        self.tmp = folder / temp_name(self.path.name, name_max)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            # 0o666: the process umask decides the final mode (mkstemp's 0600 would survive the rename).
            self._fd = os.open(self.tmp, flags, 0o666)
        except OSError as err:
            self.tmp = None
            raise OutputError(f"{self.path}: cannot create the output ({os_reason(err)})") from None
        try:
            self._sf = sf.SoundFile(self._fd, "w", self.sample_rate, self.channels, self.subtype,
                                    format=self.format, closefd=False)
        except (sf.LibsndfileError, RuntimeError, ValueError) as err:
            self.abort()
            raise OutputError(f"{self.path}: cannot write {self.format}/{self.subtype} ({err})") from None

    def write(self, block: np.ndarray) -> None:
        if self._sf is None:
            raise RuntimeError("OutputFile.write before open")
        x = np.asarray(block)
        if x.dtype not in (np.int32, np.float64):  # int32 / float64 pass through bit-exact
            x = x.astype(np.float32, copy=False)
        if x.ndim == 1:
            x = x[:, None]
        if not len(x):
            return
        try:
            self._sf.write(np.ascontiguousarray(x))
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            raise OutputError(self._write_failure(err)) from None
        self.frames += len(x)

    def _write_failure(self, err: BaseException) -> str:
        reason = str(err).strip().split("\n")[0] or type(err).__name__
        if isinstance(err, OSError):
            reason = os_reason(err)
        try:
            vfs = os.statvfs(self.path.parent)
            if vfs.f_bavail * vfs.f_frsize < 1 << 20:
                reason = "no space left on the device"
        except OSError:
            pass
        return f"{self.path}: cannot write ({reason}); nothing was written"

    def commit(self) -> Path:
        """Close, flush to disk and publish the file under its name (atomically)."""
        if self._sf is None or self.tmp is None or self._fd is None:
            raise RuntimeError("OutputFile.commit before open")
        try:
            self._sf.close()
            os.fsync(self._fd)
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            raise OutputError(self._write_failure(err)) from None
        finally:
            self._sf = None
            os.close(self._fd)
            self._fd = None
        try:
            if self.overwrite:
                self._replace()
            else:
                self._publish_new()
        finally:
            self._remove_tmp()
        return self.path

    def _replace(self) -> None:
        try:
            st = os.lstat(self.path)
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(f"{self.path}: exists and is not a regular file; refusing to replace it")
        except FileNotFoundError:
            pass
        try:
            os.replace(self.tmp, self.path)
        except OSError as err:
            raise OutputError(f"{self.path}: cannot replace ({os_reason(err)})") from None

    def _publish_new(self) -> None:
        try:
            os.link(self.tmp, self.path)
        except FileExistsError:
            raise OutputExistsError(
                f"{self.path}: exists (created meanwhile, by another process?); pass --overwrite to replace it"
            ) from None
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise OutputError(f"{self.path}: cannot publish ({os_reason(err)})") from None
            # File systems without hard links (FAT, some network mounts): the check and the rename
            # are no longer one step; still never replace what is there.
            if os.path.lexists(self.path):
                raise OutputExistsError(f"{self.path}: exists; pass --overwrite to replace it") from None
            os.rename(self.tmp, self.path)

    def _remove_tmp(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except FileNotFoundError:
                pass
            except OSError as err:
                log.warning("could not remove the temp file %s (%s)", self.tmp, os_reason(err))
            self.tmp = None

    def abort(self) -> None:
        """Drop everything written so far (idempotent)."""
        if self._sf is not None:
            try:
                self._sf.close()
            except Exception:  # closing a half-written file can fail in its own ways; it is removed anyway
                pass
            self._sf = None
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        self._remove_tmp()


def write_audio(path: str | os.PathLike, wav: np.ndarray, sample_rate: int, overwrite: bool = False,
                subtype: str | None = None) -> Path:
    """Write a whole array ``wav`` (T,) or (T, C) atomically; samples clipped to [-1, 1].

    The format follows the extension; ``subtype`` defaults to the format's own default (PCM_16
    for WAV and FLAC). An existing file is kept unless ``overwrite``.
    """
    target = check_output_target(path, overwrite)
    fmt = output_format(path)
    subtype, _ = choose_subtype(fmt, subtype, None)
    x = np.clip(np.nan_to_num(np.asarray(wav, dtype=np.float32)), -1.0, 1.0)
    x = x[:, None] if x.ndim == 1 else x
    check_format_options(path, fmt, sample_rate, x.shape[1], subtype)
    with OutputFile(target.path, sample_rate=sample_rate, channels=x.shape[1], format=fmt, subtype=subtype,
                    overwrite=overwrite) as out:
        out.write(x)
        out.commit()
    return Path(path)
