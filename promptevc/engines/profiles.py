"""Per-emotion prosody profiles and the EmotionControl -> ProsodyPlan mapping.

Each profile says how far an utterance moves from the speaker's neutral delivery at intensity 1.
Where ESD (the corpus the toolkit's recipes target) has published statistics we derive the
number from them with the arithmetic written out below; where ESD is silent (energy, spectral
tilt, voice quality, contour shape, the emotions ESD lacks) the *direction* comes from the
vocal-affect literature and the *magnitude* is an engineering choice, anchored to a stated
reference and to the just-noticeable differences of :data:`JND`. Source keys:

- [ESD-J T4]  Zhou et al. 2022, Speech Communication 137, Table 4: WORLD F0 mean / std (Hz)
  per emotion and gender, English speakers 0011-0020 (../shared/docs/papers.md §3.4a).
- [ESD-J T3]  same paper, Table 3: mean utterance duration per emotion, English and Mandarin
  (papers.md §3.4b).
- [ESD-pair]  paired same-sentence ratios computed from the ZEST ESD file lists
  (papers.md §3.4c): trimmed-duration and segment-rate ratios vs neutral.
- [S03]       Scherer 2003, Speech Communication 40, 227-256, Table 6: synthetic compilation of
  acoustic patterns for stress, anger, fear, sadness, joy and boredom (intensity, F0 level,
  variability and range, sentence contours, high-frequency energy, rate).
- [JL03]      Juslin & Laukka 2003, Psychological Bulletin 129, 770-814, Table 11: cue patterns
  of anger, fear, happiness, sadness and tenderness across 104 speech studies (fear: fast, high
  F0, little F0 variability, rising contours, much microstructural irregularity; sadness and
  tenderness: slow, soft, low F0, little variability, little high-frequency energy, falling
  contours; happiness: regular microstructure).
- [BS96]      Banse & Scherer 1996, J. Personality & Social Psychology 70, 614-636: acoustic
  profiles of 14 acted emotions; elation differs from (quiet) happiness by higher F0, wider
  range and more energy, as hot anger does from cold anger; boredom has low F0 and a narrow
  range; high-arousal emotions put more energy above 1 kHz.
- [MA93]      Murray & Arnott 1993, JASA 93, 1097-1108, Table I: anger "abrupt pitch changes on
  stressed syllables", tense; happiness "smooth upward inflections"; sadness "downward
  inflections"; fear "irregular voicing", much faster, very much higher pitch; disgust "very
  much slower", "very much lower" pitch, "slightly wider" range, lower intensity, "grumbled chest
  tone", "wide downward terminal inflections".
- [GN03]      Gobl & Ní Chasaide 2003, Speech Communication 40, 189-212: listeners hear tense
  voice as angry/stressed, breathy voice as intimate/relaxed/sad, whispery voice as timid or
  afraid, lax-creaky voice as bored.
- [LD99]      Liénard & Di Benedetto 1999, JASA 106, 411-422: raising vocal effort raises level
  and F0 and flattens the spectral slope (more energy at high frequencies).
- [IT05]      Ito, Takeda & Itakura 2005, Speech Communication 45, 139-152: whispered speech has
  no periodic excitation and a much lower level than normal speech.
- [INOUE25]   Inoue et al. 2025, hierarchical emotion rendering, §VI: on ESD English, anger has a
  higher energy mean and std (papers.md §3.4b/e).
- [TRS]       TextrolSpeech energy classes (papers.md §4.2): mean RMS < 0.0333 "low",
  > 0.0505 "high"; 20*log10(0.0505/0.0333) = 3.6 dB is the distance between a corpus-labelled
  "low" and "high" energy class, used here as the unit of a clearly audible loudness step.
- [EINET]     Qi et al., EINet, Fig. 2-3 (papers.md §2.4): happy at intensity 0.8 raises peak RMS
  from 0.015 to 0.042 (+8.9 dB); used as an upper bound for energy changes.
- [JND]       the just-noticeable differences issue 12 sets for "a change a listener hears":
  0.5 st of F0, 3 % of tempo, 1 dB of level (:data:`JND`).

Two profile sets (``ProsodyEngine(profile=...)``, ``promptevc convert --profile``):
``literature`` (default) follows the cross-corpus findings where they and ESD disagree (sad F0:
lower, narrower); ``esd`` keeps ESD's own statistic (sad +0.86 st, range x1.023).

Intensity: every profile value v is applied on its natural log/dB/cent scale as
``intensity * v`` so intensity 0 is the identity and the change grows with intensity. Mixtures:
the profile values of the emotions are averaged with the control's ``extended`` probabilities on
the same scales (neutral contributes the identity). Audibility floor: when the emotional part of
a plan would move no cue by more than 2 x :data:`JND_FLOOR` JNDs (F0 level, tempo, level), its
size s becomes ``JND_FLOOR + s / 2``: never below the floor, so every non-neutral request is
heard, and still strictly increasing in intensity; intensity 0 stays the exact input. Hints
(ProsodyHints) add fixed amounts on top, independent of intensity: tempo ±25 %, pitch ±4 st,
volume ±6 dB, and vocal effort (:data:`EFFORT_UP`, :data:`EFFORT_DOWN`) at ±1.
"""

