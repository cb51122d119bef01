"""Helpers for the demo tests: a fake converter (the public interface) and a small listening test.

Imported by name (``from demo_support import ...``), not from conftest: several conftest.py
files exist in this tree and pytest keeps only one module called ``conftest``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import soundfile as sf

from promptevc.prompt.control import EmotionControl
from promptevc.utils.synth import synth_speech


class FakeConverter:
    """Stands in for ``promptevc.Converter``: same methods, a trivial, checkable conversion."""

    def __init__(self, engine: str, model: str | None):
        self.engine, self.model = engine, model
        self.calls: list[dict] = []

    def describe(self, prompt: str) -> EmotionControl:
        for emotion in ("angry", "happy", "sad", "surprise"):
            if emotion in prompt.lower():
                return EmotionControl.from_label(emotion, intensity=0.3, prompt=prompt)
        return EmotionControl.from_label("neutral", intensity=0.5, prompt=prompt)

    def convert(self, wav, sample_rate, prompt=None, emotion=None, intensity=None, seed=None):
        self.calls.append({"prompt": prompt, "intensity": intensity, "seed": seed, "n": len(wav)})
        # Half the level and a 22.05 kHz output rate, so tests see the result really came back.
        import soxr

        return 0.5 * soxr.resample(wav, sample_rate, 22050), 22050



def write_wav(path: Path, f0: float, seconds: float = 0.6, sample_rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, synth_speech(f0_hz=f0, seconds=seconds, sample_rate=sample_rate), sample_rate, subtype="PCM_16")
    return path


STIMULI = [
    # file, system, condition, utt, emotion, intensity
    ("ref/u1.wav", "reference", "natural", "u1", "neutral", ""),
    ("ref/u2.wav", "reference", "natural", "u2", "neutral", ""),
    ("evc/u1_sad_lo.wav", "evc", "sad-0.2", "u1", "sad", "0.2"),
    ("evc/u1_sad_hi.wav", "evc", "sad-0.8", "u1", "sad", "0.8"),
    ("evc/u2_happy_lo.wav", "evc", "happy-0.2", "u2", "happy", "0.2"),
    ("evc/u2_happy_hi.wav", "evc", "happy-0.8", "u2", "happy", "0.8"),
]


def make_test_folder(root: Path, rows=STIMULI, extra_columns: dict[str, list[str]] | None = None) -> Path:
    """Write the stimuli (synthesised speech) and manifest.csv under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows):
        if not row[0].startswith(("..", "/")):
            write_wav(root / row[0], 110.0 + 15 * i)
    header = ["file", "system", "condition", "utt", "emotion", "intensity", *(extra_columns or {})]
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, row in enumerate(rows):
            w.writerow([*row, *[v[i] for v in (extra_columns or {}).values()]])
    return root
