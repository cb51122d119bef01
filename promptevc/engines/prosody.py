"""The embedded default engine: an emotion prosody plan applied by WORLD analysis/synthesis.

Pipeline for one chunk (frames every ``frame_period_ms``):

1. analysis: DIO + StoneMask (F0; Harvest instead when DIO finds voicing in under 60 % of the
   active frames, see ``f0_method``), CheapTrick (spectral envelope), D4C (aperiodicity, computed
   on every ``ap_decimation``-th frame and interpolated: it is the slowest step and smooth in
   time);
2. time-scaling: each input frame gets an output duration; frames inside pauses (runs of at
   least ``min_pause_ms`` of unvoiced, low-level frames) stretch ``pause_scale`` times more than
   speech, and the total is exactly ``tempo`` x the input. Parameters are resampled at the new
   frame times (log-envelope and aperiodicity interpolated, voicing from the nearest frame);
3. F0: on voiced frames, ``log f0 -> mu + range * (log f0 - mu) + shift`` where ``mu`` is the
   utterance's voiced mean log-F0 (one value for the whole input, also when chunked);
4. tilt: a smooth high-shelf (centred at 1 kHz, rising from ~500 Hz to ~2 kHz) on the envelope; the
   rest of the speaker's envelope is untouched;
5. synthesis, then a gain that sets the active-speech level to input level + ``energy_db``;
6. after chunks are joined: a peak limiter if the result would exceed 0.99 (logged).

A plan that is the identity (intensity 0, or neutral without hints) returns the input samples
unchanged, so "intensity 0 keeps the input's prosody" holds exactly.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from promptevc.audio import frame_rms_db, process_in_chunks
from promptevc.config import AudioConfig, InputConfig
from promptevc.engines.base import Engine
from promptevc.engines.profiles import ProsodyPlan, plan_from_control
from promptevc.prompt.control import EmotionControl

log = logging.getLogger(__name__)

PEAK_LIMIT = 0.99


class ProsodyEngine(Engine):
    """Rule-based emotional prosody: ``convert(wav, control)`` = plan_from_control + apply_plan."""

    name = "prosody"

    def __init__(
        self,
        audio: AudioConfig | None = None,
        policy: InputConfig | None = None,
        *,
        frame_period_ms: float = 5.0,
        f0_floor: float = 60.0,
        f0_ceil: float = 700.0,
        dio_speed: int = 2,
        f0_method: str = "auto",
        min_voiced_fraction: float = 0.6,
        ap_decimation: int = 3,
        pause_db: float = 30.0,
        min_pause_ms: float = 60.0,
        shelf_hz: float = 1000.0,
    ) -> None:
        super().__init__(audio)
        self.policy = policy or InputConfig()
        self.frame_period_ms = frame_period_ms
        self.f0_floor = f0_floor
        self.f0_ceil = f0_ceil
        self.dio_speed = dio_speed
        if f0_method not in ("auto", "dio", "harvest"):
            raise ValueError(f"f0_method must be auto, dio or harvest, not {f0_method!r}")
        # auto: DIO (fast); Harvest when DIO finds voicing in less than min_voiced_fraction of
        # the active frames (creaky, noisy or music-backed speech, where DIO misses voicing
        # and the resynthesis would turn voiced speech into noise).
        self.f0_method = f0_method
        self.min_voiced_fraction = min_voiced_fraction
        self.ap_decimation = max(1, int(ap_decimation))
        # Frames more than pause_db below the loud (95th-percentile) frames count as pause.
        self.pause_db = pause_db
        self.min_pause_ms = min_pause_ms
        self.shelf_hz = shelf_hz

    @classmethod
    def load(
        cls,
        *,
        audio: AudioConfig | None = None,
        policy: InputConfig | None = None,
        model: str | None = None,
        vocoder: str | None = None,
        device: str = "auto",
        **kwargs,
    ) -> ProsodyEngine:
        """Nothing to load; ``model``/``vocoder``/``device`` are accepted for a uniform API."""
        if model is not None or vocoder is not None:
            log.warning("the prosody engine uses no model or vocoder; ignoring them")
        return cls(audio=audio, policy=policy, **kwargs)

    # ----------------------------------------------------------------------------------------

    @property
    def hop(self) -> int:
        """Samples per analysis frame."""
        return round(self.audio.sample_rate * self.frame_period_ms / 1000.0)

    def plan(self, control: EmotionControl) -> ProsodyPlan:
        return plan_from_control(control)

    def convert(
        self,
        wav: np.ndarray,
        control: EmotionControl,
        *,
        ref_wav: np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """Convert ``wav`` (T,) float32 at ``audio.sample_rate`` -> (round(T * plan.tempo),)."""
        if ref_wav is not None:
            log.warning("the prosody engine does not use a reference recording; ignoring --ref")
        plan = self.plan(control)
        log.info("prosody plan: %s", plan.summary())
        return self.apply_plan(wav, plan)

    def apply_plan(self, wav: np.ndarray, plan: ProsodyPlan) -> np.ndarray:
        """Apply ``plan`` to ``wav`` (T,); long input is processed in chunks with one plan."""
        wav = np.asarray(wav, dtype=np.float32)
        if plan.is_identity():
            log.info("identity plan (intensity 0 or neutral without hints): input returned unchanged")
            return wav.copy()
        sr = self.audio.sample_rate
        # Whole-input references so that every chunk gets the same F0 centre and pause level.
        level = frame_rms_db(wav, 5 * self.hop, self.hop)
        pause_thr_db = float(np.percentile(level, 95)) - self.pause_db
        f0_centre = None
        if len(wav) > self.policy.chunk_seconds * sr:
            f0_centre = self._voiced_log_f0_mean(wav)
        out = process_in_chunks(
            wav, sr, lambda chunk: self._apply_chunk(chunk, plan, pause_thr_db, f0_centre), self.policy
        )
        return limit_peaks(out, sr, PEAK_LIMIT)

    # ----------------------------------------------------------------------------------------

    def _voiced_log_f0_mean(self, wav: np.ndarray) -> float | None:
        import pyworld

        x = np.ascontiguousarray(wav, dtype=np.float64)
        f0, _ = pyworld.dio(
            x, self.audio.sample_rate, f0_floor=self.f0_floor, f0_ceil=self.f0_ceil,
            frame_period=2 * self.frame_period_ms, speed=4,
        )
        voiced = f0 > 0
        return float(np.mean(np.log(f0[voiced]))) if voiced.any() else None

    def _analyse(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WORLD parameters of ``x`` (T,) float64: f0 (F,), sp (F, K), ap (F, K)."""
        import pyworld

        sr = self.audio.sample_rate
        fft_size = pyworld.get_cheaptrick_fft_size(sr, self.f0_floor)
        if self.f0_method == "harvest":
            f0, t = self._harvest(x)
        else:
            f0, t = pyworld.dio(
                x, sr, f0_floor=self.f0_floor, f0_ceil=self.f0_ceil,
                frame_period=self.frame_period_ms, speed=self.dio_speed,
            )
            f0 = pyworld.stonemask(x, f0, t, sr)
            if self.f0_method == "auto":
                level = frame_rms_db(x.astype(np.float32), 5 * self.hop, self.hop)
                level = np.pad(level, (0, max(0, len(f0) - len(level))), mode="edge")[: len(f0)]
                active = level > np.percentile(level, 95) - 20.0
                voiced_share = float(np.mean(f0[active] > 0)) if active.any() else 1.0
                if voiced_share < self.min_voiced_fraction:
                    log.info(
                        "DIO found voicing in only %.0f %% of the active speech; using Harvest (slower, more robust)",
                        100 * voiced_share,
                    )
                    f0, t = self._harvest(x)
        sp = pyworld.cheaptrick(x, f0, t, sr, fft_size=fft_size)
        k = self.ap_decimation
        if k == 1:
            ap = pyworld.d4c(x, f0, t, sr, fft_size=fft_size)
        else:
            idx = np.arange(0, len(f0), k)
            if idx[-1] != len(f0) - 1:
                idx = np.append(idx, len(f0) - 1)
            ap_c = pyworld.d4c(x, np.ascontiguousarray(f0[idx]), np.ascontiguousarray(t[idx]), sr, fft_size=fft_size)
            ap = _interp_rows(ap_c, idx.astype(np.float64), np.arange(len(f0), dtype=np.float64))
        return f0, sp, ap

    def _harvest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import pyworld

        return pyworld.harvest(
            x, self.audio.sample_rate, f0_floor=self.f0_floor, f0_ceil=self.f0_ceil,
            frame_period=self.frame_period_ms,
        )

    def _apply_chunk(
        self, chunk: np.ndarray, plan: ProsodyPlan, pause_thr_db: float, f0_centre: float | None
    ) -> np.ndarray:
        import pyworld

        sr = self.audio.sample_rate
        x = np.ascontiguousarray(chunk, dtype=np.float64)
        f0, sp, ap = self._analyse(x)
        n_in = len(f0)
        voiced = f0 > 0
        target_len = max(1, round(len(chunk) * plan.tempo))

        # ---- time-scaling ----
        if abs(plan.tempo - 1.0) > 1e-6 or abs(plan.pause_scale - 1.0) > 1e-6:
            level = frame_rms_db(chunk, 5 * self.hop, self.hop)
            level = np.pad(level, (0, max(0, n_in - len(level))), mode="edge")[:n_in]
            pause = _long_runs((level < pause_thr_db) & ~voiced, round(self.min_pause_ms / self.frame_period_ms))
            n_out = math.ceil(target_len / self.hop) + 1
            pos = _warp_positions(pause, plan.pause_scale, n_out)
            f0, sp, ap = _resample_frames(f0, sp, ap, pos)
            voiced = f0 > 0
        # ---- F0 level and range ----
        if voiced.any() and (plan.f0_shift_st != 0.0 or plan.f0_range_scale != 1.0):
            mu = f0_centre if f0_centre is not None else float(np.mean(np.log(f0[voiced])))
            lf = np.log(f0[voiced])
            lf = mu + plan.f0_range_scale * (lf - mu) + plan.f0_shift_st * math.log(2.0) / 12.0
            f0 = f0.copy()
            f0[voiced] = np.clip(np.exp(lf), 30.0, 0.45 * sr)
        # ---- spectral tilt (high shelf) ----
        if plan.tilt_db != 0.0:
            freqs = np.arange(sp.shape[1]) * sr / (2.0 * (sp.shape[1] - 1))
            sp = sp * (10.0 ** (shelf_gain_db(freqs, plan.tilt_db, self.shelf_hz) / 10.0))[None, :]
        y = pyworld.synthesize(
            np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr, self.frame_period_ms
        )
        y = _fit_length(y, target_len)
        # ---- level: active-speech level of the output = input + energy_db ----
        # (The resynthesis-level correction is bounded: a near-silent chunk must not be blown up.)
        correction = float(np.clip(active_level_db(chunk, self.hop) - active_level_db(y, self.hop), -20.0, 20.0))
        gain_db = plan.energy_db + correction
        return (y * 10.0 ** (gain_db / 20.0)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Helpers (pure functions, tested directly)
# --------------------------------------------------------------------------------------------


def shelf_gain_db(freqs_hz: np.ndarray, gain_db: float, centre_hz: float = 1000.0) -> np.ndarray:
    """Smooth high-shelf: 0 dB well below ``centre_hz``, ``gain_db`` well above (half at centre).

    The transition is a tanh in log-frequency spanning about 500 Hz - 2 kHz for 1 kHz.
    """
    octaves = np.log2(np.maximum(freqs_hz, 1.0) / centre_hz)
    return gain_db * 0.5 * (1.0 + np.tanh(octaves / 0.5))


def active_level_db(wav: np.ndarray, hop: int, below_loud_db: float = 30.0) -> float:
    """Power-mean level (dB) of the frames within ``below_loud_db`` of the loud frames.

    Pauses are excluded, so lengthening them does not change the level that the energy plan
    controls. Frames: 5 * hop samples, hop apart.
    """
    level = frame_rms_db(np.asarray(wav, dtype=np.float32), 5 * hop, hop)
    active = level >= np.percentile(level, 95) - below_loud_db
    return float(10.0 * np.log10(np.mean(10.0 ** (level[active] / 10.0)) + 1e-20))


def limit_peaks(wav: np.ndarray, sample_rate: int, limit: float = PEAK_LIMIT) -> np.ndarray:
    """Keep ``|wav| <= limit`` with a smooth gain that only dips around over-limit peaks.

    Gain = moving average (5 ms) of the running minimum (10 ms each side) of limit/|x|, which
    never exceeds limit/|x| at any sample, so the result cannot clip. Logged when active.
    """
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak <= limit:
        return wav
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    w = max(1, int(0.005 * sample_rate))
    need = np.minimum(1.0, limit / np.maximum(np.abs(wav), 1e-12))
    gain = uniform_filter1d(minimum_filter1d(need, size=4 * w + 1), size=w, mode="nearest")
    gain = np.minimum(gain, need)
    out = (wav * gain).astype(np.float32)
    log.info(
        "limiter: the peak would reach %.1f dBFS; reduced by up to %.1f dB on %.1f %% of samples",
        20 * math.log10(peak), -20 * math.log10(float(gain.min())), 100.0 * float(np.mean(gain < 0.999)),
    )
    return out


def _long_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """``mask`` with runs of True shorter than ``min_len`` cleared."""
    out = np.zeros_like(mask)
    n = len(mask)
    i = 0
    while i < n:
        if mask[i]:
            j = i
            while j < n and mask[j]:
                j += 1
            if j - i >= min_len:
                out[i:j] = True
            i = j
        else:
            i += 1
    return out


def _warp_positions(pause: np.ndarray, pause_scale: float, n_out: int) -> np.ndarray:
    """Fractional input-frame position (n_out,) for each output frame.

    Each input frame gets a duration weight (pause frames ``pause_scale`` times the others),
    lightly smoothed so the local rate changes gradually; weights are normalised so the input
    spans exactly ``n_out`` output frames.
    """
    n_in = len(pause)
    w = np.where(pause, pause_scale, 1.0).astype(np.float64)
    if pause_scale != 1.0 and n_in > 8:
        k = np.hanning(9)
        w = np.convolve(np.pad(w, 4, mode="edge"), k / k.sum(), mode="valid")
    # Frame i sits at output time o[i]; the gap between frames i and i+1 lasts (w[i] + w[i+1]) / 2.
    o = np.concatenate([[0.0], np.cumsum(0.5 * (w[:-1] + w[1:]))])
    o *= (n_out - 1) / max(o[-1], 1e-9)
    return np.interp(np.arange(n_out, dtype=np.float64), o, np.arange(n_in, dtype=np.float64))


def _interp_rows(rows: np.ndarray, at: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``rows`` (N, K), given at times ``at``, at ``new``."""
    i1 = np.clip(np.searchsorted(at, new, side="right"), 1, len(at) - 1)
    i0 = i1 - 1
    a = ((new - at[i0]) / np.maximum(at[i1] - at[i0], 1e-12)).clip(0.0, 1.0)[:, None]
    return np.ascontiguousarray(rows[i0] * (1.0 - a) + rows[i1] * a)


def _resample_frames(
    f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD parameters at fractional frame positions ``pos`` (M,).

    Envelope interpolated in log power, aperiodicity linearly; voicing from the nearest frame
    (so voiced/unvoiced boundaries stay sharp), log-F0 interpolated between voiced neighbours.
    """
    n = len(f0)
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    a = (pos - i0).clip(0.0, 1.0)
    a2 = a[:, None]
    log_sp = np.log(np.maximum(sp, 1e-30))  # once per input frame, not per output frame pair
    sp_out = np.exp(log_sp[i0] * (1.0 - a2) + log_sp[i1] * a2)
    ap_out = ap[i0] * (1.0 - a2) + ap[i1] * a2
    nearest = np.where(a < 0.5, i0, i1)
    v0, v1 = f0[i0] > 0, f0[i1] > 0
    f0_out = np.where(f0[nearest] > 0, f0[nearest], 0.0)
    both = v0 & v1
    f0_out[both] = np.exp(np.log(f0[i0[both]]) * (1.0 - a[both]) + np.log(f0[i1[both]]) * a[both])
    return f0_out, sp_out, ap_out


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) >= n:
        return y[:n]
    return np.pad(y, (0, n - len(y)))