from __future__ import annotations

import dataclasses
import math

from promptevc.prompt.control import ALL_EMOTIONS, EmotionControl

# --------------------------------------------------------------------------------------------
# Source data, copied as numbers (not derived) from the cited tables
# --------------------------------------------------------------------------------------------

# [ESD-J T4] English speakers, WORLD F0 (Hz): (male mean, male std, female mean, female std).
ESD_F0_HZ: dict[str, tuple[float, float, float, float]] = {
    "neutral": (107.60, 26.02, 148.92, 37.64),
    "angry": (134.88, 45.38, 167.28, 54.08),
    "happy": (142.86, 51.77, 206.98, 68.69),
    "sad": (114.64, 37.46, 154.39, 31.69),
    "surprise": (154.21, 61.26, 211.52, 82.19),
}

# [ESD-J T3] mean utterance duration (s): (English, Mandarin).
ESD_DURATION_S: dict[str, tuple[float, float]] = {
    "neutral": (2.61, 3.23),
    "angry": (2.80, 2.68),
    "happy": (2.70, 2.84),
    "sad": (2.98, 4.04),
    "surprise": (2.73, 3.32),
}

# [ESD-pair] sad vs neutral, same sentence and speaker (n = 500 pairs): trimmed duration ratio
# and segment-rate ratio (unit changes per trimmed second).
ESD_SAD_TRIMMED_RATIO = 1.159
ESD_SAD_SEGMENT_RATE_RATIO = 0.922

# [TRS] one corpus-labelled loudness class step, dB.
ENERGY_STEP_DB = 20.0 * math.log10(0.0505 / 0.0333)  # = 3.62 dB

# Hint amounts at |hint| = 1 (documented in ProsodyHints).
HINT_TEMPO = 1.25  # rate factor: +1 = 25 % faster (duration x 1/1.25), -1 = 25 % slower
HINT_PITCH_ST = 4.0
HINT_VOLUME_DB = 6.0

# Share of internal pause time assumed in neutral read speech when splitting ESD's sad
# lengthening into articulation and pauses (see _sad_pause_scale). Stated assumption, not data.
ASSUMED_PAUSE_FRACTION = 0.2


# --------------------------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------------------------


def _st(ratio: float) -> float:
    return 12.0 * math.log2(ratio)


def esd_f0_shift_st(emotion: str) -> float:
    """F0 level change vs neutral in semitones: mean over genders of 12*log2(mean_e / mean_n).

    [ESD-J T4]: angry +3.9/+2.0 -> +2.96; happy +4.9/+5.7 -> +5.30; sad +1.1/+0.6 -> +0.86;
    surprise +6.2/+6.1 -> +6.15 st. ESD's acted sadness is slightly *higher* than neutral,
    unlike the lower F0 of the cross-corpus reviews ([S03], [JL03], [MA93]); the default
    ("literature") profile therefore lowers sad F0, and ``--profile esd`` keeps this value.
    """
    mn, _, fn, _ = ESD_F0_HZ["neutral"]
    me, _, fe, _ = ESD_F0_HZ[emotion]
    return 0.5 * (_st(me / mn) + _st(fe / fn))


