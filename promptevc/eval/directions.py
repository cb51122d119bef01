"""Expected-direction check: did each conversion move the prosody cues the way the emotion should?

The directions are read from the prosody engine's profile table
(:data:`promptevc.engines.profiles.PROFILES`) at run time, never copied: for every emotion
profile and every cue field it has, the expected direction is the sign of the profile value
against the neutral profile (on a log scale for ratios). A cue whose profile value equals
neutral is "no change" and is not checked. The same table serves every engine: the neutral
engine is held to the directions the corpus statistics behind the profiles show.

Cue field -> measured metric (see :mod:`promptevc.eval.metrics`), with a dead band below which a
measured change counts as no change:

====================  ====================  ========  ==========
profile field         measured metric       scale     dead band
====================  ====================  ========  ==========
``f0_shift_st``       ``f0_shift_st``       st        0.1 st
``f0_range_scale``    ``f0_range_ratio``    ratio     1 %
``tempo``             ``tempo_ratio``       ratio     1 %
``energy_db``         ``energy_change_db``  dB        0.2 dB
``tilt_db``           ``tilt_change_db``    dB        0.2 dB
``pause_scale``       ``pause_stretch``     ratio     2 %
====================  ====================  ========  ==========

A cue passes at one requested intensity when the median measured change over that emotion's
utterances has the expected sign and is beyond the dead band; its overall verdict is PASS when
it passes at every intensity above 0 that was evaluated. An intensity at which the prosody
engine's plan itself moves the cue by less than the dead band (e.g. surprise's duration x1.006
at intensity 0.1) is listed without a verdict (``below_band``): the check could only fail there,
even for a conversion that does exactly what was planned.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cue:
    """How one profile field is measured."""

    field: str
    metric: str
    label: str
    log_scale: bool  # ratio cue: compared on log scale, identity 1
    dead_band: float  # in the metric's unit (st, dB) or as a relative change for ratios
    unit: str
    words: tuple[str, str] = ("more", "less")  # what an increase / a decrease means for this cue


CUES: tuple[Cue, ...] = (
    Cue("f0_shift_st", "f0_shift_st", "F0 level", False, 0.1, "st", ("higher", "lower")),
    Cue("f0_range_scale", "f0_range_ratio", "F0 range", True, 0.01, "×", ("wider", "narrower")),
    Cue("tempo", "tempo_ratio", "duration", True, 0.01, "×", ("longer", "shorter")),
    Cue("energy_db", "energy_change_db", "energy", False, 0.2, "dB", ("louder", "quieter")),
    Cue("tilt_db", "tilt_change_db", "spectral tilt", False, 0.2, "dB", ("brighter", "darker")),
    Cue("pause_scale", "pause_stretch", "pauses", True, 0.02, "×", ("longer", "shorter")),
)
CUE_BY_FIELD = {c.field: c for c in CUES}
CUE_BY_METRIC = {c.metric: c for c in CUES}


def _profiles() -> dict[str, Any]:
    from promptevc.engines.profiles import PROFILES

    return PROFILES


def _change(cue: Cue, value: float, identity: float) -> float:
    """Signed change of ``value`` against ``identity`` on the cue's scale (log for ratios)."""
    if cue.log_scale:
        if not (value > 0 and identity > 0):
            return math.nan
        return math.log(value / identity)
    return value - identity


