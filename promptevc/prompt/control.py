"""EmotionControl: what a prompt asks for, in a form every engine understands (DESIGN §3).

Two vocabularies:

* :data:`EMOTIONS` — ESD's five (neutral, angry, happy, sad, surprise), the labels the neural
  models are trained on. ``EmotionControl.probs`` is always a distribution over these five.
* :data:`EXTENDED_EMOTIONS` — emotions people name that ESD lacks (fear, disgust, boredom,
  tenderness, elation). The prosody engine has a profile for each; ``EmotionControl.extended``
  carries the full mixture over :data:`ALL_EMOTIONS` and ``label`` its most probable member.

Engines that know only ESD's five use ``probs``, the projection of ``extended`` through
:data:`NEAREST_ESD` (each extended emotion -> a documented mixture of ESD emotions; its largest
member is the "nearest emotion" named in the warning of :func:`unknown_emotion_warning`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from promptevc.errors import PromptError

# ESD's five emotions, in ESD's order. Index = class id everywhere in the toolkit.
EMOTIONS: tuple[str, ...] = ("neutral", "angry", "happy", "sad", "surprise")
# Emotions outside ESD that the prompt parser recognises and the prosody engine renders.
EXTENDED_EMOTIONS: tuple[str, ...] = ("fear", "disgust", "boredom", "tenderness", "elation")
ALL_EMOTIONS: tuple[str, ...] = EMOTIONS + EXTENDED_EMOTIONS

# How an engine that knows only ESD's five renders an extended emotion: a mixture of ESD emotions
# whose largest member is the nearest one. Neighbours follow Plutchik's wheel (1980: fear borders
# surprise, disgust borders anger and sadness, love = joy + trust) and the valence/arousal
# circumplex (Russell 1980: boredom is low-arousal, slightly negative; elation is high-arousal
# positive); the second member keeps the valence ("fear" is negative, so sad, not happy).
NEAREST_ESD: dict[str, dict[str, float]] = {
    "fear": {"surprise": 0.6, "sad": 0.4},
    "disgust": {"angry": 0.6, "sad": 0.4},
    "boredom": {"neutral": 0.6, "sad": 0.4},
    "tenderness": {"happy": 0.6, "neutral": 0.4},
    "elation": {"happy": 0.8, "surprise": 0.2},
}


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


@dataclasses.dataclass
class ProsodyHints:
    """Explicit prosody requests, each a signed amount in [-1, 1]; 0 = not asked.

    ``tempo``: +1 "much faster", +0.5 "a bit faster", -0.5 "a bit slower".
    ``pitch``: +1 "much higher voice" ... -1 "much lower voice".
    ``volume``: +1 "much louder" ... -1 "much softer".
    ``effort``: vocal effort, +1 "shout"/"scream" (louder, brighter, tenser), -1 "whisper"
    (softer, breathy).
    Engines map these to amounts (the prosody engine: tempo ±25 %, pitch ±4 st, volume ±6 dB
    at ±1; effort: see ``promptevc.engines.profiles``), on top of the emotion's own profile.
    """

    tempo: float = 0.0
    pitch: float = 0.0
    volume: float = 0.0
    effort: float = 0.0

    def __post_init__(self) -> None:
        self.tempo = _clip(self.tempo, -1.0, 1.0)
        self.pitch = _clip(self.pitch, -1.0, 1.0)
        self.volume = _clip(self.volume, -1.0, 1.0)
        self.effort = _clip(self.effort, -1.0, 1.0)

    def is_empty(self) -> bool:
        return self.tempo == 0 and self.pitch == 0 and self.volume == 0 and self.effort == 0


def project_to_esd(extended: dict[str, float]) -> dict[str, float]:
    """A mixture over :data:`ALL_EMOTIONS` -> its distribution over ESD's five (NEAREST_ESD)."""
    probs = {e: 0.0 for e in EMOTIONS}
    for e, p in extended.items():
        if e in NEAREST_ESD:
            for target, share in NEAREST_ESD[e].items():
                probs[target] += p * share
        else:
            probs[e] += p
    return probs