def esd_f0_range_scale(emotion: str) -> float:
    """Within-utterance log-F0 range scale vs neutral, tempered from [ESD-J T4].

    The published std is in Hz and pooled over speakers and utterances, so it is inflated twice:
    (1) a Hz std grows with the mean even when the log-F0 range is unchanged, so we use the
    ratio of coefficients of variation (std/mean), which is the log-domain spread ratio;
    (2) it includes between-speaker and between-utterance spread, which emotional portrayal
    also widens, and how the pooled variance splits is not published. We therefore take the
    square root of the CV ratio (half of the effect on a log scale) as a conservative
    within-utterance estimate, and average the genders geometrically.
    Results: angry 1.155, happy 1.184, sad 1.023, surprise 1.261.
    """
    mn, sn, fn, sfn = ESD_F0_HZ["neutral"]
    me, se, fe, sfe = ESD_F0_HZ[emotion]
    cv_male = (se / me) / (sn / mn)
    cv_female = (sfe / fe) / (sfn / fn)
    return math.sqrt(math.sqrt(cv_male * cv_female))


def esd_duration_ratio(emotion: str) -> float:
    """Utterance duration ratio vs neutral: geometric mean of English and Mandarin [ESD-J T3].

    English alone: angry 1.07, happy 1.03, sad 1.14, surprise 1.05; Mandarin: 0.83, 0.88, 1.25,
    1.03. The languages disagree for anger and happiness; the geometric mean (angry 0.943,
    happy 0.954, sad 1.195, surprise 1.037) agrees in direction with the cross-corpus findings
    of [S03] and [JL03] (faster for anger and joy, slower for sadness), so we use it.
    """
    en_n, zh_n = ESD_DURATION_S["neutral"]
    en_e, zh_e = ESD_DURATION_S[emotion]
    return math.sqrt((en_e / en_n) * (zh_e / zh_n))


def _sad_pause_scale() -> float:
    """How much more sad lengthens pauses than speech, from [ESD-pair].

    Segment rate falls to 0.922 (articulation x 1/0.922 = 1.085 longer) while the trimmed
    duration grows x 1.159; the rest must come from pauses. With a pause share p of neutral
    speech: (1 - p) * 1.085 + p * s = 1.159, so s = 1.455 for p = 0.2 (stated assumption), and
    the pause-to-speech stretch ratio is s / 1.085 = 1.34. Slower, longer-paused sadness is also
    the direction of [S03] and [JL03].
    """
    artic = 1.0 / ESD_SAD_SEGMENT_RATE_RATIO
    p = ASSUMED_PAUSE_FRACTION
    pause_stretch = (ESD_SAD_TRIMMED_RATIO - (1.0 - p) * artic) / p
    return pause_stretch / artic


# --------------------------------------------------------------------------------------------
# The plan and the profiles
# --------------------------------------------------------------------------------------------

# [JND] a change a listener hears: F0 level (st), tempo (ratio), level (dB).
JND = {"f0_st": 0.5, "tempo": 1.03, "level_db": 1.0}
# Smallest emotional change, in JNDs of its largest cue (margin for analysis/resynthesis losses).
JND_FLOOR = 1.25
PROFILE_SETS = ("literature", "esd")


