"""Control metrics (PromptEVC Table 2 form) on hand-made conversions with known outcomes."""

from __future__ import annotations

import pytest

from promptevc.eval.control import ControlledConversion as C
from promptevc.eval.control import Score, bucket, control_metrics, control_table


def _post(**probs: float) -> dict[str, float]:
    base = {"neutral": 0.02, "angry": 0.02, "happy": 0.02, "sad": 0.02, "surprise": 0.02}
    return base | probs


def test_emotion_and_mixed_accuracy():
    convs = [
        C("a", "s1", emotion="sad", posteriors=_post(sad=0.9)),
        C("b", "s1", emotion="sad", posteriors=_post(sad=0.3, angry=0.6)),  # wrong top class
        C("m1", "s1", emotion="happy", second_emotion="surprise", posteriors=_post(happy=0.5, surprise=0.4)),
        C("m2", "s1", emotion="happy", second_emotion="surprise", posteriors=_post(happy=0.5, surprise=0.1, sad=0.3)),
        C("m3", "s1", emotion="happy", second_emotion="surprise", posteriors=_post(surprise=0.5, happy=0.4)),
    ]
    s = control_metrics(convs)
    assert (s["emotion"].correct, s["emotion"].total) == (1, 2)
    assert (s["mixed"].correct, s["mixed"].total) == (2, 3)  # order of the two named ones does not matter
    assert s["pitch"].total == 0 and s["pitch"].accuracy is None


def test_intensity_order_and_three_way():
    convs = [
        C("l", "s1", emotion="angry", level="low", intensity=0.1),
        C("m", "s1", emotion="angry", level="medium", intensity=0.5),
        C("h", "s1", emotion="angry", level="high", intensity=0.4),  # below medium: one pair wrong
        C("l2", "s2", emotion="angry", level="low", intensity=0.6),
        C("h2", "s2", emotion="angry", level="high", intensity=0.6),  # tie: half
        C("x", "s3", emotion="sad", level="high", intensity=0.9),  # alone in its group: no pair
        C("n", "s1", emotion="neutral", level="low", intensity=0.0),  # neutral has no intensity scale
    ]
    s = control_metrics(convs)
    assert s["intensity_order"].total == 4 and s["intensity_order"].correct == pytest.approx(2.5)
    assert (s["intensity_3way"].correct, s["intensity_3way"].total) == (3, 6)  # l, m, x right
    assert [bucket(v) for v in (0.0, 0.29, 0.3, 0.69, 0.7)] == ["low", "low", "medium", "medium", "high"]
    assert control_metrics(convs, thresholds=(0.45, 0.55))["intensity_3way"].correct == 4  # l, m, h2, x


def test_hints_need_the_right_sign_beyond_the_jnd():
    convs = [
        C("p+", "s", hints={"pitch": 1}, pitch_st=0.8),
        C("p+small", "s", hints={"pitch": 1}, pitch_st=0.3),  # under 0.5 st
        C("p-", "s", hints={"pitch": -1}, pitch_st=0.8),  # wrong way
        C("s+", "s", hints={"speed": 1}, speed=0.05),
        C("s-", "s", hints={"speed": -1}, speed=-0.02),  # under 3 %
        C("v-", "s", hints={"volume": -1}, volume_db=-2.0),
        C("none", "s", pitch_st=3.0),  # nothing asked: not scored
    ]
    s = control_metrics(convs)
    assert (s["pitch"].correct, s["pitch"].total) == (1, 3)
    assert (s["speed"].correct, s["speed"].total) == (1, 2)
    assert (s["volume"].correct, s["volume"].total) == (1, 1)
    assert control_metrics(convs, jnd={"pitch": 0.2})["pitch"].correct == 2


def test_hints_against_a_baseline_remove_the_emotions_own_change():
    base = C("happy", "s", emotion="happy", pitch_st=3.0)
    lower = C("happy-lower", "s", emotion="happy", hints={"pitch": -1}, pitch_st=2.0, baseline="happy")
    assert control_metrics([base, lower])["pitch"].correct == 1  # -1 st relative to the same request
    assert control_metrics([C("x", "s", hints={"pitch": -1}, pitch_st=2.0)])["pitch"].correct == 0
    with pytest.raises(ValueError, match="baseline"):
        control_metrics([lower])


def test_bad_records_and_the_markdown_table():
    with pytest.raises(ValueError, match="level"):
        C("a", "s", level="huge")
    with pytest.raises(ValueError, match="hint"):
        C("a", "s", hints={"tempo": 1})
    with pytest.raises(ValueError, match="unique"):
        control_metrics([C("a", "s"), C("a", "s")])
    scores = {"neural (learned)": {"emotion": Score(9, 10), "pitch": Score(1, 4)}, "prosody": {}}
    table = control_table(scores)
    lines = table.strip().splitlines()
    assert lines[0].startswith("| System | Emotion | Intensity order")
    assert "| neural (learned) | 90.0 % (n=10) | – |" in table and "25.0 % (n=4)" in table
    assert lines[-1].startswith("| PromptEVC (paper, Table 2) | – | 77.6 %")
    assert "PromptEVC" not in control_table(scores, reference=False)
