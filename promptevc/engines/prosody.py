"""The embedded default engine: an emotion prosody plan applied by WORLD analysis/synthesis.

The engine works at the input's own sample rate (:data:`MIN_RATE`-:data:`MAX_RATE`; the
Converter resamples anything outside) and keeps its channels: one plan, one F0 track and one
time map drive every channel, so they stay in sync. Per input (:class:`ProsodySession`):

- pass 1, ``observe(block)``: whole-input references with bounded memory — histograms of frame
  levels (for the pause threshold) and of voiced log-F0 (its median is the centre of F0 range
  scaling; a median, because F0 trackers make octave errors; its lower quartile sets the F0
  floor) — and the mains-hum decision;
- pass 2, ``convert(chunk)`` for (T, C) chunks, frames every ``frame_period_ms``:

1. analysis of the mid (channel mean): DIO + StoneMask F0 on a copy at up to ``analysis_rate``
   (floor: ``f0_floor``, 60 Hz, lowered for a low voice down to ``low_f0_floor``, 50 Hz, to
   :data:`FLOOR_QUARTILE_RATIO` x the lower quartile of its F0 in pass 1: low male voices fall
   below 60 Hz at phrase ends, while a low floor costs other voices octave errors), without DC
   and mains hum (:func:`promptevc.features.prosody.f0_input`; decided once per input in pass 1:
   a tracked hum would be resynthesised as a pitch-shifted buzz in pauses and unvoiced
   consonants), Harvest instead when DIO finds voicing in under 60 % of the active frames (see
   ``f0_method``); D4C aperiodicity at the native rate (every few frames, interpolated: it is
   the slowest step and smooth in time); CheapTrick spectral envelope per channel (FFT size from
   the rate, so analysis covers the whole band up to Nyquist; voiced F0 below the FFT's own
   floor is analysed at that floor, where WORLD would fall back to a 500 Hz window);
2. time-scaling: each input frame gets an output duration; frames inside pauses (runs of at
   least ``min_pause_ms`` of unvoiced, low-level frames) stretch ``pause_scale`` times more than
   speech, and the total is exactly ``tempo`` x the input;
3. F0 (voiced frames): ``log f0 -> mu + range * (log f0 - mu) + shift`` (mu: the median), plus the contour
   effects: a phrase-final ramp over the last :data:`FINAL_MS` before each phrase break (pause
   of at least :data:`PHRASE_PAUSE_MS` or the chunk end), bumps on stressed syllables (energy
   peaks of the voiced frames, the louder half of them), and tremor/jitter;
4. voice quality: aperiodicity of voiced frames moved in log-odds (breathier or tenser);
5. envelope: a smooth high-shelf (tilt, centred at 1 kHz) and the emphasis level boosts;
6. synthesis per channel, then one gain (from the mid) that sets the active-speech level to
   input level + ``energy_db``.

Peak handling (:class:`promptevc.audio.PeakLimiter`) and chunking belong to the Converter. A plan that is the identity (intensity 0, or neutral without hints) makes a
session with ``identity = True``: the input is passed through unchanged.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from promptevc.config import AudioConfig, InputConfig
from promptevc.engines.base import Engine, EngineSession
from promptevc.engines.profiles import PROFILE_SETS, ProsodyPlan, plan_from_control
from promptevc.features.prosody import HUM_MIN_SECONDS, Hum, f0_input
from promptevc.prompt.control import ALL_EMOTIONS, EmotionControl

log = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 8000, 48000
# Contour effects (see profiles.py for the sources of their directions).
FINAL_MS = 300.0  # length of the phrase-final F0 ramp
PHRASE_PAUSE_MS = 200.0  # a pause at least this long ends a phrase
TREMOR_HZ = 5.5  # F0 tremor rate, within the 4-7 Hz of a trembling voice
EMPHASIS_SIGMA_MS = 45.0  # width of the F0/level bump around a stressed syllable's energy peak
MIN_SYLLABLE_MS = 120.0  # syllable nuclei are at least this far apart
PEAK_PROMINENCE_DB = 3.0  # a nucleus rises this much above the dips around it
LEVEL_WINDOW_MS = 25.0
MIN_CHUNK_S = 0.05  # shorter chunks are only time-stretched and level-shifted
_BLOCK_FRAMES = 1024  # frames per block when large (F, K) arrays are transformed
_LEVEL_BINS = np.arange(-120.0, 20.0001, 0.25)  # frame-level histogram of pass 1 (dB)
# F0 floor of a voice: this ratio (8.8 st) below the lower quartile of its voiced F0, between
# low_f0_floor and f0_floor. Pass 1 on real read speech: a low male reader (LibriVox, quartile
# 75-84 Hz) gets 50 Hz and keeps the falls to 50-60 Hz a 60 Hz floor turned into noise;
# quartiles above 100 Hz keep 60 Hz (a 50 Hz floor doubles DIO's > 3 st errors on 90-220 Hz
# synthetic voices: 60 vs 29 of 6200 frames).
FLOOR_QUARTILE_RATIO = 0.6
_LOG_F0_BINS = np.log(30.0) + np.arange(0.0, 60.0, 0.05) * math.log(2.0) / 12.0  # 0.05 st, 30 Hz-1 kHz


class ProsodyEngine(Engine):
    """Rule-based emotional prosody: ``start(control, ...)`` -> a :class:`ProsodySession`."""

    name = "prosody"
    multichannel = True
    emotions = ALL_EMOTIONS

    def __init__(
        self,
        audio: AudioConfig | None = None,
        policy: InputConfig | None = None,
        *,
        profile: str = "literature",
        frame_period_ms: float = 5.0,
        f0_floor: float = 60.0,
        low_f0_floor: float = 50.0,
        f0_ceil: float = 700.0,
        dio_speed: int = 2,
        f0_method: str = "auto",
        min_voiced_fraction: float = 0.6,
        ap_decimation: int | None = None,
        pause_db: float = 30.0,
        min_pause_ms: float = 60.0,
        shelf_hz: float = 1000.0,
        cheaptrick_floor_hz: float = 71.0,
        analysis_rate: int = 16000,
    ) -> None:
        super().__init__(audio)
        # The Converter applies the input policy (lengths, chunking); kept for a uniform API.
        self.policy = policy or InputConfig()
        self.profile = profile
        self.frame_period_ms = frame_period_ms
        self.f0_floor = f0_floor
        # The lowest floor a voice can get (see FLOOR_QUARTILE_RATIO); pass 1 tracks with it.
        self.low_f0_floor = min(low_f0_floor, f0_floor)
        self.f0_ceil = f0_ceil
        self.dio_speed = dio_speed
        if f0_method not in ("auto", "dio", "harvest"):
            raise ValueError(f"f0_method must be auto, dio or harvest, not {f0_method!r}")
        # auto: DIO (fast); Harvest when DIO finds voicing in less than min_voiced_fraction of
        # the active frames (creaky, noisy or music-backed speech, where DIO misses voicing
        # and the resynthesis would turn voiced speech into noise).
        self.f0_method = f0_method
        self.min_voiced_fraction = min_voiced_fraction
        # None: every 4th frame up to 24 kHz, every 6th above (D4C is the slowest analysis step
        # and its cost grows with the FFT size; aperiodicity changes slowly).
        self.ap_decimation = None if ap_decimation is None else max(1, int(ap_decimation))
        # Frames more than pause_db below the loud (95th-percentile) frames count as pause.
        self.pause_db = pause_db
        self.min_pause_ms = min_pause_ms
        self.shelf_hz = shelf_hz
        # CheapTrick's FFT covers 3 periods of this F0 (WORLD's default floor 71 Hz): 1024 points
        # at 16-22 kHz, 2048 at 44.1-48 kHz. Lower F0 is analysed at the FFT's lowest F0 (see
        # envelope()): on a 55-62 Hz voice at 44.1/48 kHz that matches a 4096-point FFT (MCD
        # 2.8-5.6 dB against the input either way) at two thirds of the conversion time.
        self.cheaptrick_floor_hz = cheaptrick_floor_hz
        self.analysis_rate = int(analysis_rate)

    @property
    def profile(self) -> str:
        """The profile set (``literature`` or ``esd``, see promptevc.engines.profiles)."""
        return self._profile

    @profile.setter
    def profile(self, name: str) -> None:
        if name not in PROFILE_SETS:
            from promptevc.errors import ConfigError

            raise ConfigError(f"unknown prosody profile {name!r}; choose from {', '.join(PROFILE_SETS)}")
        self._profile = name

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

    def working_rate(self, input_rate: int) -> int:
        """The input's own rate, clamped to [MIN_RATE, MAX_RATE] (8-48 kHz)."""
        return int(min(max(int(input_rate), MIN_RATE), MAX_RATE))

    def plan(self, control: EmotionControl) -> ProsodyPlan:
        return plan_from_control(control, self.profile)

    def start(
        self,
        control: EmotionControl,
        *,
        sample_rate: int,
        num_channels: int = 1,
        ref_wav: np.ndarray | None = None,
        seed: int | None = None,
    ) -> ProsodySession:
        if ref_wav is not None:
            log.warning("the prosody engine does not use a reference recording; ignoring --ref")
        plan = self.plan(control)
        return self.session(plan, sample_rate=sample_rate, num_channels=num_channels, seed=seed)

    def session(self, plan: ProsodyPlan, *, sample_rate: int, num_channels: int = 1,
                seed: int | None = None) -> ProsodySession:
        """A session for an explicit plan (``start`` = ``session(self.plan(control))``)."""
        if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
            raise ValueError(f"the prosody engine works at {MIN_RATE}-{MAX_RATE} Hz, not {sample_rate} Hz "
                             "(resample to working_rate(rate) first)")
        return ProsodySession(self, plan, int(sample_rate), int(num_channels), seed)

    def apply_plan(self, wav: np.ndarray, plan: ProsodyPlan, sample_rate: int | None = None) -> np.ndarray:
        """Apply ``plan`` to a whole array ``wav`` (T,) or (T, C) in one chunk (tests, benches)."""
        x = np.asarray(wav, dtype=np.float32)
        x2 = x[:, None] if x.ndim == 1 else x
        sr = self.audio.sample_rate if sample_rate is None else int(sample_rate)
        session = self.session(plan, sample_rate=sr, num_channels=x2.shape[1])
        if session.identity:
            return x.copy()
        session.observe(x2)
        y = session.convert(x2)
        return y[:, 0] if x.ndim == 1 else y

    # ----------------------------------------------------------------------------------------
    # Analysis helpers (used by the session)
    # ----------------------------------------------------------------------------------------

    def fft_size(self, sample_rate: int) -> int:
        import pyworld

        return int(pyworld.get_cheaptrick_fft_size(sample_rate, self.cheaptrick_floor_hz))

    def decimation(self, sample_rate: int) -> int:
        if self.ap_decimation is not None:
            return self.ap_decimation
        return 4 if sample_rate <= 24000 else 6

    def analysis_signal(self, mono: np.ndarray, sample_rate: int, hum: Hum | None | str = "detect",
                        ) -> tuple[np.ndarray, int, Hum | None]:
        """What the F0 tracker sees: the mid at up to ``analysis_rate`` (F0 needs no more
        bandwidth), float64, without DC and mains hum (``hum``: ``"detect"`` or an earlier
        decision, see :func:`promptevc.features.prosody.f0_input`). Returns (x, rate, hum)."""
        sr = sample_rate
        if sample_rate > self.analysis_rate:
            from promptevc.audio import resample

            mono, sr = resample(mono, sample_rate, self.analysis_rate), self.analysis_rate
        x, found = f0_input(mono, sr, hum)
        return x, sr, found

    def track_f0(self, mono: np.ndarray, sample_rate: int, hum: Hum | None | str = "detect",
                 f0_floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """F0 (F,) Hz (0 = unvoiced) and frame times (F,) s of ``mono`` (T,); ``hum`` as in
        :meth:`analysis_signal`; ``f0_floor``: this voice's floor (default ``self.f0_floor``)."""
        import pyworld

        floor = self.f0_floor if f0_floor is None else float(f0_floor)
        x, sr, _ = self.analysis_signal(mono, sample_rate, hum)
        if self.f0_method == "harvest":
            return self._harvest(x, sr, floor)
        f0, t = pyworld.dio(x, sr, f0_floor=floor, f0_ceil=self.f0_ceil,
                            frame_period=self.frame_period_ms, speed=self.dio_speed)
        f0 = pyworld.stonemask(x, f0, t, sr)
        if self.f0_method == "auto":
            level = frame_levels_db(x, sr, len(f0), self.frame_period_ms)
            active = level > np.percentile(level, 95) - 20.0
            voiced_share = float(np.mean(f0[active] > 0)) if active.any() else 1.0
            if voiced_share < self.min_voiced_fraction:
                log.info(
                    "DIO found voicing in only %.0f %% of the active speech; using Harvest (slower, more robust)",
                    100 * voiced_share,
                )
                f0, t = self._harvest(x, sr, floor)
        return f0, t

    def voice_floor(self, low_quartile_hz: float | None) -> float:
        """The F0 floor for a voice whose voiced F0 has this lower quartile (None: unknown)."""
        if low_quartile_hz is None or not math.isfinite(low_quartile_hz):
            return self.f0_floor
        return float(np.clip(FLOOR_QUARTILE_RATIO * low_quartile_hz, self.low_f0_floor, self.f0_floor))

    def _harvest(self, x: np.ndarray, sr: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
        import pyworld

        return pyworld.harvest(x, sr, f0_floor=floor, f0_ceil=self.f0_ceil, frame_period=self.frame_period_ms)

    def aperiodicity(self, mono: np.ndarray, f0: np.ndarray, t: np.ndarray, sample_rate: int) -> np.ndarray:
        """D4C aperiodicity of ``mono`` on every few frames, interpolated to all frames.

        Returned band-coded, (F, B) in dB (20 log10, WORLD's ``code_aperiodicity``: D4C measures
        bands 3 kHz apart and interpolates, so coding loses nothing) where the rate has bands,
        else (F, K) linear (8 kHz). :func:`decode_aperiodicity` gives the (F, K) WORLD array.
        """
        import pyworld

        fft = self.fft_size(sample_rate)
        k = self.decimation(sample_rate)
        idx = np.arange(0, len(f0), k)
        if idx[-1] != len(f0) - 1:
            idx = np.append(idx, len(f0) - 1)
        f0_k, t_k = np.ascontiguousarray(f0[idx]), np.ascontiguousarray(t[idx])
        if _coded_bands(sample_rate) > 0:
            x = np.ascontiguousarray(mono, dtype=np.float64)
            ap = pyworld.code_aperiodicity(pyworld.d4c(x, f0_k, t_k, sample_rate, fft_size=fft), sample_rate)
        else:
            # Below 12 kHz D4C has no band to measure and calls everything noise: measure on a
            # 16 kHz copy (its 3 kHz band) and read the result on this rate's frequency grid.
            from promptevc.audio import resample

            x16 = np.ascontiguousarray(resample(mono, sample_rate, 16000), dtype=np.float64)
            ap16 = pyworld.d4c(x16, f0_k, t_k, 16000, fft_size=1024)
            ap = _interp_rows(ap16.T, np.linspace(0.0, 8000.0, ap16.shape[1]),
                              np.linspace(0.0, sample_rate / 2.0, fft // 2 + 1)).T
        if k == 1:
            return np.ascontiguousarray(ap)
        return _interp_rows(ap, idx.astype(np.float64), np.arange(len(f0), dtype=np.float64))

    def envelope(self, x: np.ndarray, f0: np.ndarray, t: np.ndarray, sample_rate: int) -> np.ndarray:
        """CheapTrick spectral envelope (F, K) of one channel ``x`` (T,).

        CheapTrick analyses a frame whose F0 is at or below the lowest F0 its FFT holds three
        periods of (``3 fs / (fft - 3)``: 47 Hz at 16 kHz, 65 Hz at 22.05/44.1 kHz, 70 Hz at
        48 kHz) as if it were 500 Hz (a 6 ms window: the envelope then follows single glottal
        pulses); such voiced frames are analysed at that lowest F0 instead.
        """
        import pyworld

        fft = self.fft_size(sample_rate)
        lowest = 3.0 * sample_rate / (fft - 3.0)
        f0 = np.where((f0 > 0) & (f0 <= lowest), lowest * 1.001, f0)
        return pyworld.cheaptrick(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(f0), t,
                                  sample_rate, fft_size=fft)

    def __repr__(self) -> str:
        return f"ProsodyEngine(profile={self.profile!r}, rates={MIN_RATE}-{MAX_RATE} Hz)"


class ProsodySession(EngineSession):
    """One input under one :class:`ProsodyPlan` (see the module docstring)."""

    def __init__(self, engine: ProsodyEngine, plan: ProsodyPlan, sample_rate: int, num_channels: int,
                 seed: int | None) -> None:
        super().__init__(sample_rate, num_channels)
        self.engine = engine
        self.plan = plan
        self.identity = plan.is_identity()
        self.needs_analysis = not self.identity
        self._hist = np.zeros(len(_LEVEL_BINS) + 1, dtype=np.int64)
        self._f0_hist = np.zeros(len(_LOG_F0_BINS) + 1, dtype=np.int64)
        self._rng = np.random.default_rng(0 if seed is None else seed)
        self._time_s = 0.0  # start time of the next chunk in the output (tremor phase)
        self._warned_no_observe = False
        # Mains hum: decided on the first observed block long enough to tell, then kept for
        # every block and chunk ("detect" until then: each call decides for itself).
        self._hum: Hum | None | str = "detect"

    def summary(self) -> str:
        if self.identity:
            return "identity plan (intensity 0 or neutral without hints): input returned unchanged"
        return f"prosody plan ({self.engine.profile} profile): {self.plan.summary()}"

    # ------------------------------------------------------------------------------ pass 1
    def observe(self, block: np.ndarray) -> None:
        """Accumulate the frame-level and voiced log-F0 histograms of ``block`` (T, C)."""
        mono = _mid(block)
        if len(mono) < int(0.05 * self.sample_rate):
            return
        sr = self.sample_rate
        n = int(len(mono) / sr * 1000.0 / self.engine.frame_period_ms) + 1
        level = frame_levels_db(mono, sr, n, self.engine.frame_period_ms)
        self._hist += np.bincount(np.searchsorted(_LEVEL_BINS, level), minlength=len(self._hist))[: len(self._hist)]
        import pyworld

        x, asr, hum = self.engine.analysis_signal(mono, sr, self._hum)
        if isinstance(self._hum, str) and len(x) >= HUM_MIN_SECONDS * asr:
            self._hum = hum
            if hum is not None:
                log.info("mains hum at %g Hz (%.0f dB above its surroundings): removed before F0 tracking",
                         hum.hz, hum.contrast_db)
        f0, _ = pyworld.dio(x, asr, f0_floor=self.engine.low_f0_floor, f0_ceil=self.engine.f0_ceil,
                            frame_period=2 * self.engine.frame_period_ms, speed=4)
        voiced = f0 > 0
        self._f0_hist += np.bincount(np.searchsorted(_LOG_F0_BINS, np.log(f0[voiced])),
                                     minlength=len(self._f0_hist))[: len(self._f0_hist)]

    def _f0_quantile(self, q: float) -> float | None:
        """The ``q`` quantile of pass 1's voiced log-F0 (None before any voiced frame)."""
        if self._f0_hist.sum() == 0:
            return None
        j = int(np.searchsorted(np.cumsum(self._f0_hist) / self._f0_hist.sum(), q))
        return float(_LOG_F0_BINS[min(max(j - 1, 0), len(_LOG_F0_BINS) - 1)])

    def f0_floor(self) -> float:
        """This input's F0 floor (:meth:`ProsodyEngine.voice_floor` of pass 1's lower quartile)."""
        q25 = self._f0_quantile(0.25)
        return self.engine.voice_floor(None if q25 is None else math.exp(q25))

    def _references(self, level: np.ndarray, f0: np.ndarray) -> tuple[float, float | None]:
        """(pause threshold dB, voiced median log-F0) from pass 1, else from this chunk."""
        if self._hist.sum() > 0:
            cdf = np.cumsum(self._hist) / self._hist.sum()
            i = int(np.searchsorted(cdf, 0.95))
            p95 = float(_LEVEL_BINS[min(i, len(_LEVEL_BINS) - 1)])
            # the median: robust to the tracker's octave errors
            return p95 - self.engine.pause_db, self._f0_quantile(0.5)
        if not self._warned_no_observe:
            log.debug("convert() without observe(): F0 centre and pause level taken per chunk")
            self._warned_no_observe = True
        voiced = f0 > 0
        centre = float(np.median(np.log(f0[voiced]))) if voiced.any() else None
        return float(np.percentile(level, 95)) - self.engine.pause_db, centre

    # ------------------------------------------------------------------------------ pass 2
    def convert(self, chunk: np.ndarray) -> np.ndarray:
        """``chunk`` (T, C) float32 -> (round(T * tempo), C) float32."""
        import pyworld

        eng, plan, sr = self.engine, self.plan, self.sample_rate
        x = np.asarray(chunk, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        n_samples, n_ch = x.shape
        target_len = max(1, round(n_samples * plan.tempo))
        if self.identity:
            return x.copy()
        if n_samples < int(MIN_CHUNK_S * sr):
            # Too short for WORLD (a tail of a few ms): stretch in time and apply the level only.
            src = np.linspace(0.0, n_samples - 1.0, target_len)
            y = np.stack([np.interp(src, np.arange(n_samples), x[:, c]) for c in range(n_ch)], axis=1)
            return (y * 10.0 ** (plan.energy_db / 20.0)).astype(np.float32)
        fp = eng.frame_period_ms
        mono = _mid(x)
        # Dual-mono files (channels identical up to polarity) are converted once and copied with
        # each channel's sign: WORLD resynthesis does not keep polarity, so anti-phase stays anti-phase.
        signs = np.ones(n_ch, dtype=np.float32)
        for c in range(1, n_ch):
            if not np.array_equal(x[:, 0], x[:, c]):
                signs[c] = -1.0 if np.array_equal(x[:, 0], -x[:, c]) else 0.0
        same = n_ch > 1 and bool(np.all(signs != 0))
        channels = [x[:, 0]] if (n_ch == 1 or same) else [x[:, c] for c in range(n_ch)]

        f0, t = eng.track_f0(mono, sr, self._hum, self.f0_floor())
        n_in = len(f0)
        ap = eng.aperiodicity(mono, f0, t, sr)
        sps = [eng.envelope(ch, f0, t, sr) for ch in channels]
        level = frame_levels_db(mono, sr, n_in, fp)
        pause_thr_db, centre = self._references(level, f0)
        voiced_in = f0 > 0

        # ---- time map (fractional input frame of every output frame) ----
        pos = None
        if abs(plan.tempo - 1.0) > 1e-6 or abs(plan.pause_scale - 1.0) > 1e-6:
            pause = _long_runs((level < pause_thr_db) & ~voiced_in, round(eng.min_pause_ms / fp))
            n_out = math.ceil(target_len / (sr * fp / 1000.0)) + 1
            pos = _warp_positions(pause, plan.pause_scale, n_out)
        # Contour weights are found on the input frames and follow the time map.
        final_w = _final_weights(voiced_in, level, pause_thr_db, fp) if plan.final_st else None
        emph_w = _emphasis_weights(level, voiced_in, fp) if (plan.emphasis_st or plan.emphasis_db) else None
        if pos is not None:
            f0 = _resample_f0(f0, pos)
            ap = _resample_rows(ap, pos)
            for i in range(len(sps)):  # one channel at a time (memory)
                sps[i] = _resample_rows(sps[i], pos)
            final_w = None if final_w is None else np.interp(pos, np.arange(n_in), final_w)
            emph_w = None if emph_w is None else np.interp(pos, np.arange(n_in), emph_w)
        voiced = f0 > 0
        n_frames = len(f0)

        # ---- F0: level, range, final contour, emphasis, tremor/jitter (log domain) ----
        if voiced.any():
            lf = np.log(f0[voiced])
            mu = centre if centre is not None else float(np.median(lf))
            st = np.zeros(n_frames)
            st += plan.f0_shift_st
            if final_w is not None:
                st += plan.final_st * final_w
            if emph_w is not None:
                st += plan.emphasis_st * emph_w
            if plan.tremor_cents or plan.jitter_cents:
                st += self._perturbation(n_frames, fp) / 100.0
            lf = mu + plan.f0_range_scale * (lf - mu) + st[voiced] * math.log(2.0) / 12.0
            f0 = f0.copy()
            f0[voiced] = np.clip(np.exp(lf), 30.0, 0.45 * sr)
        # ---- voice quality: aperiodicity of voiced frames in log-odds ----
        # (On the decoded array: WORLD's bands are 3 kHz apart, too coarse below 3 kHz.)
        if _coded_bands(sr) > 0:
            ap = decode_aperiodicity(ap, sr, eng.fft_size(sr))  # a new array: safe to change in place
        elif plan.breathiness_db:
            ap = ap.copy()
        if plan.breathiness_db and voiced.any():
            rows = np.flatnonzero(voiced)
            for i in range(0, len(rows), _BLOCK_FRAMES):  # in blocks: bounded temporaries
                ap[rows[i:i + _BLOCK_FRAMES]] = shift_aperiodicity(ap[rows[i:i + _BLOCK_FRAMES]], plan.breathiness_db)
        # ---- envelope: tilt shelf and emphasis level boosts ----
        k = sps[0].shape[1]
        env_db = np.zeros((1, k))
        if plan.tilt_db:
            freqs = np.arange(k) * sr / (2.0 * (k - 1))
            env_db = shelf_gain_db(freqs, plan.tilt_db, eng.shelf_hz)[None, :]
        frame_db = (plan.emphasis_db * emph_w)[:, None] if (emph_w is not None and plan.emphasis_db) else None
        if plan.tilt_db or frame_db is not None:
            gain = 10.0 ** ((env_db + (0.0 if frame_db is None else frame_db)) / 10.0)
            for sp in sps:  # in place: the envelopes are this chunk's own arrays (memory)
                sp *= gain
        f0c, apc = np.ascontiguousarray(f0), np.ascontiguousarray(ap)
        ys = []
        while sps:  # synthesise and drop each envelope in turn (memory)
            ys.append(_fit_length(pyworld.synthesize(f0c, np.ascontiguousarray(sps.pop(0)), apc, sr, fp), target_len))
        del ap, apc
        y = ys[0][:, None] * signs[None, :] if (len(ys) == 1 and n_ch > 1) else np.stack(ys, axis=1)
        # ---- level: active-speech level of the output mid = input mid + energy_db ----
        # (The resynthesis-level correction is bounded: a near-silent chunk must not be blown up.)
        hop = max(1, round(sr * fp / 1000.0))
        correction = float(np.clip(active_level_db(mono, hop) - active_level_db(_mid(y), hop), -20.0, 20.0))
        self._time_s += target_len / sr
        return (y * 10.0 ** ((plan.energy_db + correction) / 20.0)).astype(np.float32)

    def _perturbation(self, n_frames: int, frame_period_ms: float) -> np.ndarray:
        """Tremor (sine at TREMOR_HZ) + jitter (smoothed Gaussian noise), in cents (n_frames,)."""
        t = self._time_s + np.arange(n_frames) * frame_period_ms / 1000.0
        out = self.plan.tremor_cents * np.sin(2 * np.pi * TREMOR_HZ * t)
        if self.plan.jitter_cents:
            noise = self._rng.standard_normal(n_frames + 2)
            # A 3-frame moving sum / sqrt(3) keeps unit rms while removing frame-to-frame clicks.
            out += self.plan.jitter_cents * np.convolve(noise, np.ones(3) / math.sqrt(3.0), mode="valid")
        return out


# --------------------------------------------------------------------------------------------
# Helpers (pure functions, tested directly)
# --------------------------------------------------------------------------------------------


def _mid(x: np.ndarray) -> np.ndarray:
    """Mono analysis mix (T,) of (T,) or (T, C): the channel mean, each channel sign-aligned with
    the loudest one, so anti-phase stereo (L = -R) does not cancel to silence."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        return x
    if x.shape[1] == 1:
        return x[:, 0]
    ref = int(np.argmax(np.einsum("tc,tc->c", x, x)))
    signs = np.where(x.T @ x[:, ref] < 0, -1.0, 1.0).astype(np.float32)
    return x @ (signs / x.shape[1])


def frame_levels_db(x: np.ndarray, sample_rate: int, n_frames: int, frame_period_ms: float,
                    window_ms: float = LEVEL_WINDOW_MS) -> np.ndarray:
    """RMS level (dB, floor -120) of ``n_frames`` windows centred at exact frame times.

    Frame i is centred at ``round(i * frame_period_ms * sample_rate / 1000)`` samples, the same
    grid as WORLD's frames also when a frame is not a whole number of samples (22.05, 44.1 kHz).
    """
    x = np.asarray(x, dtype=np.float64)
    half = max(1, int(window_ms * sample_rate / 2000.0))
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.round(np.arange(n_frames) * frame_period_ms * sample_rate / 1000.0).astype(np.int64)
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres + half, 0, len(x))
    power = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return np.maximum(10.0 * np.log10(power + 1e-12), -120.0)


def shift_aperiodicity(ap: np.ndarray, delta_db: float) -> np.ndarray:
    """Move WORLD aperiodicity (0..1, the noise share of each band) by ``delta_db`` in log-odds.

    For a periodic band (ap << 1) this multiplies the noise share by 10^(delta_db/10); bands that
    are already noise saturate towards 1 (breathier, > 0) or towards 0 (tenser, < 0).
    """
    a = np.clip(ap, 1e-6, 1.0 - 1e-6)
    logit = np.log(a / (1.0 - a)) + delta_db * math.log(10.0) / 10.0
    return 1.0 / (1.0 + np.exp(-logit))


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
    from promptevc.audio import frame_rms_db

    level = frame_rms_db(np.asarray(wav, dtype=np.float32), 5 * hop, hop)
    active = level >= np.percentile(level, 95) - below_loud_db
    return float(10.0 * np.log10(np.mean(10.0 ** (level[active] / 10.0)) + 1e-20))


def _coded_bands(sample_rate: int) -> int:
    """Number of WORLD aperiodicity bands at ``sample_rate`` (3 kHz apart, up to 15 kHz)."""
    return int(min(15000.0, sample_rate / 2.0 - 3000.0) / 3000.0)


def decode_aperiodicity(coded_db: np.ndarray, sample_rate: int, fft_size: int) -> np.ndarray:
    """Band-coded aperiodicity (F, B) dB -> WORLD's (F, fft_size/2 + 1) linear array."""
    import pyworld

    return pyworld.decode_aperiodicity(np.ascontiguousarray(coded_db, dtype=np.float64), sample_rate, fft_size)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the runs of True in ``mask`` (end exclusive)."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _long_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """``mask`` with runs of True shorter than ``min_len`` cleared."""
    out = np.zeros(len(mask), dtype=bool)
    for a, b in _runs(mask):
        if b - a >= min_len:
            out[a:b] = True
    return out


def _final_weights(voiced: np.ndarray, level: np.ndarray, pause_thr_db: float, frame_period_ms: float) -> np.ndarray:
    """Per-frame weight 0..1 of the phrase-final ramp: a raised cosine over the last FINAL_MS of
    voiced speech before each phrase break (a pause of PHRASE_PAUSE_MS or the chunk end)."""
    n = len(voiced)
    w = np.zeros(n)
    gap = (~voiced) | (level < pause_thr_db)
    breaks = _long_runs(gap, round(PHRASE_PAUSE_MS / frame_period_ms))
    ramp = max(2, round(FINAL_MS / frame_period_ms))
    for a, b in _runs(~breaks):  # phrases
        idx = np.flatnonzero(voiced[a:b])
        if len(idx) < 4:
            continue
        end = a + idx[-1]
        start = max(a + idx[0], end - ramp)
        k = np.arange(start, end + 1)
        w[k] = 0.5 - 0.5 * np.cos(np.pi * (k - start) / max(end - start, 1))
    return w


def syllable_nuclei(level_db: np.ndarray, voiced: np.ndarray, frame_period_ms: float) -> np.ndarray:
    """Frame indices of syllable nuclei: voiced local maxima of the (smoothed) frame level that
    are MIN_SYLLABLE_MS apart and rise PEAK_PROMINENCE_DB above the dips around them."""
    n = len(level_db)
    if n < 5 or not voiced.any():
        return np.zeros(0, dtype=int)
    half = max(1, round(0.5 * MIN_SYLLABLE_MS / frame_period_ms))
    power = 10.0 ** (level_db / 10.0)
    k = max(1, round(20.0 / frame_period_ms))
    smooth = 10.0 * np.log10(np.convolve(power, np.ones(2 * k + 1) / (2 * k + 1), mode="same") + 1e-12)
    from numpy.lib.stride_tricks import sliding_window_view

    padded_hi = np.pad(smooth, half, mode="constant", constant_values=-np.inf)
    padded_lo = np.pad(smooth, 2 * half, mode="edge")
    local_max = sliding_window_view(padded_hi, 2 * half + 1).max(axis=1)
    local_min = sliding_window_view(padded_lo, 4 * half + 1).min(axis=1)
    peaks = np.flatnonzero((smooth >= local_max) & voiced & (smooth - local_min >= PEAK_PROMINENCE_DB))
    # Plateaus give adjacent equal maxima: keep the first of each.
    if len(peaks) > 1:
        peaks = peaks[np.concatenate([[True], np.diff(peaks) > half])]
    return peaks


def _emphasis_weights(level_db: np.ndarray, voiced: np.ndarray, frame_period_ms: float) -> np.ndarray:
    """Per-frame weight 0..1: Gaussian bumps (EMPHASIS_SIGMA_MS) at the stressed nuclei, i.e. the
    nuclei at least as loud as the median nucleus (with 2+ nuclei; a lone nucleus is stressed)."""
    n = len(level_db)
    w = np.zeros(n)
    peaks = syllable_nuclei(level_db, voiced, frame_period_ms)
    if len(peaks) == 0:
        return w
    stressed = peaks[level_db[peaks] >= np.median(level_db[peaks])] if len(peaks) > 1 else peaks
    sigma = EMPHASIS_SIGMA_MS / frame_period_ms
    idx = np.arange(n)
    for p in stressed:
        lo, hi = max(0, int(p - 4 * sigma)), min(n, int(p + 4 * sigma) + 1)
        w[lo:hi] = np.maximum(w[lo:hi], np.exp(-0.5 * ((idx[lo:hi] - p) / sigma) ** 2))
    return w


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


def _resample_rows(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows (N, K) linearly interpolated at fractional frame positions ``pos`` (M,) -> (M, K),
    computed in blocks of frames so temporaries stay small."""
    n = len(rows)
    out = np.empty((len(pos), rows.shape[1]), dtype=rows.dtype)
    for s in range(0, len(pos), _BLOCK_FRAMES):
        p = pos[s:s + _BLOCK_FRAMES]
        i0 = np.clip(np.floor(p).astype(int), 0, n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        a = (p - i0).clip(0.0, 1.0)[:, None]
        block = out[s:s + len(p)]
        np.multiply(rows[i0], 1.0 - a, out=block)
        block += rows[i1] * a
    return out


def _resample_f0(f0: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """F0 at fractional frame positions: voicing from the nearest frame, log-F0 interpolated
    between voiced neighbours."""
    n = len(f0)
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    a = (pos - i0).clip(0.0, 1.0)
    nearest = np.where(a < 0.5, i0, i1)
    f0_out = np.where(f0[nearest] > 0, f0[nearest], 0.0)
    both = (f0[i0] > 0) & (f0[i1] > 0)
    f0_out[both] = np.exp(np.log(f0[i0[both]]) * (1.0 - a[both]) + np.log(f0[i1[both]]) * a[both])
    return f0_out


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) >= n:
        return y[:n]
    return np.pad(y, (0, n - len(y)))
