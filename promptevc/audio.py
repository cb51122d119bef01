"""Audio in and out: the only home of sample-rate policy (DESIGN §2).

- :func:`load_audio` reads anything libsndfile reads, mixes down to mono, resamples to the
  AudioConfig rate and enforces the input policy with one-line errors.
- :func:`write_audio` writes atomically (temp file + rename) and never clobbers the input.
- :func:`split_at_pauses` / :func:`join_with_crossfade` let engines process long input in
  chunks cut in pauses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from promptevc.config import AudioConfig, InputConfig
from promptevc.errors import AudioError, OutputExistsError


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling of a mono float waveform (soxr, high quality)."""
    if orig_sr == target_sr:
        return wav.astype(np.float32, copy=False)
    import soxr  # ships with librosa; imported lazily to keep start-up fast

    return soxr.resample(wav.astype(np.float32), orig_sr, target_sr, quality="HQ").astype(np.float32)


def validate_waveform(
    wav: np.ndarray, sample_rate: int, name: str, policy: InputConfig | None = None
) -> None:
    """Raise AudioError when ``wav`` breaks the input policy (non-finite, short, silent, long)."""
    policy = policy or InputConfig()
    if wav.size == 0:
        raise AudioError(f"{name}: the file holds no audio samples")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{name}: audio contains NaN or infinite samples; re-export the file")
    seconds = wav.shape[-1] / sample_rate
    if seconds < policy.min_seconds:
        raise AudioError(
            f"{name}: {seconds:.2f} s of audio; need at least {policy.min_seconds:g} s"
        )
    if seconds > policy.max_seconds:
        raise AudioError(
            f"{name}: {seconds:.1f} s of audio exceeds the limit of {policy.max_seconds:g} s; "
            f"split the file or raise the limit (--max-seconds)"
        )
    peak = float(np.max(np.abs(wav)))
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_db < policy.silence_dbfs:
        raise AudioError(
            f"{name}: the recording is silent (peak {peak_db:.0f} dBFS, "
            f"below {policy.silence_dbfs:g} dBFS)"
        )


def load_audio(
    path: str | Path,
    audio: AudioConfig | None = None,
    policy: InputConfig | None = None,
) -> np.ndarray:
    """Read ``path`` as mono float32 at ``audio.sample_rate`` and check the input policy.

    Returns ``wav`` of shape (T,). Any format, rate, channel count and sample type that
    libsndfile reads is accepted.
    """
    audio = audio or AudioConfig()
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise AudioError(f"{name}: no such file")
    if path.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        msg = str(err).split("\n")[0]
        raise AudioError(f"{name}: cannot read audio ({msg})") from None
    if data.size == 0:
        raise AudioError(f"{name}: the file holds no audio samples")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return prepare_waveform(wav, sr, audio, policy, name=name)


def prepare_waveform(
    wav: np.ndarray,
    sample_rate: int,
    audio: AudioConfig | None = None,
    policy: InputConfig | None = None,
    name: str = "input",
) -> np.ndarray:
    """Mix down, convert to float32, validate, resample: the in-memory twin of load_audio."""
    audio = audio or AudioConfig()
    wav = np.asarray(wav)
    if wav.ndim == 2:
        # (T, C) as soundfile returns, or (C, T) when channels come first.
        wav = wav.mean(axis=1) if wav.shape[0] >= wav.shape[1] else wav.mean(axis=0)
    elif wav.ndim != 1:
        raise AudioError(f"{name}: expected mono or (samples, channels) audio, got {wav.shape}")
    if np.issubdtype(wav.dtype, np.integer):
        wav = wav.astype(np.float32) / float(np.iinfo(wav.dtype).max)
    wav = wav.astype(np.float32, copy=False)
    if sample_rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate}")
    validate_waveform(wav, sample_rate, name, policy)
    return resample(wav, sample_rate, audio.sample_rate)


def check_output_path(output: str | Path, inputs: list[str | Path] = (), overwrite: bool = False) -> Path:
    """Refuse an output that would overwrite an input, or an existing file without overwrite."""
    out = Path(output)
    for inp in inputs:
        try:
            same = out.exists() and Path(inp).exists() and out.samefile(inp)
        except OSError:
            same = False
        if same or out.resolve() == Path(inp).resolve():
            raise OutputExistsError(f"{out}: output would overwrite the input; choose another path")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out}: exists; pass --overwrite to replace it")
    if out.exists() and out.is_dir():
        raise OutputExistsError(f"{out}: is a directory")
    return out


