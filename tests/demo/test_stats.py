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


def test_intervals_stay_on_the_scale():
    # Two ratings 4 and 5: t(0.975, 1) = 12.706, half width 6.353 -> [-1.85, 10.85] unclipped.
    rows = stats.mos_summary([_mos("evc", "sad", 4), _mos("evc", "sad", 5)])
    assert (rows[0]["ci95_low"], rows[0]["ci95_high"]) == (1.0, 5.0)
    assert rows[0]["ci95_half"] == pytest.approx(6.353, abs=1e-3)


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
    assert evc["ci95_high"] == 5.0  # 5.0157156, clipped to the scale's top
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


# ----------------------------------------------------------------------------- screening and tests


def _mushra(pid, trial, scores, **extra):
    """A stored MUSHRA answer: ``scores`` maps system -> score (keys are "<system>.wav")."""
    items = [{"key": f"{s}.wav", "system": s} for s in scores]
    return {"test": "t", "participant": pid, "trial_index": trial, "trial_type": "mushra",
            "trial_key": f"1:mushra:{trial}", "stimuli": [i["key"] for i in items], "items": items,
            "response": {f"{s}.wav": v for s, v in scores.items()}, "training": False, "gold": False,
            "passed": None, "created_utc": "x", **extra}


def _ratings_for(pid, ref_scores):
    return [_mushra(pid, i, {"reference": r, "anchor-3.5k": 20, "evc": 70, "prosody": 50})
            for i, r in enumerate(ref_scores)]


def test_mushra_post_screening_bs1534_rule():
    """Excluded when the hidden reference is rated below 90 in more than 15 % of the trials."""
    answers = (_ratings_for("keep10pct", [100] * 9 + [80])            # 1 of 10 = 10 %: kept
               + _ratings_for("out20pct", [100] * 8 + [85, 89])       # 2 of 10 = 20 %: excluded
               + _ratings_for("edge90", [90] * 10)                    # exactly 90 is not below 90
               + _ratings_for("out_all", [50] * 4))
    screen = {r["participant"]: r for r in stats.screening(answers)}
    assert {p: r["excluded"] for p, r in screen.items()} == {
        "keep10pct": False, "out20pct": True, "edge90": False, "out_all": True}
    assert screen["out20pct"]["mushra_ref_below"] == 2 and screen["out20pct"]["mushra_trials"] == 10
    assert "hidden reference below 90 in 2 of 10" in screen["out20pct"]["reason"]
    # Stricter thresholds from the manifest
    from promptevc.demo.listening import TestSettings

    strict = TestSettings(mushra_reference_min=95, mushra_max_fraction=0.05)
    screen = {r["participant"]: r for r in stats.screening(answers, strict)}
    assert screen["keep10pct"]["excluded"] and screen["edge90"]["excluded"]
    # Excluded participants count nowhere: the MUSHRA table is over the kept ones only.
    use = stats.scored(answers, stats.excluded_ids(stats.screening(answers)))
    rows = {r["system"]: r for r in stats.mushra_summary(use)}
    assert list(rows) == ["reference", "evc", "prosody", "anchor-3.5k"]
    refs = [100] * 9 + [80] + [90] * 10
    assert rows["reference"]["n"] == 20 and rows["reference"]["mean"] == pytest.approx(np.mean(refs))
    assert rows["reference"]["median"] == pytest.approx(np.median(refs))
    assert rows["evc"]["ci95_low"] == pytest.approx(70) and rows["evc"]["std"] == 0


def test_attention_rule_and_training_never_scored():
    from promptevc.demo.listening import TestSettings

    def mos(pid, i, score, gold=False, passed=None, training=False):
        return {"test": "t", "participant": pid, "trial_index": i, "trial_type": "mos", "trial_key": f"k{i}",
                "stimuli": [f"s{i}.wav"], "system": "evc", "condition": "", "utt": f"u{i}", "response": score,
                "training": training, "gold": gold, "passed": passed, "created_utc": "x"}

    answers = [mos("A", 0, 4), mos("A", 1, 1, gold=True, passed=False), mos("A", 2, 2, training=True),
               mos("B", 0, 3), mos("B", 1, 1, gold=True, passed=False), mos("B", 2, 5, gold=True, passed=False)]
    screen = {r["participant"]: r for r in stats.screening(answers, TestSettings(attention_max_failures=1))}
    assert not screen["A"]["excluded"] and screen["B"]["excluded"]
    assert screen["A"]["training"] == 1 and screen["B"]["attention_failed"] == 2
    use = stats.scored(answers, stats.excluded_ids(screen.values()))
    assert [(a["participant"], a["trial_index"]) for a in use] == [("A", 0)]  # no gold, no training, no B


