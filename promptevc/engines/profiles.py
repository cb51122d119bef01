"""Per-emotion prosody profiles and the EmotionControl -> ProsodyPlan mapping.

Each profile says how far an utterance moves from the speaker's neutral delivery at intensity 1.
Where ESD (the corpus the toolkit's recipes target) has published statistics we derive the
number from them with the arithmetic written out below; where ESD is silent (energy, spectral
tilt) the *direction* comes from the vocal-affect literature and the *magnitude* is anchored to a
stated reference. Source keys (full references at the bottom of this docstring):

- [ESD-J T4]  Zhou et al. 2022, Speech Communication 137, Table 4: WORLD F0 mean / std (Hz)
  per emotion and gender, English speakers 0011-0020 (../shared/docs/papers.md §3.4a).
- [ESD-J T3]  same paper, Table 3: mean utterance duration per emotion, English and Mandarin
  (papers.md §3.4b).
- [ESD-pair]  paired same-sentence ratios computed from the ZEST ESD file lists
  (papers.md §3.4c): trimmed-duration and segment-rate ratios vs neutral.
- [S03]       Scherer 2003, Speech Communication 40: review table of acoustic patterns of basic
  emotions (direction of rate, intensity, F0 level/range and high-frequency energy).
- [JL03]      Juslin & Laukka 2003, Psychological Bulletin 129: meta-analysis of vocal
  expression (anger: high intensity and much high-frequency energy; happiness: medium-high;
  sadness: low intensity, little high-frequency energy, slow rate).
- [BS96]      Banse & Scherer 1996, J. Personality & Social Psychology 70: acoustic profiles of
  14 acted emotions (hot anger and elation: high mean energy and a larger share of energy above
  1 kHz; sadness: low energy, less energy above 1 kHz).
- [INOUE25]   Inoue et al. 2025, hierarchical emotion rendering, §VI: on ESD English, anger has a
  higher energy mean and std (papers.md §3.4b/e).
- [TRS]       TextrolSpeech energy classes (papers.md §4.2): mean RMS < 0.0333 "low",
  > 0.0505 "high"; 20*log10(0.0505/0.0333) = 3.6 dB is the distance between a corpus-labelled
  "low" and "high" energy class, used here as the unit of a clearly audible loudness step.
- [EINET]     Qi et al., EINet, Fig. 2-3 (papers.md §2.4): happy at intensity 0.8 raises peak RMS
  from 0.015 to 0.042 (+8.9 dB); used as an upper bound for energy changes.

Intensity: every profile value v is applied on its natural log/dB scale as ``intensity * v`` so
intensity 0 is the identity and the change grows linearly (so monotonically) with intensity.
Mixtures: the profile values of the emotions are averaged with the control's probabilities on the
same log/dB scales (neutral contributes the identity). Hints (ProsodyHints) add fixed amounts on
top, independent of intensity: tempo ±25 %, pitch ±4 st, volume ±6 dB at ±1.
"""

from __future__ import annotations

import dataclasses
import math

from promptevc.prompt.control import EMOTIONS, EmotionControl

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
    surprise +6.2/+6.1 -> +6.15 st. (ESD's acted sadness is slightly *higher* than neutral,
    unlike the lower F0 reported in [S03]; we follow the corpus the toolkit targets, and sad is
    carried mostly by duration, energy and tilt, as Emovox also observed on ESD.)
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


@dataclasses.dataclass(frozen=True)
class EmotionProfile:
    """Prosody change of one emotion at intensity 1 (see ProsodyPlan for the fields' units)."""

    f0_shift_st: float
    f0_range_scale: float
    tempo: float
    energy_db: float
    tilt_db: float
    pause_scale: float
    sources: str


def _esd(emotion: str, energy_db: float, tilt_db: float, pause_scale: float, sources: str) -> EmotionProfile:
    return EmotionProfile(
        f0_shift_st=esd_f0_shift_st(emotion),
        f0_range_scale=esd_f0_range_scale(emotion),
        tempo=esd_duration_ratio(emotion),
        energy_db=energy_db,
        tilt_db=tilt_db,
        pause_scale=pause_scale,
        sources=sources,
    )