@dataclasses.dataclass(frozen=True)
class ProsodyPlan:
    """What the prosody engine does to one utterance.

    f0_shift_st: F0 level change in semitones (on voiced frames, in log-F0).
    f0_range_scale: factor on log-F0 deviations from the utterance's own voiced mean (1 = keep).
    tempo: duration ratio, output length / input length (>1 = slower; sad at intensity 1: 1.195).
    energy_db: level change of the active (non-pause) speech in dB.
    tilt_db: high-shelf gain above ~1 kHz in dB applied to the spectral envelope (>0 = brighter).
    pause_scale: how much more pauses stretch than speech (1 = uniform; total stays ``tempo``).
    breathiness_db: aperiodicity change of voiced frames in log-odds dB (>0 breathier, <0 tenser).
    jitter_cents: rms of a smoothed random F0 perturbation (irregular voicing).
    tremor_cents: amplitude of a sinusoidal F0 modulation at TREMOR_HZ (a trembling voice).
    final_st: F0 movement over the last FINAL_MS of each phrase (>0 rising, <0 falling).
    emphasis_st / emphasis_db: F0 and level boosts on the stressed syllables (energy peaks).
    """

    f0_shift_st: float = 0.0
    f0_range_scale: float = 1.0
    tempo: float = 1.0
    energy_db: float = 0.0
    tilt_db: float = 0.0
    pause_scale: float = 1.0
    breathiness_db: float = 0.0
    jitter_cents: float = 0.0
    tremor_cents: float = 0.0
    final_st: float = 0.0
    emphasis_st: float = 0.0
    emphasis_db: float = 0.0

    def is_identity(self, tol: float = 1e-3) -> bool:
        """True when applying the plan would not change the input (engines skip resynthesis)."""
        for name in _CUE_FIELDS:
            v = getattr(self, name)
            if abs(math.log(v) if name in _LOG_FIELDS else v) >= tol:
                return False
        return True

    def jnd_size(self) -> float:
        """The largest change of F0 level, tempo or level, in units of :data:`JND`."""
        return max(
            abs(self.f0_shift_st) / JND["f0_st"],
            abs(math.log(self.tempo)) / math.log(JND["tempo"]),
            abs(self.energy_db) / JND["level_db"],
        )

    def summary(self) -> str:
        text = (
            f"F0 {self.f0_shift_st:+.2f} st, range x{self.f0_range_scale:.3f}, duration x{self.tempo:.3f}, "
            f"energy {self.energy_db:+.2f} dB, tilt {self.tilt_db:+.2f} dB, pauses x{self.pause_scale:.3f}"
        )
        extra = [
            f"breathiness {self.breathiness_db:+.1f} dB" if abs(self.breathiness_db) >= 0.05 else "",
            f"jitter {self.jitter_cents:.0f} c, tremor {self.tremor_cents:.0f} c"
            if self.jitter_cents >= 0.5 or self.tremor_cents >= 0.5 else "",
            f"final {self.final_st:+.1f} st" if abs(self.final_st) >= 0.05 else "",
            f"emphasis {self.emphasis_st:+.1f} st/{self.emphasis_db:+.1f} dB"
            if self.emphasis_st >= 0.05 or self.emphasis_db >= 0.05 else "",
        ]
        return ", ".join([text, *[e for e in extra if e]])

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class EmotionProfile(ProsodyPlan):
    """Prosody change of one emotion at intensity 1 (the fields of ProsodyPlan) and its sources."""

    sources: str = ""


def _esd(emotion: str, **cues) -> EmotionProfile:
    return EmotionProfile(
        f0_shift_st=esd_f0_shift_st(emotion), f0_range_scale=esd_f0_range_scale(emotion),
        tempo=esd_duration_ratio(emotion), **cues,
    )


# Energy and tilt of ESD's emotions (ESD publishes none, papers.md §3.4e): direction from [S03],
# [JL03], [BS96] (and [INOUE25] for anger on ESD); size in [TRS] steps of 3.6 dB: anger ("high"
# intensity in [JL03]) 1.66 steps = +6 dB; joy and surprise ("medium-high") 0.83 step = +3 dB;
# sadness ("low") -0.83 step = -3 dB; all below the +8.9 dB [EINET] example. Tilt: a high shelf
# above ~1 kHz (the band [BS96] uses) with the sign of the high-frequency-energy findings and two
# thirds of the energy change in size (high-frequency energy moves with vocal effort, [LD99]).
# Voice quality and contour (all emotions): directions as cited per profile; sizes are
# engineering choices: breathiness +6 to +12 dB of aperiodicity (WORLD's noise share of each band,
# in log-odds dB; +12 dB raises the noise between harmonics of synthetic speech by ~4 dB, a
# clearly audible change); tension -6 dB (mostly above 2 kHz, where voiced bands are part noise);
# fear's irregularity 20 cents
# of frame jitter plus a 25-cent tremor at TREMOR_HZ; final contours 1-3 st (2-6 F0 JNDs) over
# the last FINAL_MS of a phrase; emphasis 1.5-2 st and 1.5-3 dB on the stressed syllables.
_ENERGY_HIGH = ENERGY_STEP_DB * 5 / 3  # +6.0 dB
_ENERGY_MID = ENERGY_STEP_DB * 5 / 6  # +3.0 dB

