"""Aggregation, report text and plot selection on hand-made rows (no audio)."""

from __future__ import annotations

import json
import math

import pytest

from promptevc.eval.report import format_report, summarize, write_summary
from promptevc.eval.runner import pick_contours


def _rows():
    rows = []
    for emo, sign in (("happy", 1), ("sad", -1)):
        for x in (0.2, 0.5, 0.8):
            for k in range(2):
                rows.append({"utt": f"{emo}{x}{k}", "emotion": emo, "intensity": x, "error": "",
                             "f0_shift_st": sign * 4 * x + 0.1 * k, "energy_change_db": sign * x,
                             "tempo_ratio": 1.0, "speaker_sim": 0.9, "wer": "", "mcd_db": math.nan})
    rows.append({"utt": "bad", "emotion": "sad", "intensity": 0.5, "error": "bad.wav: no such file"})
    return rows


def test_summarize_aggregates_and_monotonicity(tmp_path):
    s = summarize(_rows(), {"analysis": "test"})
    assert (s["n_pairs"], s["n_ok"], s["n_failed"]) == (13, 12, 1)
    assert s["failed"] == [{"utt": "bad", "converted": "", "error": "bad.wav: no such file"}]
    happy = s["per_emotion"]["happy"]
    assert happy["n"] == 6
    assert happy["f0_shift_st"]["mean"] == pytest.approx(4 * 0.5 + 0.05)
    assert happy["f0_shift_st"]["n"] == 6
    assert "mcd_db" not in happy and "wer" not in happy  # nothing finite to aggregate
    level = s["per_emotion_intensity"]["sad"]["0.8"]
    assert level["n"] == 2 and level["energy_change_db"]["mean"] == pytest.approx(-0.8)
    mono = s["monotonicity_spearman"]
    assert mono["happy"]["f0_shift_st"] > 0.9 and mono["sad"]["f0_shift_st"] < -0.9
    assert "tempo_ratio" not in mono["happy"]  # constant: undefined, left out
    write_summary(s, tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text())["n_ok"] == 12


def test_report_tables():
    s = summarize(_rows(), {"analysis": "WORLD test"})
    s["plots"] = ["f0_contours.png"]
    text = format_report(s)
    assert "**analysis**: WORLD test" in text
    assert "| emotion | n | F0 shift st | tempo × | energy dB | spk sim ↑ |" in text
    assert "| sad | 0.8 | 2 |" in text
    assert "![f0_contours.png](f0_contours.png)" in text
    assert "- `bad`: bad.wav: no such file" in text
    assert "MCD dB" not in text  # no column for a metric nobody has


def test_pick_contours_spreads_emotions():
    contours = [{"emotion": e, "i": i} for i, e in enumerate("aaabbc")]
    assert [c["i"] for c in pick_contours(contours, 4)] == [0, 3, 5, 1]
    assert pick_contours([], 3) == []
