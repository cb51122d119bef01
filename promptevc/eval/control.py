"""Control metrics in the form of PromptEVC's Table 2 (papers.md §1.5): did each conversion do what
its prompt asked?

Input: one :class:`ControlledConversion` per converted file, holding what was *requested* (emotion,
optional second emotion, intensity level, prosody hint signs) and what was *measured* on the
output (an emotion classifier's posteriors, a measured intensity, and the pitch / speed / volume
change against the source). Metrics (each an accuracy in [0, 1] with its count):

- **emotion**: the classifier's top class is the requested emotion (single-emotion requests);
- **intensity order**: for every source x emotion with several requested levels, the share of
  level pairs (low < medium < high) whose measured intensities are in the requested order
  (ties count half);
- **intensity 3-way**: the measured intensity, bucketed at ``thresholds`` (default 0.3 / 0.7, the
  pseudo-label buckets), equals the requested level;
- **mixed**: for requests naming two emotions, both have higher posteriors than every other
  emotion (PromptEVC's E_mx);
- **pitch / speed / volume**: for requests with a hint, the measured change has the requested
  sign and exceeds a just-noticeable difference (``JND``: 0.5 semitone, 3 % speaking rate,
  1 dB). The change is measured against the source, or against the conversion named by
  ``baseline`` (the same request without the hint, which removes the emotion's own prosody).

:func:`control_metrics` computes them; :func:`control_table` writes a Markdown table (one row per
system, e.g. the neural engine with learned control, with ``--control parser``, the prosody
engine) with PromptEVC's published figures as an optional reference row.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence

LEVELS: tuple[str, ...] = ("low", "medium", "high")
HINT_FIELDS: tuple[str, ...] = ("pitch", "speed", "volume")
#: Just-noticeable differences: semitones, relative speaking rate, dB.
JND: dict[str, float] = {"pitch": 0.5, "speed": 0.03, "volume": 1.0}
#: PromptEVC Table 2 (papers.md §1.5), accuracy in %; the paper reports no emotion or 3-way figure.
PROMPTEVC_TABLE2: dict[str, float] = {"intensity_order": 77.58, "mixed": 61.25, "pitch": 86.41, "speed": 89.72,
                                      "volume": 91.52}
METRICS: tuple[str, ...] = ("emotion", "intensity_order", "intensity_3way", "mixed", "pitch", "speed", "volume")
_HEADERS = {"emotion": "Emotion", "intensity_order": "Intensity order", "intensity_3way": "Intensity 3-way",
            "mixed": "Mixed", "pitch": "Pitch", "speed": "Speed", "volume": "Volume"}


@dataclasses.dataclass
class ControlledConversion:
    """One conversion: the request and the measurements of its output.

    ``source`` groups conversions of the same input (intensity ordering is judged within a source
    and emotion). ``hints``: requested sign per field (``pitch``/``speed``/``volume``: +1, -1; 0 or
    absent = not asked). ``posteriors``: emotion -> probability from the grading classifier.
    ``intensity``: measured intensity of the output (e.g. the classifier's distance from neutral
    mapped to [0, 1]). ``pitch_st`` / ``speed`` / ``volume_db``: measured change against the
    source (semitones, relative rate change: +0.05 = 5 % faster, dB). ``baseline``: id of the
    conversion the hint changes are measured against instead (same request without the hint).
    """

    id: str
    source: str
    emotion: str | None = None
    second_emotion: str | None = None
    level: str | None = None
    hints: dict[str, int] = dataclasses.field(default_factory=dict)
    posteriors: dict[str, float] | None = None
    intensity: float | None = None
    pitch_st: float | None = None
    speed: float | None = None
    volume_db: float | None = None
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"{self.id}: intensity level {self.level!r}; choose {', '.join(LEVELS)}")
        for name, sign in self.hints.items():
            if name not in HINT_FIELDS or sign not in (-1, 0, 1):
                raise ValueError(f"{self.id}: hint {name}={sign!r}; fields {', '.join(HINT_FIELDS)}, signs -1/0/+1")


@dataclasses.dataclass
class Score:
    """An accuracy: ``correct`` of ``total`` (``correct`` may be fractional: ties count half)."""

    correct: float = 0.0
    total: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def add(self, value: float) -> None:
        self.correct += value
        self.total += 1


def _measured(conv: ControlledConversion, field: str) -> float | None:
    return {"pitch": conv.pitch_st, "speed": conv.speed, "volume": conv.volume_db}[field]


def _top(posteriors: Mapping[str, float]) -> str:
    return max(posteriors, key=lambda e: posteriors[e])


def bucket(value: float, thresholds: tuple[float, float] = (0.3, 0.7)) -> str:
    """Measured intensity -> "low" (< lo) | "medium" | "high" (>= hi)."""
    lo, hi = thresholds
    return "low" if value < lo else "medium" if value < hi else "high"


def control_metrics(conversions: Iterable[ControlledConversion], *,
                    thresholds: tuple[float, float] = (0.3, 0.7), jnd: Mapping[str, float] | None = None
                    ) -> dict[str, Score]:
    """Every metric of the module docstring over ``conversions`` -> {metric: Score}."""
    convs = list(conversions)
    jnd = dict(JND, **(jnd or {}))
    by_id = {c.id: c for c in convs}
    if len(by_id) != len(convs):
        raise ValueError("conversion ids must be unique")
    scores = {m: Score() for m in METRICS}
    groups: dict[tuple[str, str], list[ControlledConversion]] = {}
    for c in convs:
        if c.posteriors is not None and c.emotion is not None:
            if c.second_emotion is None:
                scores["emotion"].add(float(_top(c.posteriors) == c.emotion))
            else:
                named = {c.emotion, c.second_emotion}
                others = [p for e, p in c.posteriors.items() if e not in named]
                low = min(c.posteriors.get(e, 0.0) for e in named)
                scores["mixed"].add(float(all(low > p for p in others)))
        if c.level is not None and c.intensity is not None and c.emotion is not None and c.emotion != "neutral":
            scores["intensity_3way"].add(float(bucket(c.intensity, thresholds) == c.level))
            groups.setdefault((c.source, c.emotion), []).append(c)
        for field in HINT_FIELDS:
            sign = c.hints.get(field, 0)
            value = _measured(c, field)
            if not sign or value is None:
                continue
            if c.baseline is not None:
                if c.baseline not in by_id:
                    raise ValueError(f"{c.id}: baseline {c.baseline!r} is not among the conversions")
                base = _measured(by_id[c.baseline], field)
                if base is None:
                    continue
                value = value - base
            scores[field].add(float(sign * value > jnd[field]))
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            la, lb = LEVELS.index(a.level), LEVELS.index(b.level)
            if la == lb:
                continue
            lo, hi = (a, b) if la < lb else (b, a)
            scores["intensity_order"].add(1.0 if hi.intensity > lo.intensity else 0.5 if hi.intensity == lo.intensity
                                          else 0.0)
    return scores


def _cell(score: Score | None) -> str:
    if score is None or score.accuracy is None:
        return "–"
    return f"{100 * score.accuracy:.1f} % (n={score.total})"


def control_table(systems: Mapping[str, Mapping[str, Score]], *, reference: bool = True,
                  metrics: Sequence[str] = METRICS) -> str:
    """Markdown table: one row per system (name -> :func:`control_metrics` result), accuracies in %.

    ``reference`` adds PromptEVC's Table 2 figures (their classifier, their test set: for
    orientation only, not a like-for-like comparison).
    """
    head = "| System | " + " | ".join(_HEADERS[m] for m in metrics) + " |"
    rule = "|---|" + "---|" * len(metrics)
    rows = [head, rule]
    for name, scores in systems.items():
        rows.append(f"| {name} | " + " | ".join(_cell(scores.get(m)) for m in metrics) + " |")
    if reference:
        cells = [f"{PROMPTEVC_TABLE2[m]:.1f} %" if m in PROMPTEVC_TABLE2 else "–" for m in metrics]
        rows.append("| PromptEVC (paper, Table 2) | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


__all__ = ["ControlledConversion", "JND", "LEVELS", "PROMPTEVC_TABLE2", "Score", "bucket", "control_metrics",
           "control_table"]
