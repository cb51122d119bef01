"""Audio in: the only home of the input policy and of sample-rate handling (DESIGN §2).

Nothing here decodes a whole file at once:

- :func:`probe_audio` opens regular files only (a FIFO, device or folder is refused without
  being read, so a FIFO with no writer cannot hang) and checks length, rate and channels from
  the header with libsndfile before any sample is decoded.
- :class:`FileSource` / :class:`ArraySource` give the same ``info`` and ``blocks()`` for a file
  and for an in-memory array; a pass over ``blocks()`` is bounded by the block size.
- :class:`InputStats` is pass 1: finiteness, length, peak, DC offset and the inter-channel
  covariance, checked against the policy (silent, DC only, ...) before anything is converted.
- Streaming stages, each ``push(block) -> samples`` then ``flush()``: :class:`StreamResampler`
  (soxr's stream resampler: no clicks at block edges), :class:`PauseChunker` (cuts at the
  quietest frame of a bounded look-ahead buffer), :class:`CrossfadeJoiner`, :class:`PeakLimiter`.

Whole-array helpers for features, training and tests: :func:`load_audio` (mono at a given rate,
read through the same streaming checks), :func:`prepare_waveform`, :func:`resample`,
:func:`frame_rms_db`, :func:`split_at_pauses`, :func:`process_in_chunks`. Writing lives in
:mod:`promptevc.outputs` (``write_audio`` and ``check_output_path`` are re-exported here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from promptevc.config import InputConfig
from promptevc.errors import AudioError, os_reason
from promptevc.outputs import check_output_path, write_audio

log = logging.getLogger(__name__)

__all__ = [
    "AudioInfo", "ArraySource", "FileSource", "InputStats", "StreamResampler", "PauseChunker",
    "CrossfadeJoiner", "PeakLimiter", "probe_audio", "load_audio", "prepare_waveform", "resample",
    "frame_rms_db", "split_at_pauses", "process_in_chunks", "limit_peaks", "write_audio",
    "check_output_path",
]

#: Samples (frames x channels) per decoded block: 2**18 float32 = 1 MiB.
BLOCK_SAMPLES = 1 << 18
#: libsndfile reports this many frames when a file does not state its length (streamed FLAC).
_UNKNOWN_FRAMES = 1 << 62
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 768_000
PEAK_LIMIT = 0.99

# Integer PCM subtypes: read as int32 when samples must come back bit-exact.
_INT_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"}


# --------------------------------------------------------------------------------------------
# Sources: header check, then blocks
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What the header (or the array's shape) says: checked before any sample is decoded."""

    name: str
    frames: int
    sample_rate: int
    channels: int
    format: str = "RAW"
    subtype: str = "FLOAT"

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def describe(self) -> str:
        return f"{self.sample_rate} Hz, {self.channels} ch, {self.subtype}, {self.seconds:.2f} s"


def _check_header(info: AudioInfo, policy: InputConfig) -> None:
    name = info.name
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name}: sample rate {info.sample_rate} Hz is not supported "
            f"(need {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz)"
        )
    if not 1 <= info.channels <= policy.max_channels:
        raise AudioError(f"{name}: {info.channels} channels; at most {policy.max_channels} are supported")
    if info.frames >= _UNKNOWN_FRAMES:
        raise AudioError(
            f"{name}: the file does not state its length (a streamed FLAC?); re-encode it, "
            "e.g. 'sox in.flac out.flac' or 'flac -f in.flac'"
        )
    if info.frames <= 0:
        raise AudioError(f"{name}: the file holds no audio samples")
    _check_length(name, info.seconds, policy)


def _check_length(name: str, seconds: float, policy: InputConfig) -> None:
    if seconds > policy.max_seconds:
        raise AudioError(
            f"{name}: {seconds:.1f} s of audio exceeds the limit of {policy.max_seconds:g} s; "
            "split the file or raise the limit (--max-seconds)"
        )
    if seconds < policy.min_seconds:
        raise AudioError(f"{name}: {seconds:.2f} s of audio; need at least {policy.min_seconds:g} s")


