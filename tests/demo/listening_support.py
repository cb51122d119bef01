"""A complete ``manifest.yaml`` listening test (every test type) on synthesised stimuli, for the demo tests.

Imported by name (``from listening_support import ...``) like demo_support.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from demo_support import write_wav

# file -> F0 of the synthetic "speech" written there
FILES = {
    "src/u1.wav": 120.0, "src/u2.wav": 135.0,            # neutral sources
    "nat/u1_sad.wav": 110.0, "nat/u2_happy.wav": 170.0,  # natural emotional references
    "evc/u1_sad.wav": 112.0, "evc/u2_happy.wav": 165.0,  # system "evc"
    "pros/u1_sad.wav": 118.0, "pros/u2_happy.wav": 150.0,  # system "prosody"
    "evc/u1_sad_lo.wav": 116.0, "evc/u1_sad_hi.wav": 108.0,
    "gold/noise.wav": 300.0,
}

MANIFEST = {
    "title": "Pilot: emotional voice conversion",
    "instructions": "Use headphones in a quiet room. Each page asks one question; answer by ear.",
    "consent": "Your answers are stored without your name and used for research only.",
    "completion_code": "PEVC-PILOT-1",
    "time_budget_minutes": 30,
    "attention": {"max_failures": 0},
    "screening": {"mushra": {"reference_min": 90, "max_fraction": 0.15}},
    "blocks": [
        {"type": "mos", "name": "naturalness",
         "training": [{"file": "src/u2.wav", "system": "natural"}],
         "trials": [
             {"file": "evc/u1_sad.wav", "system": "evc", "utt": "u1"},
             {"file": "pros/u1_sad.wav", "system": "prosody", "utt": "u1"},
             {"file": "evc/u2_happy.wav", "system": "evc", "utt": "u2"},
             {"file": "pros/u2_happy.wav", "system": "prosody", "utt": "u2"},
             {"file": "gold/noise.wav", "system": "gold", "gold": [1, 2]},
         ]},
        {"type": "mushra", "name": "quality",
         "trials": [
             {"utt": "u1", "reference": "nat/u1_sad.wav",
              "conditions": {"evc": "evc/u1_sad.wav", "prosody": "pros/u1_sad.wav"}},
             {"utt": "u2", "reference": "nat/u2_happy.wav", "anchors": ["lowpass-3.5k", "lowpass-7k"],
              "conditions": {"evc": "evc/u2_happy.wav", "prosody": "pros/u2_happy.wav"}},
         ]},
        {"type": "ab", "name": "preference",
         "trials": [
             {"utt": "u1", "stimuli": {"evc": "evc/u1_sad.wav", "prosody": "pros/u1_sad.wav"}},
             {"utt": "u2", "stimuli": {"evc": "evc/u2_happy.wav", "prosody": "pros/u2_happy.wav"}},
         ]},
        {"type": "abx", "name": "closer to the natural emotion",
         "trials": [
             {"utt": "u1", "reference": "nat/u1_sad.wav",
              "stimuli": {"evc": "evc/u1_sad.wav", "prosody": "pros/u1_sad.wav"}},
             {"id": "gold-abx", "utt": "u1", "reference": "nat/u1_sad.wav",
              "stimuli": {"natural": "nat/u1_sad.wav", "noise": "gold/noise.wav"}, "gold": "natural"},
         ]},
        {"type": "smos", "name": "speaker similarity",
         "trials": [
             {"file": "evc/u1_sad.wav", "reference": "src/u1.wav", "system": "evc", "utt": "u1"},
             {"file": "pros/u1_sad.wav", "reference": "src/u1.wav", "system": "prosody", "utt": "u1"},
         ]},
        {"type": "esmos", "name": "emotion similarity",
         "trials": [
             {"file": "evc/u1_sad.wav", "reference": "nat/u1_sad.wav", "system": "evc", "utt": "u1",
              "emotion": "sad"},
             {"file": "pros/u1_sad.wav", "reference": "nat/u1_sad.wav", "system": "prosody", "utt": "u1",
              "emotion": "sad"},
         ]},
        {"type": "emotion", "name": "identification",
         "trials": [
             {"file": "evc/u1_sad.wav", "system": "evc", "utt": "u1", "emotion": "sad"},
             {"file": "nat/u2_happy.wav", "system": "natural", "utt": "u2", "emotion": "happy", "gold": True},
         ]},
        {"type": "ranking", "name": "intensity",
         "trials": [
             {"system": "evc", "utt": "u1", "emotion": "sad",
              "versions": [{"file": "evc/u1_sad_hi.wav", "intensity": 0.8},
                           {"file": "evc/u1_sad_lo.wav", "intensity": 0.2}]},
         ]},
    ],
}


def manifest(**changes) -> dict:
    """A deep copy of MANIFEST with top-level ``changes`` (None removes a field)."""
    data = copy.deepcopy(MANIFEST)
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    return data


def make_yaml_test(root: Path, data: dict | None = None, seconds: float = 0.6) -> Path:
    """Write the stimuli and ``manifest.yaml`` (``data`` or MANIFEST) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, f0 in FILES.items():
        write_wav(root / rel, f0, seconds=seconds)
    (root / "manifest.yaml").write_text(yaml.safe_dump(data if data is not None else MANIFEST, sort_keys=False))
    return root