_COMMON: dict[str, EmotionProfile] = {
    "neutral": EmotionProfile(sources="identity by definition"),
    "angry": _esd(
        "angry", energy_db=_ENERGY_HIGH, tilt_db=4.0, breathiness_db=-6.0, emphasis_st=2.0, emphasis_db=3.0,
        sources="F0 level/range [ESD-J T4]; duration [ESD-J T3]; pauses: segment-rate ratio 0.996 [ESD-pair] -> "
        "none; energy/tilt [S03][JL03][BS96][INOUE25][TRS]; tense voice (less aperiodicity) [GN03][MA93]; "
        "emphasis: abrupt pitch changes on stressed syllables [MA93]",
    ),
    "happy": _esd(
        "happy", energy_db=_ENERGY_MID, tilt_db=2.0, final_st=1.0, emphasis_st=1.5, emphasis_db=1.5,
        sources="F0 level/range [ESD-J T4]; duration [ESD-J T3]; pauses: segment-rate ratio 1.024 [ESD-pair] -> "
        "none; energy/tilt [S03][JL03][BS96][TRS]; regular voice, no breathiness [JL03]; rising contours "
        "[JL03][MA93 'smooth upward inflections']; emphasis: much F0 variability, fast onsets [JL03]",
    ),
    "surprise": _esd(
        "surprise", energy_db=_ENERGY_MID, tilt_db=2.0, final_st=3.0,
        sources="F0 level/range [ESD-J T4]; duration [ESD-J T3]; pauses: segment-rate ratio 1.027 [ESD-pair] -> "
        "none; energy/tilt by analogy with joy [JL03][TRS]; phrase-final rise: issue 12's specification, in "
        "line with the rising contours [JL03] reports for the high-arousal emotions (size: 6 JNDs)",
    ),
    "fear": EmotionProfile(
        f0_shift_st=4.0, f0_range_scale=0.9, tempo=0.88, energy_db=-1.0, breathiness_db=10.0, jitter_cents=20.0,
        tremor_cents=25.0, final_st=1.5,
        sources="high F0, fast, little F0 variability, rising contours, microstructural irregularity, low "
        "intensity except panic [JL03][S03]; 'very much higher' pitch, 'much faster', 'irregular voicing' "
        "[MA93]; whispery voice heard as afraid [GN03]; tilt 0 because [JL03] (low) and [S03] (high) disagree",
    ),
    "disgust": EmotionProfile(
        f0_shift_st=-3.0, f0_range_scale=1.05, tempo=1.15, energy_db=-2.0, tilt_db=-2.0, final_st=-3.0,
        sources="[MA93]: very much slower, very much lower pitch, slightly wider range, lower intensity, "
        "grumbled chest tone (darker tilt), wide downward terminal inflections",
    ),
    "boredom": EmotionProfile(
        f0_shift_st=-2.0, f0_range_scale=0.7, tempo=1.12, energy_db=-2.5, tilt_db=-2.0, pause_scale=1.2,
        breathiness_db=6.0, final_st=-1.0,
        sources="lower intensity, F0, F0 variability and range, less high-frequency energy, slower [S03][BS96]; "
        "lax voice heard as bored [GN03]",
    ),
    "tenderness": EmotionProfile(
        f0_shift_st=-1.0, f0_range_scale=0.85, tempo=1.12, energy_db=-3.0, tilt_db=-3.0, breathiness_db=10.0,
        final_st=-1.0,
        sources="slow, soft, low F0, little F0 variability, little high-frequency energy, falling contours, "
        "regular voice [JL03]; breathy voice heard as intimate [GN03]",
    ),
    "elation": EmotionProfile(
        f0_shift_st=7.0, f0_range_scale=1.3, tempo=0.9, energy_db=5.0, tilt_db=3.0, final_st=1.5,
        emphasis_st=2.0, emphasis_db=2.0,
        sources="elation above quiet happiness in F0, range and energy, more energy above 1 kHz [BS96]; joy/"
        "elation fast with rising contours [S03][JL03]; sizes exceed happy's ESD values by ~1.5 JND steps",
    ),
}

# Sad differs between the sets only in F0 level and range.
_SAD_REST = dict(
    energy_db=-_ENERGY_MID, tilt_db=-2.0, pause_scale=_sad_pause_scale(),
    breathiness_db=12.0, final_st=-2.0,
)
_SAD_REST_SOURCES = (
    "duration [ESD-J T3]; pauses [ESD-pair]; energy/tilt [S03][JL03][BS96][TRS]; breathy voice [GN03]; "
    "falling contours [JL03][S03][MA93 'downward inflections']"
)
PROFILE_TABLES: dict[str, dict[str, EmotionProfile]] = {
    "literature": {
        **_COMMON,
        "sad": EmotionProfile(
            f0_shift_st=-1.5, f0_range_scale=0.85, tempo=esd_duration_ratio("sad"), **_SAD_REST,
            sources="F0: lower and narrower [S03][JL03][MA93 'slightly lower', 'slightly narrower'] (size: 3 JNDs; "
            "ESD's +0.86 st is --profile esd); " + _SAD_REST_SOURCES,
        ),
    },
    "esd": {
        **_COMMON,
        "sad": _esd("sad", **_SAD_REST, sources="F0 level/range [ESD-J T4]; " + _SAD_REST_SOURCES),
    },
}
# The default table (kept under this name for code that reads it directly).
PROFILES = PROFILE_TABLES["literature"]