def test_preference_counts_and_sign_test():
    def ab(i, chosen, kind="ab"):
        items = [{"key": "evc/u.wav", "system": "evc"}, {"key": "pros/u.wav", "system": "prosody"}]
        resp = {"evc": "evc/u.wav", "prosody": "pros/u.wav", "none": "none"}[chosen]
        return {"test": "t", "participant": f"P{i}", "trial_index": 0, "trial_type": kind, "trial_key": "ab",
                "stimuli": ["pros/u.wav", "evc/u.wav"], "items": items, "response": resp, "training": False,
                "gold": False, "passed": None, "created_utc": "x"}

    answers = [ab(i, "evc") for i in range(9)] + [ab(9, "prosody")] + [ab(10 + i, "none") for i in range(3)]
    (row,) = stats.preference_summary(answers, "ab")
    assert (row["system_a"], row["system_b"], row["n"]) == ("evc", "prosody", 13)
    assert (row["prefer_a"], row["prefer_b"], row["no_preference"]) == (9, 1, 3)
    assert row["p_sign"] == pytest.approx(22 / 1024)  # 9 of 10 preferences, ties excluded
    assert row["p_holm"] == pytest.approx(22 / 1024)  # one pair: Holm leaves it
    assert row["prefer_a_pct"] == pytest.approx(100 * 9 / 13, abs=0.01)
    long = stats.long_rows(answers)
    assert len(long) == 13 and sum(r["system"] == "none" for r in long) == 3


def test_pairwise_wilcoxon_with_holm_on_known_data():
    """Three systems in MUSHRA: B - A differences of Darwin's example give the textbook p."""
    d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
    answers = [_mushra(f"P{i:02d}", 0, {"reference": 100, "anchor-3.5k": 10, "a": 50, "b": 50 + x / 4, "c": 99})
               for i, x in enumerate(d)]
    rows = {(r["system_a"], r["system_b"]): r for r in stats.pairwise_wilcoxon(answers, "mushra")}
    assert set(rows) == {("a", "b"), ("a", "c"), ("b", "c")}  # hidden reference and anchor are not tested
    ab = rows[("a", "b")]
    assert ab["n_pairs"] == 15 and ab["w_minus"] == 24 and ab["p"] == pytest.approx(0.041259765625)
    # a vs c: all 15 differences +49 -> exact p = 2 / 2^15; b vs c: all positive too
    assert rows[("a", "c")]["p"] == pytest.approx(2 / 2**15)
    raw = [rows[k]["p"] for k in (("a", "b"), ("a", "c"), ("b", "c"))]
    from promptevc.eval.significance import holm

    assert [rows[k]["p_holm"] for k in (("a", "b"), ("a", "c"), ("b", "c"))] == pytest.approx(holm(raw))
    assert rows[("a", "b")]["p_holm"] == pytest.approx(0.041259765625)  # the largest p: x1 after the step-down


def test_category_scale_pairing_and_agreement():
    # Two participants rate utterances u1, u2 for systems x and y; pairing is per (participant, utt).
    def r(pid, system, utt, score):
        return {"test": "t", "participant": pid, "trial_index": 0, "trial_type": "smos", "trial_key": f"{system}{utt}",
                "stimuli": [f"{system}/{utt}.wav"], "system": system, "condition": "", "utt": utt,
                "response": score, "training": False, "gold": False, "passed": None, "created_utc": "x"}

    answers = [r(p, "x", u, 4) for p in ("A", "B") for u in ("u1", "u2")] + \
              [r(p, "y", u, s) for p, u, s in (("A", "u1", 2), ("A", "u2", 3), ("B", "u1", 2), ("B", "u2", 2))]
    (row,) = stats.pairwise_wilcoxon(answers, "smos")
    assert row["n_pairs"] == 4 and row["median_diff"] == pytest.approx(-2.0)
    # all four differences negative, magnitudes 2, 1, 2, 2 -> exact enumeration over 16 sign patterns
    assert row["p"] == pytest.approx(0.125)
    agree = stats.agreement(answers, "smos")
    # Both raters agree on 3 of 4 units exactly; the interval alpha computed by the coincidence formula:
    from promptevc.eval.significance import krippendorff_alpha

    mat = [[4, 4, 2, 3], [4, 4, 2, 2]]
    assert agree["alpha_interval"] == pytest.approx(round(krippendorff_alpha(mat, "interval"), 4))
    assert (agree["participants"], agree["units"], agree["ratings"]) == (2, 4, 8)
