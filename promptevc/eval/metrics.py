"""Objective metrics for emotion conversion: pure functions on 16 kHz waveforms or their analyses.

Analysis (:func:`analyse`): WORLD at a 5 ms frame period, on the waveform without its DC offset
and without mains hum (:func:`promptevc.features.prosody.f0_input`; neither is speech: the
Converter removes DC before converting and WORLD resynthesis does not reproduce a hum, so a
source that keeps them would be compared with an output that cannot — F0 trackers call a 60 Hz
hum voiced, and a DC offset raises the level of pauses). F0 by DIO + StoneMask (``harvest``
optional), spectral envelope by CheapTrick, mel-cepstra by ``pyworld.code_spectral_envelope``
with 25 coefficients of which c0 (the frame energy) is dropped, so order 24 (c1..c24); frame
level in dB from a 25 ms RMS window on the same frame grid; speech frames from
:func:`speech_activity`.

Against a target reference (the paper metrics, DTW-aligned):
    MCD (dB) = mean over aligned frame pairs of 10/ln(10) * sqrt(2 * sum_d (c_d - c'_d)^2), d = 1..24;
    F0 RMSE in Hz and log-F0 RMSE in cents over pairs voiced in both; voiced/unvoiced agreement;
    absolute duration difference in seconds.
Against the source (how much the conversion changed the prosody; output minus source):
    median F0 shift (semitones), F0 range ratio (5-95 percentile spans in semitones, over the
    frames voiced in both on the DTW path, see :func:`f0_range_ratio`), tempo ratio (output
    frames aligned to the source's speech frames over their number, so slower > 1), energy
    change (dB of the mean power of speech frames), spectral tilt change (dB change of the
    envelope's energy above 1 kHz over below it, voiced speech frames) and pause stretch
    (internal-pause ratio over tempo ratio, on the same path).
Plus WER/CER (:func:`error_rate`) and Spearman correlation for intensity monotonicity.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

FRAME_PERIOD_MS = 5.0
MCEP_ORDER = 24  # c1..c24; c0 (energy) is excluded from MCD
LEVEL_WINDOW_S = 0.025
# Band split of the spectral-balance measure: the ~1 kHz boundary that Banse & Scherer (1996)
# use for the share of energy above 1 kHz, where the prosody engine's tilt shelf is centred.
TILT_SPLIT_HZ = 1000.0
# Internal pauses shorter than this (in the source) are too short to measure a pause stretch:
# on 3-7 s read sentences with 0.07-0.3 s of pauses, a near-identity WORLD resynthesis already
# moves the ratio by a factor 0.6-1.9, as speech/pause decisions flip at the edges.
MIN_PAUSE_S = 0.3
# F0 range: voiced frames this close to a voicing onset or offset are left out. There F0 falls or
# rises fastest, trackers disagree most, and a resynthesis (which interpolates F0 and voicing
# between frames) moves F0 most: on real read speech the voiced-run edges set the 5-95 % span of a
# 1-3 s clip.
EDGE_FRAMES = 2
# DTW cost matrices above this many cells (~10 s against 10 s at 5 ms) are aligned at a lower
# frame rate to bound memory.
MAX_DTW_CELLS = 4_000_000
_MCD_CONST = 10.0 / math.log(10.0) * math.sqrt(2.0)


@dataclass
class Analysis:
    """Frame-level analysis of one utterance; all arrays have F frames at ``frame_period_ms``.

    f0 (F,) Hz, 0 where unvoiced; mcep (F, 24) mel-cepstra c1..c24; level_db (F,) frame RMS in
    dB; speech (F,) bool from :func:`speech_activity`; duration_s the whole file's length;
    tilt_db (F,) power of the spectral envelope above ``TILT_SPLIT_HZ`` over the power below it,
    in dB (empty when the envelope was not computed); hum_hz the mains hum removed before the
    analysis (0: none).
    """

    sample_rate: int
    frame_period_ms: float
    f0: np.ndarray
    mcep: np.ndarray
    level_db: np.ndarray
    speech: np.ndarray
    duration_s: float
    tilt_db: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    hum_hz: float = 0.0

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.f0)) * self.frame_period_ms / 1000.0


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.pad(x, (0, n - len(x)), mode="edge" if len(x) else "constant")


def extract_world_f0(
    wav: np.ndarray,
    sample_rate: int = 16000,
    method: str = "dio",
    frame_period_ms: float = FRAME_PERIOD_MS,
    f0_min: float = 50.0,
    f0_max: float = 800.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(f0 (F,) Hz, times (F,) s)`` from WORLD on its own frame grid (F = T / period + 1)."""
    import pyworld

    x = np.ascontiguousarray(wav, dtype=np.float64)
    if method == "dio":
        f0, t = pyworld.dio(x, sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=frame_period_ms)
        f0 = pyworld.stonemask(x, f0, t, sample_rate)
    elif method == "harvest":
        f0, t = pyworld.harvest(x, sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=frame_period_ms)
    else:
        raise ValueError(f"unknown F0 method {method!r}; choose dio or harvest")
    return f0, t


