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


# ----------------------------------------------------------------------------- expected directions


def test_directions_come_from_the_profile_objects():
    """Directions are read from the profile table; a change of a profile changes the expectation."""
    import dataclasses

    from promptevc.engines.profiles import PROFILES
    from promptevc.eval.directions import CUES, expected_directions

    directions = expected_directions()
    assert set(directions) == set(PROFILES) - {"neutral"}
    for emotion, cues in directions.items():
        prof, neutral = PROFILES[emotion], PROFILES["neutral"]
        for cue in CUES:
            if not hasattr(prof, cue.field):
                continue
            delta = getattr(prof, cue.field) - getattr(neutral, cue.field)
            assert cues[cue.metric] == (0 if abs(delta) < 1e-9 else (1 if delta > 0 else -1)), (emotion, cue.field)
    # Another profile table (e.g. sad with a lower F0, an extra emotion, an unknown field) is followed.
    @dataclasses.dataclass(frozen=True)
    class Profile:
        f0_shift_st: float
        tempo: float
        breathiness: float = 0.0

    custom = {"neutral": Profile(0.0, 1.0), "sad": Profile(-1.5, 1.2), "fear": Profile(2.0, 0.9, 1.0)}
    assert expected_directions(custom) == {"sad": {"f0_shift_st": -1, "tempo_ratio": 1},
                                           "fear": {"f0_shift_st": 1, "tempo_ratio": -1}}


def _direction_rows(sad_f0_sign=-1.0):
    rows = []
    for emo in ("sad", "angry"):
        for x in (0.5, 1.0):
            for k in range(3):
                rows.append({"utt": f"{emo}{x}{k}", "emotion": emo, "intensity": x, "error": "",
                             "f0_shift_st": (sad_f0_sign if emo == "sad" else 1.0) * 2 * x,
                             "tempo_ratio": 1.0 + (0.1 if emo == "sad" else -0.001) * x,
                             "energy_change_db": (-3 if emo == "sad" else 5) * x})
    return rows


def test_direction_table_pass_fail_and_dead_band():
    from promptevc.eval.directions import direction_table, expected_directions

    expected = expected_directions()
    table = {(d["emotion"], d["metric"]): d for d in direction_table(_direction_rows())}
    sad_tempo = table[("sad", "tempo_ratio")]
    assert sad_tempo["expected"] == expected["sad"]["tempo_ratio"] == 1
    assert [e["intensity"] for e in sad_tempo["levels"]] == [0.5, 1.0]
    assert [e["verdict"] for e in sad_tempo["levels"]] == ["PASS", "PASS"] and sad_tempo["verdict"] == "PASS"
    assert sad_tempo["levels"][1]["measured"] == pytest.approx(1.1)
    assert sad_tempo["levels"][1]["planned"] > 1.0  # what the engine's plan does at that intensity
    # angry is expected faster; -0.1 % is inside the 1 % dead band: FAIL, not PASS
    assert table[("angry", "tempo_ratio")]["verdict"] == "FAIL"
    sad_f0 = table[("sad", "f0_shift_st")]
    assert sad_f0["verdict"] == ("PASS" if expected["sad"]["f0_shift_st"] == -1 else "FAIL")
    flipped = {(d["emotion"], d["metric"]): d for d in direction_table(_direction_rows(sad_f0_sign=1.0))}
    assert flipped[("sad", "f0_shift_st")]["verdict"] != sad_f0["verdict"]
    # cues without a measured value are listed but not judged
    assert table[("sad", "tilt_change_db")]["verdict"] == ""


def test_report_starts_with_directions_and_baselines():
    rows = _direction_rows()
    for r in rows:
        r.update(dnsmos_ovrl=3.0, src_dnsmos_ovrl=3.2, f0_median_hz=120.0, src_f0_median_hz=110.0)
    s = summarize(rows, {"analysis": "t"}, control_rows=[{"metric": "emotion accuracy", "value": 0.81},
                                                          {"metric": "F0 error", "value": 12.5, "emotion": "sad"}])
    text = format_report(s)
    assert text.index("## Expected directions") < text.index("## Source baseline") < text.index("## Overall")
    assert "| sad | duration | ↑ longer | ×1.050" in text and "cue checks pass" in text
    assert "| sad | 0.5 | 3 | 3.2 → 3 |" in text.replace("3.2 → 3 | 110 → 120", "3.2 → 3 |")
    assert "110 → 120" in text
    assert "## Control metrics (neural engine)" in text and "| emotion accuracy |  | 0.81 |" in text
    assert "| F0 error | sad | 12.5 |" in text


def test_control_rows_are_checked():
    from promptevc.errors import ConfigError
    from promptevc.eval.report import check_control_rows, read_control_rows

    assert check_control_rows([{"metric": "m", "value": "0.5"}]) == [{"metric": "m", "value": 0.5}]
    with pytest.raises(ConfigError, match="row 1.*'metric'"):
        check_control_rows([{"value": 1}])
    with pytest.raises(ConfigError, match="row 2 \\(m\\): 'value'"):
        check_control_rows([{"metric": "m", "value": 1}, {"metric": "m", "value": "high"}])
    with pytest.raises(ConfigError, match="no such control-metrics file"):
        read_control_rows("/nonexistent/control.json")


def test_nan_becomes_null_in_summary_json(tmp_path):
    s = summarize(_direction_rows(), {"analysis": "t"})
    write_summary(s, tmp_path / "summary.json")
    text = (tmp_path / "summary.json").read_text()
    assert "NaN" not in text and json.loads(text)["directions"]
