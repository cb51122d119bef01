"""Listening tests: manifest validation, blind randomisation, resume, SQLite store, no traversal."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest
from demo_support import STIMULI, make_test_folder, write_wav

from promptevc.demo.listening import (
    ListeningApp,
    ListeningTest,
    ListeningTestError,
    ResultStore,
    check_participant,
    discover_tests,
    normalise_answer,
    resolve_inside,
    store_for,
)
from promptevc.errors import PromptEVCError


def test_manifest_builds_expected_trials(test_folder):
    test = ListeningTest.from_folder(test_folder)
    types = [t.type for t in test.trials]
    assert types.count("mos") == 6 and types.count("emotion") == 6 and types.count("ranking") == 2
    ranking = {t.key: t.stimuli for t in test.trials if t.type == "ranking"}
    # Intended order: weakest first.
    assert ranking["ranking:evc|u1|sad"] == ("evc/u1_sad_lo.wav", "evc/u1_sad_hi.wav")
    ref = test.trial("mos:ref/u1.wav").items[0]
    assert ref.emotion == "neutral" and ref.intensity is None and ref.system == "reference"
    assert test.trial("mos:evc/u1_sad_hi.wav").items[0].intensity == pytest.approx(0.8)


def test_tasks_column_restricts_trials(tmp_path):
    tasks = ["mos", "mos", "emotion", "emotion;ranking", "ranking", "ranking"]
    test = ListeningTest.from_folder(make_test_folder(tmp_path / "t", extra_columns={"tasks": tasks}))
    assert sorted(t.key for t in test.trials) == [
        "emotion:evc/u1_sad_hi.wav", "emotion:evc/u1_sad_lo.wav",
        "mos:ref/u1.wav", "mos:ref/u2.wav", "ranking:evc|u2|happy",  # u1 sad ranking has one member only
    ]


@pytest.mark.parametrize(
    "bad_file",
    ["../outside.wav", "/etc/passwd", "sub/../../outside.wav"],
)
def test_path_traversal_in_manifest_is_rejected(tmp_path, bad_file):
    write_wav(tmp_path / "outside.wav", 120.0)
    rows = [*STIMULI[:2], (bad_file, "x", "c", "u9", "", "")]
    folder = make_test_folder(tmp_path / "t", rows=rows)
    with pytest.raises(ListeningTestError, match="outside the test folder"):
        ListeningTest.from_folder(folder)


def test_symlink_escaping_the_folder_is_rejected(tmp_path):
    secret = write_wav(tmp_path / "secret.wav", 120.0)
    folder = make_test_folder(tmp_path / "t")
    os.symlink(secret, folder / "ref" / "link.wav")
    with pytest.raises(ListeningTestError, match="outside"):
        resolve_inside(folder, "ref/link.wav")
    test = ListeningTest.from_folder(folder)
    for key in ("../secret.wav", "ref/link.wav", "/etc/passwd", "manifest.csv"):
        with pytest.raises(ListeningTestError):
            test.load_audio(key)  # only manifest stimuli, only inside the folder


@pytest.mark.parametrize(
    "row, message",
    [
        (("ref/u1.wav", "s", "c", "u1", "furious", ""), "unknown emotion"),
        (("ref/u1.wav", "s", "c", "u1", "sad", "1.5"), "outside"),
        (("ref/u1.wav", "s", "c", "u1", "sad", "lots"), "not a number"),
        (("ref/missing.wav", "s", "c", "u1", "sad", ""), "does not exist"),
        (("manifest.csv", "s", "c", "u1", "sad", ""), "not an audio file"),
        (("ref/u1.wav", "", "c", "u1", "sad", ""), "empty 'system'"),
    ],
)
def test_bad_manifest_rows_give_one_line_errors(tmp_path, row, message):
    folder = make_test_folder(tmp_path / "t")
    rows = [STIMULI[1], row]
    (folder / "manifest.csv").write_text(
        "file,system,condition,utt,emotion,intensity\n" + "\n".join(",".join(r) for r in rows) + "\n"
    )
    with pytest.raises(ListeningTestError, match=message) as err:
        ListeningTest.from_folder(folder)
    assert "\n" not in str(err.value) and isinstance(err.value, PromptEVCError)


def test_missing_manifest_or_columns(tmp_path):
    with pytest.raises(ListeningTestError, match="no manifest.yaml or manifest.csv"):
        ListeningTest.from_folder(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,system\nx.wav,a\n")
    with pytest.raises(ListeningTestError, match="missing column.*condition"):
        ListeningTest.from_folder(tmp_path)


def test_randomisation_is_deterministic_per_participant_and_differs_between(test_folder):
    test = ListeningTest.from_folder(test_folder)
    a1, a2 = test.plan_for("P01"), test.plan_for(" P01 ")
    assert a1 == a2
    orders = {tuple(t.key for t in test.plan_for(f"P{i:02d}")) for i in range(10)}
    assert len(orders) >= 8  # 6! * 6! * 2 orders: collisions among 10 ids are near impossible
    plan = test.plan_for("P01")
    # Every trial exactly once, blocks in the fixed order mos -> emotion -> ranking.
    assert sorted(t.key for t in plan) == sorted(t.key for t in test.trials)
    assert [t.type for t in plan] == ["mos"] * 6 + ["emotion"] * 6 + ["ranking"] * 2
    assert [t.index for t in plan] == list(range(14))
    # Ranking display orders vary between participants (intended order is not leaked by position).
    shown = {t.stimuli for i in range(20) for t in test.plan_for(f"P{i}") if t.key == "ranking:evc|u1|sad"}
    assert shown == {("evc/u1_sad_lo.wav", "evc/u1_sad_hi.wav"), ("evc/u1_sad_hi.wav", "evc/u1_sad_lo.wav")}


def test_participant_ids_are_checked():
    assert check_participant("  P-01@lab ") == "P-01@lab"
    for bad in ("", "   ", "../x", "a" * 65, "P 01", "<script>"):
        with pytest.raises(ListeningTestError):
            check_participant(bad)


def test_answers_resume_and_sqlite_contents(test_folder):
    test = ListeningTest.from_folder(test_folder)
    store = store_for(test)
    session = store.start(test, "P01")
    assert session.progress() == "0 of 14 trials done" and session.next_trial.index == 0
    assert store.record(session, 0, "4 - Good").stored
    assert store.record(session, 1, 2).stored
    assert not store.record(session, 1, 5).stored  # double submit: first answer kept, the caller is told

    # A new store object (server restart) resumes at trial 2 with the same plan.
    again = ResultStore(test.root / "results.sqlite").start(ListeningTest.from_folder(test_folder), "P01")
    assert again.plan == session.plan and again.done == {0, 1} and again.next_trial.index == 2

    db = sqlite3.connect(test.root / "results.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = db.execute(
        "SELECT participant, trial_index, trial_type, system, condition, response FROM answers ORDER BY id"
    ).fetchall()
    first = test.trial(session.plan[0].key).items[0]
    assert rows[0] == ("P01", 0, "mos", first.system, first.condition, "4")
    assert rows[1][1:3] == (1, "mos") and rows[1][5] == "2"
    assert len(rows) == 2
    plan_json = db.execute("SELECT plan FROM participants WHERE participant='P01'").fetchone()[0]
    assert [d["key"] for d in json.loads(plan_json)] == [t.key for t in session.plan]


def test_all_trial_types_recorded(test_folder):
    app = ListeningApp(test_folder.parent)
    assert app.test_names() == ["pilot"]
    session = app.start("pilot", "P07")
    for trial in session.plan:
        if trial.type == "mos":
            answer = 3
        elif trial.type == "emotion":
            answer = "sad"
        else:
            answer = [str(r) for r in range(len(trial.stimuli), 0, -1)]  # reversed ranks
        session = app.answer("pilot", "P07", trial.index, answer)
    assert session.next_trial is None and session.progress() == "14 of 14 trials done"
    answers = app.store("pilot").answers("pilot")
    ranking = [a for a in answers if a["trial_type"] == "ranking"]
    assert len(answers) == 14 and len(ranking) == 2
    for a in ranking:
        shown = a["stimuli"]
        assert a["response"]["response"] == shown[::-1]  # rank n (weakest) given to the first shown
        assert a["response"]["intensities"] == [0.2, 0.8]


def test_invalid_answers_are_refused(test_folder):
    test = ListeningTest.from_folder(test_folder)
    plan = test.plan_for("P01")
    mos, emotion, ranking = plan[0], plan[6], plan[-1]
    for bad in (None, "", "0", 6, "great"):
        with pytest.raises(ListeningTestError, match="score"):
            normalise_answer(mos, bad)
    with pytest.raises(ListeningTestError, match="emotion"):
        normalise_answer(emotion, "disgust")
    for bad in (["1", "1"], ["1"], [None, None], ["0", "1"]):
        with pytest.raises(ListeningTestError, match="different rank"):
            normalise_answer(ranking, bad)
    assert normalise_answer(ranking, ["2", "1"]) == [ranking.stimuli[1], ranking.stimuli[0]]
    store = store_for(test)
    session = store.start(test, "P01")
    with pytest.raises(ListeningTestError):
        store.record(session, 99, 3)
    assert store.answers() == []  # nothing stored for refused answers


def test_stored_plan_survives_manifest_reorder(tmp_path):
    folder = make_test_folder(tmp_path / "t")
    app = ListeningApp(folder)
    plan = app.start("t", "P01").plan
    # Reorder the manifest rows: a fresh plan would differ, the stored one is kept.
    lines = (folder / "manifest.csv").read_text().splitlines()
    (folder / "manifest.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    assert ListeningApp(folder).start("t", "P01").plan == plan


def test_stimulus_audio_is_served_as_samples(test_folder):
    test = ListeningTest.from_folder(test_folder)
    sr, samples = test.load_audio("ref/u1.wav")
    assert sr == 16000 and samples.dtype == np.int16 and len(samples) == int(0.6 * 16000)
    assert np.abs(samples).max() > 1000


def test_discover_and_unknown_test(tmp_path):
    make_test_folder(tmp_path / "a")
    make_test_folder(tmp_path / "b")
    (tmp_path / "empty").mkdir()
    assert sorted(discover_tests(tmp_path)) == ["a", "b"]
    app = ListeningApp(tmp_path)
    with pytest.raises(ListeningTestError, match="no listening test named"):
        app.start("../a", "P01")
    with pytest.raises(ListeningTestError, match="not a folder"):
        ListeningApp(tmp_path / "nope")


def test_answer_survives_a_crash(test_folder):
    """A process that dies right after answering (no close, no cleanup) loses nothing."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from promptevc.demo.listening import ListeningApp\n"
        f"app = ListeningApp({str(test_folder)!r})\n"
        "app.answer('pilot', 'P05', 0, 5)\n"
        "os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    answers = ListeningApp(test_folder).store("pilot").answers()
    assert [(a["participant"], a["trial_index"], a["response"]) for a in answers] == [("P05", 0, 5)]