# Energy and tilt magnitudes (ESD publishes none, papers.md §3.4e):
# - energy: direction from [S03], [JL03], [BS96] (and [INOUE25] for anger on ESD); size in
#   [TRS] steps of 3.6 dB: anger ("high" intensity in [JL03]) 1.66 steps = +6 dB; joy and
#   surprise (raised, "medium-high" in [JL03]; surprise shares happy's F0 pattern in [ESD-J T4])
#   0.83 step = +3 dB; sadness ("low") -0.83 step = -3 dB. All stay below the +8.9 dB [EINET]
#   example of an ESD-trained model at intensity 0.8.
# - tilt: a high-shelf gain above ~1 kHz (the band [BS96] uses for its high/low energy ratio),
#   with the sign of the high-frequency-energy findings in [S03], [JL03], [BS96]; its size is
#   two thirds of the energy change (anger +4, joy/surprise +2, sadness -2 dB), because
#   high-frequency energy is reported to move with, and in the same direction as, vocal effort.
#   These magnitudes are engineering choices within the cited directions, not measurements.
PROFILES: dict[str, EmotionProfile] = {
    "neutral": EmotionProfile(0.0, 1.0, 1.0, 0.0, 0.0, 1.0, "identity by definition"),
    "angry": _esd(
        "angry", energy_db=ENERGY_STEP_DB * 5 / 3, tilt_db=4.0, pause_scale=1.0,
        sources="F0 [ESD-J T4]; duration [ESD-J T3]; energy/tilt [S03][JL03][BS96][INOUE25][TRS]; "
        "pauses: segment-rate ratio 0.996 [ESD-pair] -> no change",
    ),
    "happy": _esd(
        "happy", energy_db=ENERGY_STEP_DB * 5 / 6, tilt_db=2.0, pause_scale=1.0,
        sources="F0 [ESD-J T4]; duration [ESD-J T3]; energy/tilt [S03][JL03][BS96][TRS]; "
        "pauses: segment-rate ratio 1.024 [ESD-pair] -> no change",
    ),
    "sad": _esd(
        "sad", energy_db=-ENERGY_STEP_DB * 5 / 6, tilt_db=-2.0, pause_scale=_sad_pause_scale(),
        sources="F0 [ESD-J T4]; duration [ESD-J T3]; pauses [ESD-pair]; energy/tilt [S03][JL03][BS96][TRS]",
    ),
    "surprise": _esd(
        "surprise", energy_db=ENERGY_STEP_DB * 5 / 6, tilt_db=2.0, pause_scale=1.0,
        sources="F0 [ESD-J T4]; duration [ESD-J T3]; energy/tilt by analogy with joy [JL03][TRS]; "
        "pauses: segment-rate ratio 1.027 [ESD-pair] -> no change",
    ),
}


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProsodyPlan:
    """What the prosody engine does to one utterance.

    f0_shift_st: F0 level change in semitones (on voiced frames, in log-F0).
    f0_range_scale: factor on log-F0 deviations from the utterance's own voiced mean (1 = keep).
    tempo: duration ratio, output length / input length (>1 = slower; sad at intensity 1: 1.195).
    energy_db: level change of the active (non-pause) speech in dB.
    tilt_db: high-shelf gain above ~1 kHz in dB applied to the spectral envelope (>0 = brighter).
    pause_scale: how much more pauses stretch than speech (1 = uniform; total stays ``tempo``).
    """

    f0_shift_st: float = 0.0
    f0_range_scale: float = 1.0
    tempo: float = 1.0
    energy_db: float = 0.0
    tilt_db: float = 0.0
    pause_scale: float = 1.0

    def is_identity(self, tol: float = 1e-3) -> bool:
        """True when applying the plan would not change the input (engines skip resynthesis)."""
        return (
            abs(self.f0_shift_st) < tol
            and abs(math.log(self.f0_range_scale)) < tol
            and abs(math.log(self.tempo)) < tol
            and abs(self.energy_db) < tol
            and abs(self.tilt_db) < tol
            and abs(math.log(self.pause_scale)) < tol
        )

    def summary(self) -> str:
        return (
            f"F0 {self.f0_shift_st:+.2f} st, range x{self.f0_range_scale:.3f}, duration x{self.tempo:.3f}, "
            f"energy {self.energy_db:+.2f} dB, tilt {self.tilt_db:+.2f} dB, pauses x{self.pause_scale:.3f}"
        )

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in dataclasses.asdict(self).items()}


def plan_from_control(control: EmotionControl) -> ProsodyPlan:
    """Blend the profiles by ``control.probs``, scale by intensity, add the hints.

    All blending happens on log/dB scales so it is symmetric (x1.2 and x1/1.2 cancel) and
    intensity acts linearly there.
    """
    a = control.intensity
    shift = range_log = tempo_log = energy = tilt = pause_log = 0.0
    for emotion in EMOTIONS:
        w = control.probs.get(emotion, 0.0) * a
        if w == 0.0:
            continue
        prof = PROFILES[emotion]
        shift += w * prof.f0_shift_st
        range_log += w * math.log(prof.f0_range_scale)
        tempo_log += w * math.log(prof.tempo)
        energy += w * prof.energy_db
        tilt += w * prof.tilt_db
        pause_log += w * math.log(prof.pause_scale)
    hints = control.hints
    shift += hints.pitch * HINT_PITCH_ST
    tempo_log -= hints.tempo * math.log(HINT_TEMPO)  # faster = shorter
    energy += hints.volume * HINT_VOLUME_DB
    return ProsodyPlan(
        f0_shift_st=shift,
        f0_range_scale=math.exp(range_log),
        tempo=math.exp(tempo_log),
        energy_db=energy,
        tilt_db=tilt,
        pause_scale=math.exp(pause_log),
    )


def profile_table() -> list[dict[str, float | str]]:
    """The profile table as rows (for docs, ``describe`` output and the README)."""
    rows = []
    for emotion in EMOTIONS:
        p = PROFILES[emotion]
        row: dict[str, float | str] = {"emotion": emotion}
        row.update({k: round(v, 3) for k, v in dataclasses.asdict(p).items() if k != "sources"})
        row["sources"] = p.sources
        rows.append(row)
    return rows
