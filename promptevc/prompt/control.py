"""EmotionControl: what a prompt asks for, in a form every engine understands (DESIGN §3)."""

from __future__ import annotations

import dataclasses
from typing import Any

from promptevc.errors import PromptError

# ESD's five emotions, in ESD's order. Index = class id everywhere in the toolkit.
EMOTIONS: tuple[str, ...] = ("neutral", "angry", "happy", "sad", "surprise")


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


@dataclasses.dataclass
class ProsodyHints:
    """Explicit prosody requests, each a signed amount in [-1, 1]; 0 = not asked.

    ``tempo``: +1 "much faster", +0.5 "a bit faster", -0.5 "a bit slower".
    ``pitch``: +1 "much higher voice" ... -1 "much lower voice".
    ``volume``: +1 "much louder" ... -1 "much softer".
    Engines map these to amounts (the prosody engine: tempo ±25 %, pitch ±4 st, volume ±6 dB
    at ±1), on top of the emotion's own profile.
    """

    tempo: float = 0.0
    pitch: float = 0.0
    volume: float = 0.0

    def __post_init__(self) -> None:
        self.tempo = _clip(self.tempo, -1.0, 1.0)
        self.pitch = _clip(self.pitch, -1.0, 1.0)
        self.volume = _clip(self.volume, -1.0, 1.0)

    def is_empty(self) -> bool:
        return self.tempo == 0 and self.pitch == 0 and self.volume == 0


@dataclasses.dataclass
class EmotionControl:
    """Probabilities over :data:`EMOTIONS`, an intensity in [0, 1], and prosody hints.

    ``intensity`` scales how far from the speaker's neutral delivery the output moves:
    0 keeps the input's prosody, 1 is the strongest rendering of the emotion.
    """

    probs: dict[str, float]
    intensity: float = 0.5
    hints: ProsodyHints = dataclasses.field(default_factory=ProsodyHints)
    prompt: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: What was set explicitly by :meth:`with_overrides` (``--emotion`` / ``--intensity``), kept
    #: so that an engine whose model reads the prompt itself (neural) knows which values to keep.
    emotion_override: str | None = None
    intensity_override: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.probs) - set(EMOTIONS)
        if unknown:
            raise PromptError(f"unknown emotion {sorted(unknown)[0]!r}; choose from {', '.join(EMOTIONS)}")
        probs = {e: max(0.0, float(self.probs.get(e, 0.0))) for e in EMOTIONS}
        total = sum(probs.values())
        if total <= 0:
            probs = {e: float(e == "neutral") for e in EMOTIONS}
            total = 1.0
        self.probs = {e: p / total for e, p in probs.items()}
        self.intensity = _clip(self.intensity, 0.0, 1.0)

    @property
    def emotion(self) -> str:
        """The most probable emotion."""
        return max(EMOTIONS, key=lambda e: self.probs[e])

    def vector(self) -> list[float]:
        """Probabilities in :data:`EMOTIONS` order."""
        return [self.probs[e] for e in EMOTIONS]

    @classmethod
    def from_label(cls, emotion: str, intensity: float = 0.5, **kwargs: Any) -> "EmotionControl":
        emotion = normalise_label(emotion)
        return cls(probs={emotion: 1.0}, intensity=intensity, **kwargs)

    def with_overrides(self, emotion: str | None = None, intensity: float | None = None) -> "EmotionControl":
        """Copy with ``--emotion`` / ``--intensity`` applied (they win over the prompt)."""
        out = dataclasses.replace(self, hints=dataclasses.replace(self.hints), warnings=list(self.warnings))
        if emotion is not None:
            out.emotion_override = normalise_label(emotion)
            out.probs = {e: float(e == out.emotion_override) for e in EMOTIONS}
        if intensity is not None:
            if not 0.0 <= float(intensity) <= 1.0:
                raise PromptError(f"intensity {intensity} is outside [0, 1]")
            out.intensity = float(intensity)
            out.intensity_override = float(intensity)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``promptevc describe --json``."""
        return {
            "emotion": self.emotion,
            "probs": {e: round(self.probs[e], 4) for e in EMOTIONS},
            "intensity": round(self.intensity, 4),
            "hints": dataclasses.asdict(self.hints),
        }

    def summary(self) -> str:
        """One line, e.g. ``sad, intensity 0.30 (sad 0.92, neutral 0.05, ...)``."""
        ranked = sorted(EMOTIONS, key=lambda e: -self.probs[e])
        mix = ", ".join(f"{e} {self.probs[e]:.2f}" for e in ranked if self.probs[e] >= 0.05)
        hints = [f"{k} {v:+.1f}" for k, v in dataclasses.asdict(self.hints).items() if v]
        tail = f"; hints: {', '.join(hints)}" if hints else ""
        return f"{self.emotion}, intensity {self.intensity:.2f} ({mix}){tail}"


_ALIASES = {"surprised": "surprise", "anger": "angry", "happiness": "happy", "sadness": "sad", "neutrality": "neutral"}


def normalise_label(emotion: str) -> str:
    """Map a label (any case, a few aliases) onto :data:`EMOTIONS` or raise PromptError."""
    key = emotion.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise PromptError(f"unknown emotion {emotion!r}; choose from {', '.join(EMOTIONS)}")
    return key