def spectral_envelope(wav: np.ndarray, f0: np.ndarray, times: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """WORLD CheapTrick power envelope ``(F, n_fft // 2 + 1)``."""
    import pyworld

    return pyworld.cheaptrick(np.ascontiguousarray(wav, dtype=np.float64), f0, times, sample_rate)


def mel_cepstrum(wav: np.ndarray, f0: np.ndarray, times: np.ndarray, sample_rate: int = 16000,
                 order: int = MCEP_ORDER, envelope: np.ndarray | None = None) -> np.ndarray:
    """Mel-cepstra c1..c_order ``(F, order)`` from WORLD's CheapTrick envelope (c0 dropped)."""
    import pyworld

    sp = spectral_envelope(wav, f0, times, sample_rate) if envelope is None else envelope
    coded = pyworld.code_spectral_envelope(sp, sample_rate, order + 1)
    return coded[:, 1:].astype(np.float64)


def band_balance_db(envelope: np.ndarray, sample_rate: int = 16000, split_hz: float = TILT_SPLIT_HZ) -> np.ndarray:
    """Per frame, envelope power above ``split_hz`` over power below it, in dB: ``(F,)``."""
    sp = np.asarray(envelope, dtype=np.float64)
    freqs = np.linspace(0.0, sample_rate / 2.0, sp.shape[1])
    high = sp[:, freqs >= split_hz].sum(axis=1)
    low = sp[:, (freqs < split_hz) & (freqs > 0)].sum(axis=1)
    return 10.0 * np.log10((high + 1e-30) / (low + 1e-30))


def speech_activity(
    level_db: np.ndarray,
    voiced: np.ndarray,
    frame_period_ms: float = FRAME_PERIOD_MS,
    range_db: float = 35.0,
    min_gap_s: float = 0.06,
    min_speech_s: float = 0.03,
) -> np.ndarray:
    """Speech frames ``(F,)`` bool from frame level ``(F,)`` dB and voicing ``(F,)``.

    A frame is speech when it is voiced and above the noise floor, or when its level is within
    ``range_db`` of the loud end (99th percentile) and well above the floor (10th percentile).
    Gaps shorter than ``min_gap_s`` (stop closures) are filled and islands shorter than
    ``min_speech_s`` removed. Thresholds are relative, so a gain change does not move them.
    """
    level = np.asarray(level_db, dtype=np.float64)
    if level.size == 0:
        return np.zeros(0, dtype=bool)
    voiced = np.asarray(voiced, dtype=bool)
    floor = float(np.percentile(level, 10))
    peak = float(np.percentile(level, 99))
    threshold = max(peak - range_db, floor + 0.25 * (peak - floor))
    speech = (level > threshold) | (voiced & (level > floor + 0.1 * (peak - floor)))
    frame_s = frame_period_ms / 1000.0
    speech = _fill_runs(speech, value=False, max_len=round(min_gap_s / frame_s))
    speech = _fill_runs(speech, value=True, max_len=round(min_speech_s / frame_s))
    return speech


def _fill_runs(mask: np.ndarray, value: bool, max_len: int) -> np.ndarray:
    """Flip interior runs of ``value`` no longer than ``max_len`` frames (edges for True runs too)."""
    out = mask.copy()
    n = len(mask)
    i = 0
    while i < n:
        if mask[i] != value:
            i += 1
            continue
        j = i
        while j < n and mask[j] == value:
            j += 1
        interior = i > 0 and j < n
        # Gaps (False runs) are only filled between speech; short speech islands go anywhere.
        if j - i <= max_len and (interior or value):
            out[i:j] = not value
        i = j
    return out


def analyse(
    wav: np.ndarray,
    sample_rate: int = 16000,
    f0_method: str = "dio",
    frame_period_ms: float = FRAME_PERIOD_MS,
    f0_min: float = 50.0,
    f0_max: float = 800.0,
    with_mcep: bool = True,
    remove_hum: bool = True,
) -> Analysis:
    """WORLD analysis of ``wav (T,)`` without its DC offset and (``remove_hum``) mains hum; see
    the module docstring."""
    from promptevc.audio import frame_rms_db
    from promptevc.features.prosody import f0_input

    clean, hum = f0_input(np.asarray(wav, dtype=np.float64).reshape(-1), sample_rate,
                          "detect" if remove_hum else None)
    wav = clean.astype(np.float32)
    f0, times = extract_world_f0(wav, sample_rate, f0_method, frame_period_ms, f0_min, f0_max)
    n = len(f0)
    hop = sample_rate * frame_period_ms / 1000.0
    if abs(hop - round(hop)) > 1e-9:
        raise ValueError(f"frame period {frame_period_ms} ms is not a whole number of samples")
    level = _fit(frame_rms_db(wav, round(LEVEL_WINDOW_S * sample_rate), round(hop)), n)
    if with_mcep:
        envelope = spectral_envelope(wav, f0, times, sample_rate)
        mcep = mel_cepstrum(wav, f0, times, sample_rate, envelope=envelope)
        tilt = band_balance_db(envelope, sample_rate)
    else:
        mcep, tilt = np.zeros((n, 0)), np.zeros(0)
    speech = speech_activity(level, f0 > 0, frame_period_ms)
    return Analysis(sample_rate, frame_period_ms, f0.astype(np.float64), mcep, level.astype(np.float64),
                    speech, len(wav) / sample_rate, tilt, hum.hz if hum is not None else 0.0)


# --------------------------------------------------------------------------------------------
# Against a reference: DTW-aligned MCD, F0 RMSE, V/UV agreement, duration
# --------------------------------------------------------------------------------------------


def _trim_range(speech: np.ndarray) -> slice:
    """Frames from the first to the last speech frame (the whole file when none is speech)."""
    idx = np.flatnonzero(speech)
    if idx.size == 0:
        return slice(0, len(speech))
    return slice(int(idx[0]), int(idx[-1]) + 1)


def _dtw_full(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact DTW (steps (1,0), (0,1), (1,1); Euclidean frame cost), vectorised over anti-diagonals."""
    n, m = len(x), len(y)
    xx = np.sum(x * x, axis=1)[:, None]
    yy = np.sum(y * y, axis=1)[None, :]
    cost = np.sqrt(np.maximum(xx + yy - 2.0 * (x @ y.T), 0.0))  # (n, m)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    # Cells with i + j = k depend only on diagonals k-1 and k-2, so each diagonal is one numpy step.
    for k in range(2, n + m + 1):
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = cost[i - 1, j - 1] + best
    i, j = n, m
    path = [(i - 1, j - 1)]
    while (i, j) != (1, 1):
        steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))  # diagonal first on ties
        i, j = min(steps, key=lambda s: acc[s])
        path.append((i - 1, j - 1))
    path_arr = np.asarray(path[::-1], dtype=int)
    return path_arr[:, 0], path_arr[:, 1]


def dtw_path(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean DTW between ``x (N, D)`` and ``y (M, D)``; returns index arrays ``(ix (L,), iy (L,))``.

    Sequences whose cost matrix would exceed MAX_DTW_CELLS are aligned on every 2nd (4th, ...)
    frame and the path is expanded back, which keeps memory bounded for long files.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("DTW needs two non-empty sequences")
    step = 1
    while math.ceil(len(x) / step) * math.ceil(len(y) / step) > MAX_DTW_CELLS:
        step *= 2
    ix, iy = _dtw_full(x[::step], y[::step])
    if step == 1:
        return ix, iy
    offsets = np.arange(step)
    ix = np.minimum(np.repeat(ix * step, step) + np.tile(offsets, len(ix)), len(x) - 1)
    iy = np.minimum(np.repeat(iy * step, step) + np.tile(offsets, len(iy)), len(y) - 1)
    return ix, iy


def mcd_aligned(ref_mcep: np.ndarray, conv_mcep: np.ndarray) -> float:
    """MCD in dB between two already aligned ``(L, 24)`` mel-cepstra sequences (c0 excluded)."""
    diff = np.asarray(ref_mcep, dtype=np.float64) - np.asarray(conv_mcep, dtype=np.float64)
    return float(np.mean(_MCD_CONST * np.sqrt(np.sum(diff**2, axis=1))))


def align(a: Analysis, b: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Frame pairs of ``a`` and ``b``: index arrays ``(ia (L,), ib (L,))`` into their frames.

    Leading and trailing non-speech is trimmed from both and the mel-cepstra are aligned by DTW
    (:func:`dtw_path`); needs analyses with mel-cepstra.
    """
    ra, rb = _trim_range(a.speech), _trim_range(b.speech)
    ia, ib = dtw_path(a.mcep[ra], b.mcep[rb])
    return ia + ra.start, ib + rb.start


def reference_metrics(ref: Analysis, conv: Analysis, path: tuple[np.ndarray, np.ndarray] | None = None,
                      ) -> dict[str, float]:
    """DTW-aligned metrics of ``conv`` against the target reference ``ref``.

    On the frame pairs of :func:`align` (or ``path``, an earlier result of it): ``mcd_db``;
    ``f0_rmse`` (Hz) and ``log_f0_rmse_cents`` over pairs voiced in both; ``vuv_agreement``
    (fraction of pairs with the same voicing decision); and ``dur_diff_s`` = |duration(conv) -
    duration(ref)| of the whole files.
    """
    ix, iy = align(ref, conv) if path is None else path
    rm, cm = ref.mcep[ix], conv.mcep[iy]
    rf, cf = ref.f0[ix], conv.f0[iy]
    both = (rf > 0) & (cf > 0)
    out = {
        "mcd_db": mcd_aligned(rm, cm),
        "vuv_agreement": float(np.mean((rf > 0) == (cf > 0))),
        "dur_diff_s": abs(conv.duration_s - ref.duration_s),
        "f0_rmse": math.nan,
        "log_f0_rmse_cents": math.nan,
    }
    if both.sum() >= 3:
        out["f0_rmse"] = float(np.sqrt(np.mean((rf[both] - cf[both]) ** 2)))
        out["log_f0_rmse_cents"] = float(1200 * np.sqrt(np.mean(np.log2(rf[both] / cf[both]) ** 2)))
    return out


# --------------------------------------------------------------------------------------------
# Against the source: F0 shift and range, tempo, energy
# --------------------------------------------------------------------------------------------


def hz_to_semitones(f0_hz: np.ndarray) -> np.ndarray:
    """Semitones relative to 1 Hz (only differences are meaningful)."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64))


def f0_shift_st(src: Analysis, conv: Analysis) -> float:
    """Median voiced F0 of ``conv`` minus that of ``src``, in semitones (NaN without voicing)."""
    if src.voiced.sum() < 3 or conv.voiced.sum() < 3:
        return math.nan
    return float(np.median(hz_to_semitones(conv.f0[conv.voiced])) - np.median(hz_to_semitones(src.f0[src.voiced])))


def f0_span_st(f0_hz: np.ndarray, low: float = 5.0, high: float = 95.0) -> float:
    """Span between the ``low`` and ``high`` percentiles of voiced F0, in semitones."""
    voiced = np.asarray(f0_hz)[np.asarray(f0_hz) > 0]
    if voiced.size < 3:
        return math.nan
    st = hz_to_semitones(voiced)
    return float(np.percentile(st, high) - np.percentile(st, low))


def voiced_core(voiced: np.ndarray, edge: int = EDGE_FRAMES) -> np.ndarray:
    """Voiced frames at least ``edge`` frames away from the ends of their voiced run (F,) bool."""
    from numpy.lib.stride_tricks import sliding_window_view

    v = np.asarray(voiced, dtype=bool)
    if edge <= 0:
        return v.copy()
    padded = np.concatenate([np.zeros(edge, dtype=bool), v, np.zeros(edge, dtype=bool)])
    return sliding_window_view(padded, 2 * edge + 1).all(axis=1)


def f0_range_ratio(src: Analysis, conv: Analysis, path: tuple[np.ndarray, np.ndarray] | None = None,
                   min_span_st: float = 0.1) -> float:
    """5-95 % F0 span (semitones) of ``conv`` over that of ``src``; > 1 = livelier melody.

    Both spans are taken over the same moments of the utterance: the frame pairs of ``path``
    (from :func:`align`) where both files are voiced, :data:`EDGE_FRAMES` or more frames inside
    their voiced runs. Comparing each file's own voiced frames instead lets the voicing
    decisions decide the span: on real 3 s read sentences a WORLD resynthesis with no change
    voices 5-15 % of the frames differently, mostly the low-F0 ends of phrases, and its span
    ratio then scatters by ±10 % per clip (±20 % on 1-2 s clips). Without ``path`` (analyses
    without mel-cepstra) each file's own voiced-run cores are used.
    """
    if path is None:
        s = f0_span_st(np.where(voiced_core(src.voiced), src.f0, 0.0))
        c = f0_span_st(np.where(voiced_core(conv.voiced), conv.f0, 0.0))
    else:
        ia, ib = path
        both = voiced_core(src.voiced)[ia] & voiced_core(conv.voiced)[ib]
        s, c = f0_span_st(src.f0[ia][both]), f0_span_st(conv.f0[ib][both])
    if not (s >= min_span_st) or math.isnan(c):
        return math.nan
    return c / s


def speech_seconds(analysis: Analysis) -> float:
    """Seconds marked as speech by :func:`speech_activity`."""
    return float(analysis.speech.sum() * analysis.frame_period_ms / 1000.0)


def _aligned_to(src_mask: np.ndarray, path: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    ia, ib = path
    hit = np.zeros(int(ib.max()) + 1, dtype=bool)
    hit[ib[src_mask[ia]]] = True
    return hit


def tempo_ratio(src: Analysis, conv: Analysis, path: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """How much longer ``conv`` takes to say what ``src`` says in its speech frames: slower > 1.

    With ``path`` (:func:`align`): the conversion's frames aligned to the source's speech frames
    over the number of those. Without: the ratio of the two files' own speech times
    (:func:`speech_seconds`), which follows each file's voicing and noise floor: on real 3 s
    read sentences a WORLD resynthesis with no change renders pauses 5-15 dB quieter and reads
    ×0.96-1.04 (median ×1.015) that way, ×0.97-1.01 (median ×0.998) on the path.
    """
    if path is not None and len(path[0]):
        ia, ib = path
        n_src = len(np.unique(ia[src.speech[ia]]))
        return float(_aligned_to(src.speech, path).sum()) / n_src if n_src else math.nan
    s = speech_seconds(src)
    return speech_seconds(conv) / s if s > 0 else math.nan


def speech_level_db(analysis: Analysis) -> float:
    """Mean power of the speech frames in dB (all frames when none is speech)."""
    mask = analysis.speech if analysis.speech.any() else np.ones_like(analysis.speech)
    power = 10.0 ** (analysis.level_db[mask] / 10.0)
    return float(10.0 * np.log10(np.mean(power) + 1e-20))


def energy_change_db(src: Analysis, conv: Analysis) -> float:
    """Active-speech level of ``conv`` minus that of ``src``, in dB."""
    return speech_level_db(conv) - speech_level_db(src)


def spectral_balance_db(analysis: Analysis) -> float:
    """Median over voiced speech frames of :func:`band_balance_db` (NaN without an envelope)."""
    if analysis.tilt_db.size == 0:
        return math.nan
    mask = analysis.speech & analysis.voiced
    if mask.sum() < 3:
        mask = analysis.speech if analysis.speech.sum() >= 3 else np.ones_like(analysis.speech)
    return float(np.median(analysis.tilt_db[mask]))


def tilt_change_db(src: Analysis, conv: Analysis) -> float:
    """Spectral balance (energy above 1 kHz over below) of ``conv`` minus that of ``src``, dB; > 0 = brighter."""
    return spectral_balance_db(conv) - spectral_balance_db(src)


def internal_pause_seconds(analysis: Analysis) -> float:
    """Non-speech time between the first and the last speech frame, in seconds."""
    span = analysis.speech[_trim_range(analysis.speech)]
    return float((~span).sum() * analysis.frame_period_ms / 1000.0) if analysis.speech.any() else 0.0


def pause_stretch(src: Analysis, conv: Analysis, path: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """How much more the internal pauses stretched than the speech: pause ratio / tempo ratio.

    With ``path``, the pause ratio counts the conversion's frames aligned to the source's
    internal pauses (and to no speech frame) over those pause frames, as :func:`tempo_ratio` does
    for speech; without, each file's own internal pause time. 1 = pauses and speech scaled
    alike; NaN when the source has under ``MIN_PAUSE_S`` of pauses.
    """
    ps = internal_pause_seconds(src)
    tempo = tempo_ratio(src, conv, path)
    if ps < MIN_PAUSE_S or not math.isfinite(tempo) or tempo <= 0:
        return math.nan
    if path is not None and len(path[0]):
        inside = np.zeros(len(src.speech), dtype=bool)
        inside[_trim_range(src.speech)] = True
        pause = inside & ~src.speech
        hit = _aligned_to(pause, path) & ~_aligned_to(src.speech, path)
        return (float(hit.sum()) / max(int(pause.sum()), 1)) / tempo
    return (internal_pause_seconds(conv) / ps) / tempo


def median_f0_hz(analysis: Analysis) -> float:
    """Median voiced F0 in Hz (NaN with fewer than three voiced frames)."""
    return float(np.median(analysis.f0[analysis.voiced])) if analysis.voiced.sum() >= 3 else math.nan


def describe_analysis(analysis: Analysis) -> dict[str, float]:
    """Absolute prosody of one utterance: median F0 (Hz), F0 span (st), speech time (s), level (dB), balance (dB)."""
    return {
        "f0_median_hz": median_f0_hz(analysis),
        "f0_span_st": f0_span_st(analysis.f0),
        "speech_s": speech_seconds(analysis),
        "level_db": speech_level_db(analysis),
        "spectral_balance_db": spectral_balance_db(analysis),
    }


def source_metrics(src: Analysis, conv: Analysis) -> dict[str, float]:
    """All change-against-source metrics as a dict (see the module docstring).

    One DTW alignment (:func:`align`, when both analyses have mel-cepstra) serves the F0 range,
    tempo and pause ratios and ``mcd_src_db``.
    """
    path = align(src, conv) if src.mcep.size and conv.mcep.size else None
    return {
        "f0_shift_st": f0_shift_st(src, conv),
        "f0_range_ratio": f0_range_ratio(src, conv, path),
        "tempo_ratio": tempo_ratio(src, conv, path),
        "energy_change_db": energy_change_db(src, conv),
        "tilt_change_db": tilt_change_db(src, conv),
        "pause_stretch": pause_stretch(src, conv, path),
        "mcd_src_db": reference_metrics(src, conv, path)["mcd_db"] if path is not None else math.nan,
    }


# --------------------------------------------------------------------------------------------
# Content: WER / CER
# --------------------------------------------------------------------------------------------


def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def error_rate(reference: str, hypothesis: str, unit: str = "word", language: str = "en") -> float:
    """WER (``unit="word"``) or CER (``unit="char"``, spaces count) after normalising both texts.

    Both go through :func:`promptevc.eval.normalize.normalize_text` for ``language``. NaN when
    the normalised reference is empty (nothing to measure against).
    """
    from promptevc.eval.normalize import normalize_text

    ref, hyp = normalize_text(reference, language), normalize_text(hypothesis, language)
    if unit == "word":
        r, h = ref.split(), hyp.split()
    elif unit == "char":
        r, h = list(ref), list(hyp)
    else:
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    if not r:
        return math.nan
    return edit_distance(r, h) / len(r)


# --------------------------------------------------------------------------------------------
# Monotonicity and similarity
# --------------------------------------------------------------------------------------------


def spearman(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """Spearman rank correlation over pairs where both are finite; NaN if undefined."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors ``(D,)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