# Vocal effort hints at +1 ("shout", "scream") and -1 ("whisper"): [LD99] level, F0 and spectral
# slope rise with effort, [GN03] tense voice; [IT05] whisper = noise excitation at a low level.
# Sizes are engineering choices: 6 dB = 6 level JNDs; whisper aperiodicity +30 dB makes almost
# every band noise (WORLD's aperiodicity saturates at 1).
EFFORT_UP = EmotionProfile(f0_shift_st=2.0, energy_db=6.0, tilt_db=4.0, breathiness_db=-6.0, emphasis_db=1.0,
                           sources="[LD99][GN03]")
EFFORT_DOWN = EmotionProfile(energy_db=-6.0, tilt_db=-3.0, breathiness_db=30.0, sources="[IT05][GN03]")


# --------------------------------------------------------------------------------------------
# Control -> plan
# --------------------------------------------------------------------------------------------

# Fields blended on a log scale (ratios) vs linearly (st, dB, cents).
_LOG_FIELDS = ("f0_range_scale", "tempo", "pause_scale")
_CUE_FIELDS = tuple(f.name for f in dataclasses.fields(ProsodyPlan))


def _accumulate(acc: dict[str, float], profile: EmotionProfile, weight: float) -> None:
    for name in _CUE_FIELDS:
        v = getattr(profile, name)
        acc[name] += weight * (math.log(v) if name in _LOG_FIELDS else v)


def _plan(acc: dict[str, float]) -> ProsodyPlan:
    return ProsodyPlan(**{k: (math.exp(v) if k in _LOG_FIELDS else v) for k, v in acc.items()})


def plan_from_control(control: EmotionControl, profile: str = "literature") -> ProsodyPlan:
    """Blend the profiles by ``control.extended``, scale by intensity, apply the floor, add hints.

    All blending happens on log/dB/cent scales so it is symmetric (x1.2 and x1/1.2 cancel) and
    intensity acts linearly there. ``profile``: one of :data:`PROFILE_SETS`.
    """
    if profile not in PROFILE_TABLES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILE_SETS)}")
    table = PROFILE_TABLES[profile]
    acc = {name: 0.0 for name in _CUE_FIELDS}
    a = control.intensity
    for emotion in ALL_EMOTIONS:
        w = control.extended.get(emotion, 0.0) * a
        if w > 0.0 and emotion != "neutral":
            _accumulate(acc, table[emotion], w)
    emotional = _plan(acc)
    if not emotional.is_identity():
        size = emotional.jnd_size()
        if 0.0 < size < 2 * JND_FLOOR:
            # Audibility floor: sizes below 2 floors map to floor + size / 2 (continuous and
            # strictly increasing, so degree ladders stay ordered, and never below the floor).
            acc = {k: v * (JND_FLOOR + 0.5 * size) / size for k, v in acc.items()}
    hints = control.hints
    acc["f0_shift_st"] += hints.pitch * HINT_PITCH_ST
    acc["tempo"] -= hints.tempo * math.log(HINT_TEMPO)  # faster = shorter
    acc["energy_db"] += hints.volume * HINT_VOLUME_DB
    if hints.effort:
        _accumulate(acc, EFFORT_UP if hints.effort > 0 else EFFORT_DOWN, abs(hints.effort))
    return _plan(acc)


def profile_table(profile: str = "literature") -> list[dict[str, float | str]]:
    """The profile table as rows (for docs, ``describe`` output and the README)."""
    rows = []
    for emotion in ALL_EMOTIONS:
        p = PROFILE_TABLES[profile][emotion]
        row: dict[str, float | str] = {"emotion": emotion}
        row.update({k: round(v, 3) for k, v in dataclasses.asdict(p).items() if k != "sources"})
        row["sources"] = p.sources
        rows.append(row)
    return rows