def _normalise(probs: dict[str, float], labels: tuple[str, ...]) -> dict[str, float] | None:
    clean = {e: max(0.0, float(probs.get(e, 0.0))) for e in labels}
    total = sum(clean.values())
    return None if total <= 0 else {e: p / total for e, p in clean.items()}


@dataclasses.dataclass
class EmotionControl:
    """Probabilities over :data:`EMOTIONS`, an intensity in [0, 1], and prosody hints.

    ``intensity`` scales how far from the speaker's neutral delivery the output moves:
    0 keeps the input's prosody, 1 is the strongest rendering of the emotion.
    ``extended``: the mixture over :data:`ALL_EMOTIONS` the prompt asked for (empty = the same as
    ``probs``). When given, ``probs`` is derived from it (:func:`project_to_esd`), so the two
    always agree; ``label`` is its most probable emotion ("fear", or one of ESD's five).
    """

    probs: dict[str, float]
    intensity: float = 0.5
    hints: ProsodyHints = dataclasses.field(default_factory=ProsodyHints)
    prompt: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    extended: dict[str, float] = dataclasses.field(default_factory=dict)
    #: What was set explicitly by :meth:`with_overrides` (``--emotion`` / ``--intensity``), kept
    #: so that an engine whose model reads the prompt itself (neural) knows which values to keep.
    emotion_override: str | None = None
    intensity_override: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.probs) - set(EMOTIONS)
        if unknown:
            raise PromptError(f"unknown emotion {sorted(unknown)[0]!r}; choose from {', '.join(EMOTIONS)}")
        unknown = set(self.extended) - set(ALL_EMOTIONS)
        if unknown:
            raise PromptError(f"unknown emotion {sorted(unknown)[0]!r}; choose from {', '.join(ALL_EMOTIONS)}")
        extended = _normalise(self.extended, ALL_EMOTIONS) if self.extended else None
        if extended is None:
            probs = _normalise(self.probs, EMOTIONS) or {e: float(e == "neutral") for e in EMOTIONS}
            extended = {e: probs.get(e, 0.0) for e in ALL_EMOTIONS}
        else:
            probs = project_to_esd(extended)
        self.probs = probs
        self.extended = extended
        self.intensity = _clip(self.intensity, 0.0, 1.0)

    @property
    def emotion(self) -> str:
        """The most probable of ESD's five emotions."""
        return max(EMOTIONS, key=lambda e: self.probs[e])

    @property
    def label(self) -> str:
        """The most probable emotion the prompt named, from :data:`ALL_EMOTIONS`."""
        return max(ALL_EMOTIONS, key=lambda e: self.extended[e])

    def vector(self) -> list[float]:
        """Probabilities in :data:`EMOTIONS` order."""
        return [self.probs[e] for e in EMOTIONS]

    @classmethod
    def from_label(cls, emotion: str, intensity: float = 0.5, **kwargs: Any) -> EmotionControl:
        """A pure emotion; ``emotion`` may be one of ESD's five or an extended one ("fear")."""
        emotion = normalise_any_label(emotion)
        return cls(probs={}, extended={emotion: 1.0}, intensity=intensity, **kwargs)

    def with_overrides(self, emotion: str | None = None, intensity: float | None = None) -> EmotionControl:
        """Copy with ``--emotion`` / ``--intensity`` applied (they win over the prompt)."""
        out = dataclasses.replace(
            self, hints=dataclasses.replace(self.hints), warnings=list(self.warnings), extended=dict(self.extended)
        )
        if emotion is not None:
            key = normalise_any_label(emotion)
            out.emotion_override = key
            out.extended = {e: float(e == key) for e in ALL_EMOTIONS}
            out.probs = project_to_esd(out.extended)
        if intensity is not None:
            if not 0.0 <= float(intensity) <= 1.0:
                raise PromptError(f"intensity {intensity} is outside [0, 1]")
            out.intensity = float(intensity)
            out.intensity_override = float(intensity)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``promptevc describe --json``.

        ``emotion``/``probs``: ESD's five (what the neural models receive); ``label`` and
        ``extended``: what the prompt named (what the prosody engine renders).
        """
        return {
            "emotion": self.emotion,
            "probs": {e: round(self.probs[e], 4) for e in EMOTIONS},
            "label": self.label,
            "extended": {e: round(p, 4) for e, p in self.extended.items() if p >= 1e-4},
            "intensity": round(self.intensity, 4),
            "hints": dataclasses.asdict(self.hints),
        }

    def summary(self) -> str:
        """One line, e.g. ``sad, intensity 0.30 (sad 0.92, neutral 0.05, ...)``.

        With an extended emotion: ``fear, intensity 0.60 (fear 0.95, ...); ESD five: surprise 0.57, ...``.
        """
        ranked = sorted(ALL_EMOTIONS, key=lambda e: -self.extended[e])
        mix = ", ".join(f"{e} {self.extended[e]:.2f}" for e in ranked if self.extended[e] >= 0.05)
        hints = [f"{k} {v:+.1f}" for k, v in dataclasses.asdict(self.hints).items() if v]
        tail = f"; hints: {', '.join(hints)}" if hints else ""
        esd = ""
        if any(self.extended[e] >= 0.05 for e in EXTENDED_EMOTIONS):
            top = sorted(EMOTIONS, key=lambda e: -self.probs[e])
            esd = "; ESD five: " + ", ".join(f"{e} {self.probs[e]:.2f}" for e in top if self.probs[e] >= 0.05)
        return f"{self.label}, intensity {self.intensity:.2f} ({mix}){esd}{tail}"


def unknown_emotion_warning(control: EmotionControl, engine: str, known: tuple[str, ...] = EMOTIONS) -> str | None:
    """One warning line when ``control`` names an emotion ``engine`` does not know, else None.

    The engine then renders ``control.probs`` (ESD's five), whose nearest member is named.
    """
    label = control.label
    if label in known:
        return None
    nearest = max(NEAREST_ESD[label], key=NEAREST_ESD[label].get)
    return (
        f"the {engine} engine has no '{label}' emotion (it knows {', '.join(known)}); "
        f"it renders the nearest, {nearest} ({', '.join(f'{e} {p:.0%}' for e, p in NEAREST_ESD[label].items())})"
    )


_ALIASES = {"surprised": "surprise", "anger": "angry", "happiness": "happy", "sadness": "sad", "neutrality": "neutral"}
_EXTENDED_ALIASES = {
    "fearful": "fear", "afraid": "fear", "scared": "fear", "anxiety": "fear", "anxious": "fear",
    "disgusted": "disgust", "bored": "boredom", "tired": "boredom", "tender": "tenderness",
    "elated": "elation", "excitement": "elation", "excited": "elation",
}


def normalise_label(emotion: str) -> str:
    """Map a label (any case, a few aliases) onto ESD's :data:`EMOTIONS` or raise PromptError.

    Data preparation and training use this: their labels must be ESD's five.
    """
    key = emotion.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise PromptError(f"unknown emotion {emotion!r}; choose from {', '.join(EMOTIONS)}")
    return key


def normalise_any_label(emotion: str) -> str:
    """Like :func:`normalise_label`, but accepts the extended emotions too (``--emotion fear``)."""
    key = emotion.strip().lower()
    key = _EXTENDED_ALIASES.get(key, _ALIASES.get(key, key))
    if key not in ALL_EMOTIONS:
        raise PromptError(f"unknown emotion {emotion!r}; choose from {', '.join(ALL_EMOTIONS)}")
    return key