def _open_regular(path: str | os.PathLike, name: str) -> int:
    """Open ``path`` read-only as a file descriptor, refusing anything but a regular file.

    ``stat`` first, so FIFOs and devices are never opened; ``O_NONBLOCK`` and an ``fstat`` of
    the opened descriptor close the race where the path is swapped for a FIFO in between.
    """
    try:
        st = os.stat(path)
    except OSError as err:
        raise AudioError(f"{name}: {_reason(err)}") from None
    _require_regular(st.st_mode, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise AudioError(f"{name}: cannot open ({_reason(err)})") from None
    try:
        fst = os.fstat(fd)
        _require_regular(fst.st_mode, name)
        if hasattr(os, "O_NONBLOCK"):
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _reason(err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    return os_reason(err)


def _require_regular(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder" if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise AudioError(f"{name}: is {kind}, not an audio file; only regular files are read")


@contextlib.contextmanager
def _open_soundfile(path: str | os.PathLike, name: str) -> Iterator[sf.SoundFile]:
    fd = _open_regular(path, name)
    try:
        try:
            f = sf.SoundFile(fd, closefd=False)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
            raise AudioError(f"{name}: cannot read audio ({_first_line(err)})") from None
        with f:
            yield f
    finally:
        os.close(fd)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().split("\n")[0]
    return text[:200] or type(err).__name__


def probe_audio(path: str | os.PathLike, policy: InputConfig | None = None, name: str | None = None) -> AudioInfo:
    """Header check of ``path``: regular file, readable format, rate, channels, length.

    Decodes nothing; a small file declaring hours of audio is refused here.
    """
    policy = policy or InputConfig()
    name = name or str(path)
    with _open_soundfile(path, name) as f:
        info = AudioInfo(name, int(f.frames), int(f.samplerate), int(f.channels), f.format, f.subtype)
    _check_header(info, policy)
    return info


class FileSource:
    """An audio file read block by block (re-iterable: one open per pass)."""

    def __init__(self, path: str | os.PathLike, policy: InputConfig | None = None, name: str | None = None):
        self.path = Path(path)
        self.policy = policy or InputConfig()
        self.info = probe_audio(path, self.policy, name=name)
        self.block_frames = max(1024, BLOCK_SAMPLES // self.info.channels)
        self._frames_seen: int | None = None

    def blocks(self, exact: bool = False) -> Iterator[np.ndarray]:
        """Yield (B, C) blocks. float32 in [-1, 1]; ``exact``: integer PCM as int32 (bit-exact)."""
        info = self.info
        dtype = "float32"
        if exact:
            dtype = "int32" if info.subtype in _INT_SUBTYPES else "float64" if info.subtype == "DOUBLE" else "float32"
        # A header that lies must not make a pass run on: stop at the policy's limit.
        limit = int(self.policy.max_seconds * info.sample_rate) + 1
        seen = 0
        with _open_soundfile(self.path, info.name) as f:
            while True:
                try:
                    block = f.read(self.block_frames, dtype=dtype, always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as err:
                    raise AudioError(
                        f"{info.name}: decoding failed after {seen / info.sample_rate:.1f} s of the "
                        f"{info.seconds:.1f} s its header declares ({_first_line(err)}); the file is "
                        "truncated or corrupt"
                    ) from None
                if not len(block):
                    break
                seen += len(block)
                if seen > limit:
                    _check_length(info.name, seen / info.sample_rate, self.policy)
                yield block
        if self._frames_seen is None:
            self._frames_seen = seen
        elif seen != self._frames_seen:
            raise AudioError(f"{info.name}: the file changed while it was being read")


class ArraySource:
    """An in-memory waveform with the same interface as :class:`FileSource`.

    ``wav``: (T,), (T, C) or (C, T) (channels first when there are fewer rows than columns and
    no more rows than the policy's channel limit); float or integer PCM (scaled by 2**(bits-1),
    as libsndfile does).
    """

    def __init__(self, wav: np.ndarray, sample_rate: int, policy: InputConfig | None = None, name: str = "input"):
        self.policy = policy or InputConfig()
        try:
            arr = np.asarray(wav)
        except (TypeError, ValueError) as err:
            raise AudioError(f"{name}: not an array of samples ({_first_line(err)})") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)) or np.issubdtype(arr.dtype, np.complexfloating):
            raise AudioError(f"{name}: samples must be real numbers, got an array of {arr.dtype}")
        self.one_d = arr.ndim == 1
        self.channels_first = False
        if arr.ndim == 1:
            arr = arr[:, None]
        elif arr.ndim == 2:
            if arr.shape[0] < arr.shape[1] and arr.shape[0] <= self.policy.max_channels:
                arr, self.channels_first = arr.T, True
        else:
            raise AudioError(f"{name}: expected mono (T,) or (samples, channels) audio, got shape {arr.shape}")
        subtype = "DOUBLE" if arr.dtype == np.float64 else "FLOAT"
        if np.issubdtype(arr.dtype, np.integer):
            bits = np.iinfo(arr.dtype).bits
            unsigned = np.iinfo(arr.dtype).min == 0
            subtype = "PCM_U8" if unsigned and bits == 8 else {8: "PCM_S8", 16: "PCM_16"}.get(bits, "PCM_32")
            arr = (arr.astype(np.float64) - (2 ** (bits - 1) if unsigned else 0)) / float(2 ** (bits - 1))
        self.data = np.ascontiguousarray(arr, dtype=np.float32)
        sample_rate = _as_int(sample_rate, f"{name}: sample rate")
        self.info = AudioInfo(name, int(self.data.shape[0]), sample_rate, int(self.data.shape[1]), "RAW", subtype)
        _check_header(self.info, self.policy)
        self.block_frames = max(1024, BLOCK_SAMPLES // self.info.channels)

    def blocks(self, exact: bool = False) -> Iterator[np.ndarray]:
        for i in range(0, len(self.data), self.block_frames):
            yield self.data[i : i + self.block_frames]

    def layout(self, out: np.ndarray) -> np.ndarray:
        """``out`` (T, C) back in the caller's layout: (T,) for mono input, (C, T) if given so."""
        if self.one_d and out.shape[1] == 1:
            return out[:, 0]
        return out.T.copy() if self.channels_first else out


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise AudioError(f"{what} must be a whole number of Hz, got {type(value).__name__}")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise AudioError(f"{what} must be a whole number of Hz, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Pass 1: whole-input statistics with bounded memory
# --------------------------------------------------------------------------------------------


class InputStats:
    """Accumulates finiteness, length, extremes, DC offset and channel covariance over blocks."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.frames = 0
        self.finite = True
        self.first_bad = -1
        self._sum = np.zeros(channels)
        self._gram = np.zeros((channels, channels))
        self._max = np.full(channels, -np.inf)
        self._min = np.full(channels, np.inf)

    def push(self, block: np.ndarray) -> None:
        x = np.asarray(block)
        if self.finite and not np.all(np.isfinite(x)):
            self.finite = False
            self.first_bad = self.frames + int(np.argmin(np.all(np.isfinite(x), axis=1)))
        if self.finite and len(x):
            x64 = x.astype(np.float64)
            self._sum += x64.sum(axis=0)
            self._gram += x64.T @ x64
            self._max = np.maximum(self._max, x.max(axis=0))
            self._min = np.minimum(self._min, x.min(axis=0))
        self.frames += len(x)

    @property
    def dc(self) -> np.ndarray:
        """Per-channel mean (C,): the DC offset removed before any level analysis."""
        return (self._sum / max(self.frames, 1)).astype(np.float32)

    @property
    def covariance(self) -> np.ndarray:
        n = max(self.frames, 1)
        mean = self._sum / n
        return self._gram / n - np.outer(mean, mean)

    def ac_peak(self) -> float:
        """Largest |x - DC| over channels (max and min are tracked, so this is exact)."""
        dc = self._sum / max(self.frames, 1)
        return float(np.max(np.maximum(self._max - dc, dc - self._min)))

    def raw_peak(self) -> float:
        return float(np.max(np.maximum(np.abs(self._max), np.abs(self._min))))

    def mix_weights(self) -> np.ndarray:
        """Mono mix-down weights (C,): the mean of the channels, each sign-aligned with the loudest.

        Anti-phase stereo (L = -R) would cancel to silence in a plain mean; aligning signs by
        covariance keeps it (and is the plain mean for ordinary recordings).
        """
        cov = self.covariance
        ref = int(np.argmax(np.diag(cov)))
        signs = np.where(cov[:, ref] < 0, -1.0, 1.0)
        return (signs / self.channels).astype(np.float32)

    def upmix_gains(self, weights: np.ndarray) -> np.ndarray:
        """Gains (C,) that spread a mono result over the channels: each channel's projection on the mix.

        Identical channels get 1, anti-phase ones +-1, a silent channel 0, so a mono engine's
        output keeps each channel's level and polarity relative to the mix.
        """
        cov = self.covariance
        w = weights.astype(np.float64)
        mix_var = float(w @ cov @ w)
        if mix_var <= 1e-20:
            return np.ones(self.channels, dtype=np.float32)
        return (cov @ w / mix_var).astype(np.float32)

    def check(self, policy: InputConfig, name: str, sample_rate: int) -> None:
        """Raise AudioError when the input breaks the policy (NaN, length, silence, DC only)."""
        if not self.finite:
            raise AudioError(
                f"{name}: audio contains NaN or infinite samples (first at {self.first_bad / sample_rate:.2f} s); "
                "re-export the file"
            )
        if self.frames == 0:
            raise AudioError(f"{name}: the file holds no audio samples")
        _check_length(name, self.frames / sample_rate, policy)
        peak_db = _db(self.ac_peak())
        if peak_db < policy.silence_dbfs:
            raw_db = _db(self.raw_peak())
            if raw_db >= policy.silence_dbfs:
                offsets = ", ".join(f"{v:+.3f}" for v in self.dc[:4])
                raise AudioError(
                    f"{name}: holds only a constant (DC) offset ({offsets}), no sound: peak {peak_db:.0f} dBFS "
                    f"once the offset is removed, below {policy.silence_dbfs:g} dBFS"
                )
            raise AudioError(
                f"{name}: the recording is silent (peak {peak_db:.0f} dBFS, below {policy.silence_dbfs:g} dBFS)"
            )


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def scan(source: FileSource | ArraySource, policy: InputConfig) -> InputStats:
    """Pass 1 over ``source``: the statistics, checked against ``policy``."""
    stats = InputStats(source.info.channels)
    for block in source.blocks():
        stats.push(block)
    stats.check(policy, source.info.name, source.info.sample_rate)
    return stats


# --------------------------------------------------------------------------------------------
# Streaming stages
# --------------------------------------------------------------------------------------------


class StreamResampler:
    """Band-limited resampling of a (T, C) stream (soxr HQ); exact length ``round(n_in * ratio)``."""

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = "HQ") -> None:
        self.in_rate, self.out_rate, self.channels = int(in_rate), int(out_rate), int(channels)
        self.n_in = self.n_out = 0
        self._rs = None
        if self.in_rate != self.out_rate:
            import soxr  # a librosa dependency; imported lazily to keep start-up fast

            self._rs = soxr.ResampleStream(self.in_rate, self.out_rate, self.channels, dtype="float32",
                                           quality=quality)

    @property
    def passthrough(self) -> bool:
        return self._rs is None

    def push(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.channels)
        self.n_in += len(x)
        if self._rs is None:
            y = x
        else:
            y = self._rs.resample_chunk(x, last=last)
        if last:
            want = round(self.n_in * self.out_rate / self.in_rate)
            extra = self.n_out + len(y) - want
            if extra > 0:
                y = y[: len(y) - extra]
            elif extra < 0:
                y = np.concatenate([y, np.zeros((-extra, self.channels), np.float32)])
        self.n_out += len(y)
        return y

    def flush(self) -> np.ndarray:
        return self.push(np.zeros((0, self.channels), np.float32), last=True)


def _frame_power(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean power over channels of 2*hop-sample frames, hop apart, of ``x`` (T, C)."""
    p = np.mean(np.square(x, dtype=np.float32), axis=1) if x.ndim == 2 else np.square(x, dtype=np.float32)
    frame = 2 * hop
    if len(p) < frame:
        return np.array([float(np.mean(p))]) if len(p) else np.zeros(1)
    win = np.lib.stride_tricks.sliding_window_view(p, frame)[::hop]
    return win.mean(axis=1, dtype=np.float64)


def quietest_cut(x: np.ndarray, lo: int, hi: int, hop: int) -> int:
    """Sample index in [lo, hi] at the centre of the quietest 2*hop frame of ``x[lo:hi]``."""
    hi = max(hi, lo + 1)
    power = _frame_power(x[lo:hi], hop)
    cut = lo + int(np.argmin(power)) * hop + hop
    return int(min(max(cut, lo), hi))


class PauseChunker:
    """Cuts a (T, C) stream into chunks of at most ``max_seconds``, each cut in the quietest frame.

    Memory is bounded by the look-ahead buffer (under two chunks). A cut is chosen in the last
    third of the allowed span; near the end the remainder is split near its middle, so no chunk
    is shorter than a third of the maximum unless the input is. Every chunk but the last carries
    ``overlap_seconds`` past its cut, for the cross-fade (the next chunk starts at the cut).
    :meth:`push` and :meth:`flush` return ``(chunk, lead, tail)`` triples: ``lead`` samples at
    the start repeat the previous chunk's end, ``tail`` samples at the end repeat the next's start.
    """

    def __init__(self, sample_rate: int, max_seconds: float = 20.0, overlap_seconds: float = 0.02) -> None:
        self.hop = max(1, int(sample_rate) // 100)
        self.max_len = max(4 * self.hop, int(max_seconds * sample_rate))
        self.overlap = max(0, min(int(overlap_seconds * sample_rate), self.max_len // 4))
        self._parts: list[np.ndarray] = []
        self._n = 0
        self._lead = 0

    def _take(self) -> np.ndarray:
        buf = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = [buf]
        return buf

    def _emit(self, buf: np.ndarray, cut: int) -> tuple[np.ndarray, int, int]:
        end = min(len(buf), cut + self.overlap)
        chunk = buf[:end]
        rest = buf[cut:]
        self._parts, self._n = ([rest] if len(rest) else []), len(rest)
        out = (chunk, self._lead, end - cut)
        self._lead = end - cut
        return out

    def push(self, x: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
        if len(x):
            self._parts.append(x)
            self._n += len(x)
        out = []
        while self._n >= 2 * self.max_len + self.overlap:
            buf = self._take()
            cut = quietest_cut(buf, (2 * self.max_len) // 3, self.max_len, self.hop)
            out.append(self._emit(buf, cut))
        return out

    def flush(self) -> list[tuple[np.ndarray, int, int]]:
        out = []
        if self._n > self.max_len:
            buf = self._take()
            n = len(buf)
            lo = max(n - self.max_len, n // 2 - self.max_len // 6)
            hi = min(self.max_len, n // 2 + self.max_len // 6)
            out.append(self._emit(buf, quietest_cut(buf, lo, hi, self.hop)))
        if self._n:
            buf = self._take()
            out.append((buf, self._lead, 0))
        self._parts, self._n, self._lead = [], 0, 0
        return out


class CrossfadeJoiner:
    """Joins converted chunks, cross-fading the parts that render the same input samples.

    ``push(y, n_in, lead, tail)``: ``y`` (T', C) renders ``n_in`` input samples whose first
    ``lead`` and last ``tail`` overlap the neighbouring chunks (as :class:`PauseChunker` gives
    them). Overlaps scale with the chunk's length ratio (engines may change tempo). The fade is
    a raised cosine with gains summing to one, right for two renderings of the same signal: an
    engine that returns its input is reconstructed exactly.
    """

    def __init__(self) -> None:
        self._tail: np.ndarray | None = None

    def push(self, y: np.ndarray, n_in: int, lead: int = 0, tail: int = 0) -> np.ndarray:
        ratio = len(y) / max(n_in, 1)
        head_n = min(len(y), round(lead * ratio))
        tail_n = min(len(y) - head_n, round(tail * ratio))
        pieces = []
        body_start = 0
        if self._tail is not None and len(self._tail):
            # Both render the same input span; lengths may differ by rounding: mix the common part.
            n = min(len(self._tail), head_n)
            if n:
                w = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)[:, None]
                pieces.append(self._tail[:n] * (1.0 - w) + y[:n] * w)
                body_start = n
            else:
                pieces.append(self._tail)
        pieces.append(y[body_start : len(y) - tail_n])
        self._tail = y[len(y) - tail_n :] if tail_n else None
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    def flush(self) -> np.ndarray | None:
        tail, self._tail = self._tail, None
        return tail


class PeakLimiter:
    """Keeps ``|x| <= limit`` on a (T, C) stream with a smooth gain that only dips around peaks.

    Gain = moving average (5 ms) of the running minimum (10 ms each side) of ``limit / max_c |x|``,
    then never above that need, so the output cannot exceed the limit; one gain for all channels
    keeps the stereo image. The stream is delayed by the filters' reach (~13 ms) and the result
    equals processing the whole signal at once. ``summary()`` says what it did.
    """

    def __init__(self, sample_rate: int, limit: float = PEAK_LIMIT) -> None:
        self.limit = float(limit)
        self.w = max(1, int(0.005 * sample_rate))
        self.reach = 2 * self.w + self.w // 2 + 2
        self._hist: np.ndarray | None = None
        self._pend: np.ndarray | None = None
        self.peak = 0.0
        self.min_gain = 1.0
        self.reduced = 0
        self.total = 0

    def _gain(self, seg: np.ndarray) -> np.ndarray:
        from scipy.ndimage import minimum_filter1d, uniform_filter1d

        need = np.minimum(1.0, self.limit / np.maximum(np.max(np.abs(seg), axis=1), 1e-12))
        gain = uniform_filter1d(minimum_filter1d(need, size=4 * self.w + 1, mode="nearest"), size=self.w,
                                mode="nearest")
        return np.minimum(gain, need).astype(np.float32)

    def _process(self, final: bool) -> np.ndarray:
        pend = self._pend
        if pend is None or not len(pend):
            return np.zeros((0, 0 if pend is None else pend.shape[1]), np.float32)
        keep = 0 if final else min(len(pend), self.reach)
        n_out = len(pend) - keep
        if n_out <= 0:
            return pend[:0]
        hist = self._hist if self._hist is not None else pend[:0]
        seg = np.concatenate([hist, pend]) if len(hist) else pend
        if float(np.max(np.abs(seg))) <= self.limit:
            out = pend[:n_out]
        else:
            gain = self._gain(seg)[len(hist) : len(hist) + n_out]
            out = pend[:n_out] * gain[:, None]
            self.min_gain = min(self.min_gain, float(gain.min()))
            self.reduced += int(np.count_nonzero(gain < 0.999))
        self.peak = max(self.peak, float(np.max(np.abs(pend[:n_out]))) if n_out else 0.0)
        self.total += n_out
        done = seg[: len(hist) + n_out]
        self._hist = done[-self.reach :].copy()
        self._pend = pend[n_out:].copy()
        return out.astype(np.float32, copy=False)

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        self._pend = x if self._pend is None or not len(self._pend) else np.concatenate([self._pend, x])
        return self._process(final=False)

    def flush(self) -> np.ndarray:
        return self._process(final=True)

    @property
    def active(self) -> bool:
        return self.reduced > 0

    def summary(self) -> str:
        return (
            f"limiter: the peak would reach {_db(self.peak):.1f} dBFS; reduced by up to "
            f"{-_db(self.min_gain):.1f} dB on {100.0 * self.reduced / max(self.total, 1):.1f} % of samples"
        )


def limit_peaks(wav: np.ndarray, sample_rate: int, limit: float = PEAK_LIMIT) -> np.ndarray:
    """Whole-array :class:`PeakLimiter`: ``wav`` (T,) or (T, C) -> same shape, ``|x| <= limit``."""
    x = np.asarray(wav, dtype=np.float32)
    lim = PeakLimiter(sample_rate, limit)
    x2 = x[:, None] if x.ndim == 1 else x
    out = np.concatenate([lim.push(x2), lim.flush()])
    if lim.active:
        log.info("%s", lim.summary())
    return out[:, 0] if x.ndim == 1 else out


# --------------------------------------------------------------------------------------------
# Whole-array helpers (features, training, tests)
# --------------------------------------------------------------------------------------------


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling of a (T,) or (T, C) float waveform (soxr, high quality)."""
    if orig_sr == target_sr:
        return np.asarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(wav, dtype=np.float32), orig_sr, target_sr, quality="HQ").astype(np.float32)


def read_mono(source: FileSource | ArraySource, sample_rate: int, policy: InputConfig) -> np.ndarray:
    """Pass 1 (policy) then pass 2: DC removed, mixed to mono, resampled: (T,) float32."""
    stats = scan(source, policy)
    dc, weights = stats.dc, stats.mix_weights()
    rs = StreamResampler(source.info.sample_rate, sample_rate, 1)
    parts = [rs.push((block - dc) @ weights[:, None]) for block in source.blocks()]
    parts.append(rs.flush())
    return np.concatenate(parts)[:, 0]


def load_audio(path: str | Path, audio=None, policy: InputConfig | None = None, sample_rate: int | None = None) -> np.ndarray:
    """Read ``path`` as mono float32 at ``sample_rate`` (default ``audio.sample_rate``, 16 kHz).

    The header is checked before decoding, blocks are streamed, the policy (NaN/Inf, silence,
    DC only, length) is checked, the DC offset removed and the channels mixed sign-aligned.
    Returns ``wav`` (T,).
    """
    from promptevc.config import AudioConfig

    policy = policy or InputConfig()
    rate = sample_rate or (audio or AudioConfig()).sample_rate
    return read_mono(FileSource(path, policy), rate, policy)


def prepare_waveform(wav: np.ndarray, sample_rate: int, audio=None, policy: InputConfig | None = None,
                     name: str = "input") -> np.ndarray:
    """The in-memory twin of :func:`load_audio`: validate, remove DC, mix down, resample -> (T,)."""
    from promptevc.config import AudioConfig

    policy = policy or InputConfig()
    return read_mono(ArraySource(wav, sample_rate, policy, name=name), (audio or AudioConfig()).sample_rate, policy)


def frame_rms_db(wav: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Frame RMS level in dB (frames centred at i * hop_length, zero-padded), floor -120 dB.

    Computed over a strided view in slices of frames, so memory is O(frames), not
    O(frames x frame_length).
    """
    x = np.asarray(wav, dtype=np.float32).reshape(-1)
    pad = frame_length // 2
    power = np.pad(np.square(x), (pad, pad))
    if len(power) < frame_length:
        power = np.pad(power, (0, frame_length - len(power)))
    n = 1 + (len(power) - frame_length) // hop_length
    view = np.lib.stride_tricks.sliding_window_view(power, frame_length)[::hop_length][:n]
    ms = np.empty(n)
    step = max(1, (1 << 22) // frame_length)
    for i in range(0, n, step):
        ms[i : i + step] = view[i : i + step].mean(axis=1, dtype=np.float64)
    return np.maximum(20 * np.log10(np.sqrt(ms + 1e-12) + 1e-12), -120.0)


def split_at_pauses(wav: np.ndarray, sample_rate: int, max_chunk_seconds: float = 20.0) -> list[tuple[int, int]]:
    """(start, end) ranges covering ``wav`` without gaps, each at most ``max_chunk_seconds``.

    The same cut rule as :class:`PauseChunker` (quietest 20 ms frame), on a whole array.
    """
    chunker = PauseChunker(sample_rate, max_chunk_seconds, overlap_seconds=0.0)
    x = np.asarray(wav)
    x2 = x[:, None] if x.ndim == 1 else x
    ranges, start = [], 0
    for chunk, _, _ in chunker.push(x2) + chunker.flush():
        ranges.append((start, start + len(chunk)))
        start += len(chunk)
    return ranges


def process_in_chunks(wav: np.ndarray, sample_rate: int, fn: Callable[[np.ndarray], np.ndarray],
                      policy: InputConfig | None = None) -> np.ndarray:
    """Apply ``fn`` (T,) -> (T',) chunk by chunk (cut at pauses, cross-faded) to a whole array."""
    policy = policy or InputConfig()
    chunker = PauseChunker(sample_rate, policy.chunk_seconds, policy.crossfade_seconds)
    joiner = CrossfadeJoiner()
    x = np.asarray(wav, dtype=np.float32)
    out = []
    for chunk, lead, tail in chunker.push(x[:, None]) + chunker.flush():
        y = np.asarray(fn(chunk[:, 0]), dtype=np.float32)[:, None]
        out.append(joiner.push(y, len(chunk), lead, tail))
    rest = joiner.flush()
    if rest is not None:
        out.append(rest)
    return np.concatenate(out)[:, 0] if out else np.zeros(0, np.float32)
