"""Listening-test statistics checked against hand computations."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from promptevc.demo import stats
from promptevc.demo.plots import plot_confusion


def _mos(system, condition, score):
    return {"trial_type": "mos", "system": system, "condition": condition, "response": score}


def test_mos_ci_matches_hand_computation():
    # scores 3 4 5 4 2: mean 3.6, s = sqrt(5.2 / 4) = 1.1401754, t(0.975, 4) = 2.7764451,
    # half width = 2.7764451 * 1.1401754 / sqrt(5) = 1.4157156.
    answers = [_mos("evc", "sad", s) for s in (3, 4, 5, 4, 2)] + [_mos("ref", "natural", s) for s in (5, 5)]
    answers.append({"trial_type": "emotion", "system": "evc", "condition": "sad", "response": "sad"})
    rows = stats.mos_summary(answers)
    assert [(r["system"], r["condition"], r["n"]) for r in rows] == [("evc", "sad", 5), ("ref", "natural", 2)]
    evc = rows[0]
    assert tuple(evc) == stats.MOS_COLUMNS
    assert evc["mean"] == pytest.approx(3.6)
    assert evc["std"] == pytest.approx(1.1401754, abs=1e-4)
    assert evc["ci95_half"] == pytest.approx(1.4157156, abs=1e-4)
    assert evc["ci95_low"] == pytest.approx(2.1842844, abs=1e-4)
    assert evc["ci95_high"] == pytest.approx(5.0157156, abs=1e-4)
    ref = rows[1]  # no spread: zero-width interval
    assert ref["mean"] == 5 and ref["ci95_low"] == pytest.approx(5) and ref["ci95_high"] == pytest.approx(5)


def test_single_score_has_no_interval():
    mean, low, high = stats.t_confidence_interval([4])
    assert mean == 4 and math.isnan(low) and math.isnan(high)


def test_confusion_matrix_counts_and_accuracy(tmp_path):
    pairs = [("sad", "sad"), ("sad", "neutral"), ("angry", "angry"), ("happy", "surprise"), ("happy", "happy")]
    answers = [{"trial_type": "emotion", "system": "evc", "target_emotion": t, "response": r} for t, r in pairs]
    answers.append({"trial_type": "emotion", "system": "ref", "target_emotion": "neutral", "response": "sad"})
    counts, acc = stats.confusion_matrix(answers, system="evc")
    # rows intended, columns answered; EMOTIONS = neutral, angry, happy, sad, surprise
    expected = np.zeros((5, 5), dtype=int)
    expected[3, 3] = expected[3, 0] = expected[1, 1] = expected[2, 4] = expected[2, 2] = 1
    np.testing.assert_array_equal(counts, expected)
    assert acc == pytest.approx(3 / 5)
    all_counts, all_acc = stats.confusion_matrix(answers)
    assert all_counts[0, 3] == 1 and all_acc == pytest.approx(3 / 6)
    rows = stats.confusion_rows(all_counts)
    assert rows[3] == {"intended": "sad", "neutral": 1, "angry": 0, "happy": 0, "sad": 1, "surprise": 0, "n": 2}
    png = plot_confusion(all_counts, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _ranking(system, given, intended, intensities):
    return {"trial_type": "ranking", "system": system,
            "response": {"response": given, "intended": intended, "intensities": intensities}}


def test_ranking_agreement():
    keys = ["a", "b", "c"]
    answers = [
        _ranking("evc", ["a", "b", "c"], keys, [0.2, 0.5, 0.8]),  # perfect: rho = tau = 1
        _ranking("evc", ["c", "b", "a"], keys, [0.2, 0.5, 0.8]),  # reversed: -1
        _ranking("evc", ["b", "a", "c"], keys, [0.2, 0.5, 0.8]),  # one swap: rho 0.5, tau 1/3
        _ranking("x", ["a", "b"], ["a", "b"], [0.1, 0.9]),
    ]
    assert stats.ranking_scores(answers[2]) == pytest.approx((0.5, 1 / 3))
    rows = stats.ranking_agreement(answers)
    assert rows[0]["system"] == "evc" and rows[0]["n"] == 3
    assert rows[0]["spearman_rho"] == pytest.approx(0.5 / 3, abs=1e-4)
    assert rows[0]["kendall_tau"] == pytest.approx((1 - 1 + 1 / 3) / 3, abs=1e-4)
    assert rows[0]["exact"] == pytest.approx(1 / 3, abs=1e-4)
    assert tuple(rows[0]) == stats.RANKING_COLUMNS
    assert rows[1] == {"system": "x", "n": 1, "spearman_rho": 1.0, "kendall_tau": 1.0, "exact": 1.0}


def test_csv_export_round_trip(tmp_path):
    answers = [
        {"id": 1, "participant": "P01", "trial_type": "mos", "stimuli": ["a.wav"], "response": 4},
        {"id": 2, "participant": "P01", "trial_type": "ranking", "stimuli": ["a.wav", "b.wav"],
         "response": {"response": ["b.wav", "a.wav"]}},
    ]
    path = stats.write_answers_csv(answers, tmp_path / "out" / "answers.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["response"] == "4" and rows[0]["stimuli"] == '["a.wav"]'
    assert rows[1]["response"] == '{"response": ["b.wav", "a.wav"]}'
    assert stats.write_table_csv([], tmp_path / "empty.csv").read_text() == ""