def _numeric_fields(profile: Any) -> dict[str, float]:
    if dataclasses.is_dataclass(profile):
        items = {f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)}
    else:
        items = dict(vars(profile))
    return {k: float(v) for k, v in items.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def expected_directions(profiles: dict[str, Any] | None = None) -> dict[str, dict[str, int]]:
    """``{emotion: {metric: +1 | -1 | 0}}`` from the profile objects (neutral itself excluded).

    Fields the evaluator cannot measure are skipped (logged once); 0 means the profile keeps
    that cue at its neutral value.
    """
    profiles = _profiles() if profiles is None else profiles
    neutral = _numeric_fields(profiles["neutral"]) if "neutral" in profiles else {}
    unknown: set[str] = set()
    out: dict[str, dict[str, int]] = {}
    for emotion, profile in profiles.items():
        if emotion == "neutral":
            continue
        fields = _numeric_fields(profile)
        unknown |= set(fields) - set(CUE_BY_FIELD)
        cues = {}
        for name, value in fields.items():
            cue = CUE_BY_FIELD.get(name)
            if cue is None:
                continue
            identity = neutral.get(name, 1.0 if cue.log_scale else 0.0)
            delta = _change(cue, value, identity)
            cues[cue.metric] = 0 if not math.isfinite(delta) or abs(delta) < 1e-9 else int(np.sign(delta))
        out[emotion] = cues
    if unknown:
        log.debug("profile fields without a measured cue: %s", ", ".join(sorted(unknown)))
    return out


def planned_change(emotion: str, intensity: float, metric: str) -> float:
    """What the prosody engine's plan does to ``metric`` at ``intensity`` (NaN if it cannot say)."""
    cue = CUE_BY_METRIC[metric]
    try:
        from promptevc.engines.profiles import plan_from_control
        from promptevc.prompt.control import EmotionControl

        plan = plan_from_control(EmotionControl.from_label(emotion, intensity=float(intensity)))
        return float(getattr(plan, cue.field))
    except Exception:  # noqa: BLE001 - an emotion or field the plan does not know: nothing to show
        return math.nan


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _band(cue: Cue) -> float:
    return math.log1p(cue.dead_band) if cue.log_scale else cue.dead_band


def _below_band(cue: Cue, planned: float) -> bool:
    """True when the plan moves the cue by less than its dead band (NaN plan: unknown, False)."""
    delta = _change(cue, planned, 1.0 if cue.log_scale else 0.0) if math.isfinite(planned) else math.nan
    return math.isfinite(delta) and abs(delta) < _band(cue)


def _verdict(cue: Cue, expected: int, measured: float) -> str:
    if expected == 0 or not math.isfinite(measured):
        return ""
    identity = 1.0 if cue.log_scale else 0.0
    delta = _change(cue, measured, identity)
    if not math.isfinite(delta):
        return ""
    return "PASS" if np.sign(delta) == expected and abs(delta) >= _band(cue) else "FAIL"


def _expected_text(cue: Cue, expected: int) -> str:
    return {1: f"↑ {cue.words[0]}", -1: f"↓ {cue.words[1]}"}.get(expected, "= unchanged")


def direction_table(rows: list[dict], profiles: dict[str, Any] | None = None) -> list[dict]:
    """One entry per (emotion, cue) for the emotions present in ``rows`` (successful pairs).

    Each entry: emotion, metric, cue label, unit, expected (+1/-1/0), ``levels`` (per requested
    intensity > 0: intensity, n, median measured value, planned value, ``below_band``, verdict;
    "" where not judged) and ``verdict`` (PASS / FAIL over the judged levels; "" when none).
    """
    expected = expected_directions(profiles)
    table = []
    for emotion in sorted({r.get("emotion") or "" for r in rows} - {"", "neutral"}):
        if emotion not in expected:
            continue
        sub = [r for r in rows if r.get("emotion") == emotion]
        levels = sorted({x for r in sub if math.isfinite(x := _num(r.get("intensity"))) and x > 0})
        if not levels and sub:
            levels = [math.nan]  # intensity not stated: one pooled level
        for cue in CUES:
            if cue.metric not in expected[emotion]:
                continue
            exp = expected[emotion][cue.metric]
            entries = []
            for level in levels:
                values = [_num(r.get(cue.metric)) for r in sub
                          if (math.isnan(level) and not math.isfinite(_num(r.get("intensity"))))
                          or _num(r.get("intensity")) == level]
                values = [v for v in values if math.isfinite(v)]
                measured = float(np.median(values)) if values else math.nan
                planned = planned_change(emotion, level, cue.metric) if math.isfinite(level) else math.nan
                below = exp != 0 and _below_band(cue, planned)
                entries.append({
                    "intensity": level,
                    "n": len(values),
                    "measured": measured,
                    "planned": planned,
                    "below_band": below,
                    "verdict": "" if below else _verdict(cue, exp, measured),
                })
            verdicts = [e["verdict"] for e in entries if e["verdict"]]
            overall = "" if not verdicts else "PASS" if all(v == "PASS" for v in verdicts) else "FAIL"
            table.append({"emotion": emotion, "metric": cue.metric, "cue": cue.label, "unit": cue.unit,
                          "expected": exp, "expected_text": _expected_text(cue, exp), "levels": entries,
                          "verdict": overall})
    return table