def write_audio(
    path: str | Path,
    wav: np.ndarray,
    sample_rate: int,
    overwrite: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write ``wav`` (T,) atomically: a temp file in the same folder, then rename into place.

    The format follows the extension (wav, flac, ogg ...). Samples are clipped to [-1, 1].
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: exists; pass --overwrite to replace it")
    wav = np.clip(np.nan_to_num(np.asarray(wav, dtype=np.float32)), -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = sf.available_formats().get(path.suffix.lstrip(".").upper())
    if fmt is None:
        raise AudioError(f"{path}: unsupported output format {path.suffix!r}; use .wav or .flac")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, wav, sample_rate, format=path.suffix.lstrip(".").upper(), subtype=subtype)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Long input: split at pauses, process, join with cross-fades
# --------------------------------------------------------------------------------------------


def frame_rms_db(wav: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Frame RMS level in dB (frames centred at i * hop_length), floor -120 dB."""
    pad = frame_length // 2
    padded = np.pad(wav, (pad, pad))
    n = 1 + (len(padded) - frame_length) // hop_length if len(padded) >= frame_length else 1
    idx = np.arange(frame_length)[None, :] + hop_length * np.arange(n)[:, None]
    idx = np.minimum(idx, len(padded) - 1)
    rms = np.sqrt(np.mean(padded[idx] ** 2, axis=1) + 1e-12)
    return np.maximum(20 * np.log10(rms + 1e-12), -120.0)


def split_at_pauses(
    wav: np.ndarray, sample_rate: int, max_chunk_seconds: float = 20.0
) -> list[tuple[int, int]]:
    """Cut points for chunks of at most ``max_chunk_seconds``, placed in the quietest frames.

    Returns a list of (start, end) sample ranges covering ``wav`` without gaps. Each cut is the
    lowest-energy 10 ms frame in the last third of the allowed span, so cuts fall in pauses when
    there are any.
    """
    total = len(wav)
    max_len = int(max_chunk_seconds * sample_rate)
    if total <= max_len:
        return [(0, total)]
    hop = max(1, sample_rate // 100)
    level = frame_rms_db(wav, 2 * hop, hop)
    bounds = []
    start = 0
    while total - start > max_len:
        lo = start + (2 * max_len) // 3
        hi = start + max_len
        f_lo, f_hi = lo // hop, max(lo // hop + 1, hi // hop)
        seg = level[f_lo:f_hi]
        cut = (f_lo + int(np.argmin(seg))) * hop
        cut = int(min(max(cut, start + 1), total))
        bounds.append((start, cut))
        start = cut
    bounds.append((start, total))
    return bounds


def join_with_crossfade(chunks: list[np.ndarray], sample_rate: int, crossfade_seconds: float = 0.02) -> np.ndarray:
    """Concatenate chunks, overlapping each boundary by an equal-power cross-fade."""
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    out = chunks[0].astype(np.float32)
    n_fade = int(crossfade_seconds * sample_rate)
    for chunk in chunks[1:]:
        chunk = chunk.astype(np.float32)
        n = min(n_fade, len(out), len(chunk))
        if n > 0:
            t = np.linspace(0, np.pi / 2, n, dtype=np.float32)
            mixed = out[-n:] * np.cos(t) + chunk[:n] * np.sin(t)
            out = np.concatenate([out[:-n], mixed, chunk[n:]])
        else:
            out = np.concatenate([out, chunk])
    return out


def process_in_chunks(
    wav: np.ndarray,
    sample_rate: int,
    fn: Callable[[np.ndarray], np.ndarray],
    policy: InputConfig | None = None,
) -> np.ndarray:
    """Apply ``fn`` (wav -> wav at the same rate) chunk by chunk for long input."""
    policy = policy or InputConfig()
    ranges = split_at_pauses(wav, sample_rate, policy.chunk_seconds)
    if len(ranges) == 1:
        return fn(wav)
    return join_with_crossfade([fn(wav[a:b]) for a, b in ranges], sample_rate, policy.crossfade_seconds)