def block(data: dict, kind: str) -> dict:
    return next(b for b in data["blocks"] if b["type"] == kind)


# Attention trials added to the blocks that have none, so every type can screen a careless participant.
EXTRA_GOLD = {
    "ab": {"id": "gold-ab", "utt": "u1", "stimuli": {"natural": "nat/u1_sad.wav", "noise": "gold/noise.wav"},
           "gold": "natural"},
    "smos": {"file": "src/u1.wav", "reference": "src/u1.wav", "system": "same", "gold": [4, 5]},
    "esmos": {"file": "nat/u1_sad.wav", "reference": "nat/u1_sad.wav", "system": "same", "gold": [4, 5]},
    "ranking": {"system": "gold", "utt": "u2", "emotion": "sad", "gold": True,
                "versions": [{"file": "evc/u1_sad_lo.wav", "intensity": 0.1},
                             {"file": "evc/u1_sad_hi.wav", "intensity": 0.9}]},
}


def single_type_manifest(kind: str) -> dict:
    """MANIFEST with only the block of ``kind`` (plus an attention trial where it has none)."""
    data = manifest(completion_code="auto")
    b = copy.deepcopy(block(data, kind))
    if kind in EXTRA_GOLD:
        b["trials"].append(copy.deepcopy(EXTRA_GOLD[kind]))
    data["blocks"] = [b]
    return data


# Scores an honest participant gives; a careless one rates the hidden reference low and fails gold trials.
MUSHRA_SCORES = {"reference": 100, "anchor-3.5k": 15, "anchor-7k": 35, "evc": 80, "prosody": 60}
MOS_SCORES = {"evc": 4, "prosody": 3, "natural": 5, "same": 5}


def answer_for(test, planned, careless: bool = False, shift: int = 0):
    """The answer a scripted participant gives to ``planned`` (in the form the page submits).

    ``shift`` moves the category-scale and MUSHRA scores of the systems (not the references), so
    several scripted participants differ.
    """
    design = test.trial(planned.key)
    items = {i.key: i for i in design.items}
    shown = [items[k] for k in planned.stimuli]
    kind = planned.type
    if kind in ("mos", "smos", "esmos"):
        if design.gold is not None:
            return next(v for v in (1, 5, 3) if v not in design.gold) if careless else design.gold[0]
        return max(1, min(5, MOS_SCORES.get(shown[0].system, 3) + shift))
    if kind == "emotion":
        return "neutral" if careless and design.gold else shown[0].emotion
    if kind == "ranking":
        order = sorted(range(len(shown)), key=lambda i: shown[i].intensity, reverse=careless and bool(design.gold))
        ranks = [0] * len(shown)
        for r, i in enumerate(order):
            ranks[i] = str(r + 1)
        return ranks
    if kind == "mushra":
        scores = []
        for it in shown:
            s = MUSHRA_SCORES.get(it.system, 50)
            if it.system == "reference":
                s = 70 if careless else 100
            elif not it.system.startswith("anchor"):
                s = max(0, min(100, s + 5 * shift))
            scores.append(s)
        return scores
    if kind in ("ab", "abx"):
        systems = [it.system for it in shown]
        want = ("noise" if careless else "natural") if design.gold else "evc"
        return "a" if systems[0] == want else "b"
    raise ValueError(kind)
