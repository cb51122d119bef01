"""Listening tests: manifest validation, blind randomisation, resume, SQLite store, no traversal."""

from __future__ import annotations

import json
import os
import re
import sqlite3

import numpy as np
import pytest
from demo_support import STIMULI, make_test_folder, write_wav
from listening_support import MANIFEST, answer_for, block, make_yaml_test, manifest

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


# ----------------------------------------------------------------------------- manifest.yaml

@pytest.fixture
def yaml_test(tmp_path):
    return ListeningTest.from_folder(make_yaml_test(tmp_path / "full"))


def test_yaml_manifest_builds_every_test_type(yaml_test):
    test = yaml_test
    assert [b.type for b in test.blocks] == ["mos", "mushra", "ab", "abx", "smos", "esmos", "emotion", "ranking"]
    assert test.settings.consent and test.settings.completion_code == "PEVC-PILOT-1"
    assert test.settings.time_budget_s == 30 * 60 and test.settings.attention_max_failures == 0
    mushra = [t for t in test.trials if t.type == "mushra"]
    # hidden reference first, then the anchors, then the systems (intended order)
    assert [i.system for i in mushra[0].items] == ["reference", "anchor-3.5k", "evc", "prosody"]
    assert [i.system for i in mushra[1].items] == ["reference", "anchor-3.5k", "anchor-7k", "evc", "prosody"]
    assert mushra[0].reference == mushra[0].items[0].key == "nat/u1_sad.wav"
    training = [t for t in test.trials if t.training]
    assert [t.key for t in training] == ["train:0:mos:src/u2.wav"]
    gold = {t.type: t.gold for t in test.trials if t.gold is not None}
    assert gold == {"mos": (1, 2), "abx": ("natural",), "emotion": ("happy",)}
    ranking = next(t for t in test.trials if t.type == "ranking")
    assert [i.intensity for i in ranking.items] == [0.2, 0.8]  # weakest first whatever the manifest order


def test_plan_training_first_then_shuffled_blocks(yaml_test):
    plan = yaml_test.plan_for("P01")
    assert plan == yaml_test.plan_for("P01")
    assert plan[0].training and plan[0].type == "mos" and not any(t.training for t in plan[1:])
    assert [t.block for t in plan] == sorted(t.block for t in plan)  # blocks in manifest order
    orders = {tuple(t.key for t in yaml_test.plan_for(f"P{i}") if t.type == "mos") for i in range(12)}
    assert len(orders) > 3  # scored trials (with the attention trial among them) are shuffled
    shown = {t.stimuli for i in range(30) for t in yaml_test.plan_for(f"P{i}") if t.type == "mushra"}
    assert len(shown) > 4  # MUSHRA versions (hidden reference and anchor included) shuffled per participant


def test_anchor_is_a_lowpass_of_the_reference(yaml_test):
    trial = next(t for t in yaml_test.trials if t.type == "mushra")
    ref_key, anchor_key = trial.items[0].key, trial.items[1].key
    assert anchor_key.startswith("anchor:") and "nat/" in anchor_key

    def band_share(key, low_hz):
        sr, x = yaml_test.load_audio(key)
        spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / sr)
        return spec[freqs > low_hz].sum() / spec.sum()

    assert band_share(ref_key, 4000) > 1e-3  # the synthetic speech has energy above the cut-off
    assert band_share(anchor_key, 4000) < band_share(ref_key, 4000) / 1000  # the anchor has almost none
    assert band_share(anchor_key, 500) > 0.5 * band_share(ref_key, 500)  # and keeps the band below


def test_session_flow_consent_code_and_time_budget(tmp_path, monkeypatch):
    import time as time_module

    folder = make_yaml_test(tmp_path / "flow", manifest(completion_code="auto", time_budget_minutes=1))
    app = ListeningApp(folder)
    session = app.start("flow", "P01")
    assert session.needs_consent and session.next_trial is None
    with pytest.raises(ListeningTestError, match="consent"):
        app.answer("flow", "P01", 0, 3)
    session = app.consent("flow", "P01")
    assert not session.needs_consent and session.next_trial.index == 0
    code = session.code
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{8}", code) and app.start("flow", "P02").code != code
    assert app.start("flow", "P01").code == code  # stored, the same on resume
    session = app.answer("flow", "P01", 0, 4)
    assert session.done == {0}
    # The budget runs out: no more trials, answers are refused, the session is finished.
    real = time_module.time
    monkeypatch.setattr("promptevc.demo.listening.time.time", lambda: real() + 61)
    session = app.start("flow", "P01")
    assert session.timed_out and session.next_trial is None and session.complete
    with pytest.raises(ListeningTestError, match="time budget"):
        app.answer("flow", "P01", 1, 4)
    row = next(r for r in app.store("flow").participant_rows("flow") if r["participant"] == "P01")
    assert row["consent_utc"] and row["finished_utc"] and row["code"] == code


def test_every_type_recorded_with_gold_checks(tmp_path):
    folder = make_yaml_test(tmp_path / "all")
    app = ListeningApp(folder)
    for pid, careless in (("P01", False), ("P02", True)):
        session = app.consent("all", pid)
        for planned in session.plan:
            app.answer("all", pid, planned.index, answer_for(session.test, planned, careless))
        assert app.start("all", pid).complete
    answers = app.store("all").answers("all")
    assert len(answers) == 2 * len(session.plan)
    by = {(a["participant"], a["trial_key"]): a for a in answers}
    assert by[("P01", "train:0:mos:src/u2.wav")]["training"] is True
    gold = [a for a in answers if a["gold"]]
    assert {a["participant"]: a["passed"] for a in gold if a["participant"] == "P01"} == {"P01": True}
    assert all(a["passed"] is False for a in gold if a["participant"] == "P02")
    mushra = next(a for a in answers if a["trial_type"] == "mushra" and a["participant"] == "P01")
    systems = {i["key"]: i["system"] for i in mushra["items"] if "system" in i}
    assert {systems[k]: v for k, v in mushra["response"].items()}["reference"] == 100
    ab = next(a for a in answers if a["trial_type"] == "ab" and a["participant"] == "P01")
    assert systems.get(ab["response"], "") == "evc" or ab["response"].startswith("evc/")


def test_yaml_answers_validated_per_type(yaml_test):
    plan = {t.type: t for t in yaml_test.plan_for("P01") if not t.training}
    with pytest.raises(ListeningTestError, match="0 to 100"):
        normalise_answer(plan["mushra"], [50] * (len(plan["mushra"].stimuli) - 1))
    with pytest.raises(ListeningTestError, match="0 to 100"):
        normalise_answer(plan["mushra"], [101] + [50] * (len(plan["mushra"].stimuli) - 1))
    assert normalise_answer(plan["mushra"], [10] * len(plan["mushra"].stimuli)) == {
        k: 10 for k in plan["mushra"].stimuli}
    for bad in (None, "C", "maybe"):
        with pytest.raises(ListeningTestError, match="A, B or no preference"):
            normalise_answer(plan["ab"], bad)
    assert normalise_answer(plan["ab"], "B") == plan["ab"].stimuli[1]
    assert normalise_answer(plan["abx"], "none") == "none"
    with pytest.raises(ListeningTestError, match="1 to 5"):
        normalise_answer(plan["smos"], 6)


def _error_for(tmp_path, data) -> str:
    folder = make_yaml_test(tmp_path / "bad", data)
    with pytest.raises(ListeningTestError) as err:
        ListeningTest.from_folder(folder)
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, PromptEVCError)
    return message


def _edit(path: str, value):
    """A manifest with the field at dotted ``path`` (list indexes as numbers) set to ``value``."""
    data = manifest()
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize("path, value, field, message", [
    ("instructions", KeyError, "manifest.yaml: instructions", "missing"),
    ("time_budget_minutes", "soon", "manifest.yaml: time_budget_minutes", "not a number"),
    ("completion_code", "has space", "manifest.yaml: completion_code", "letters, digits"),
    ("attention.max_failures", -1, "manifest.yaml: attention.max_failures", "not a number"),
    ("screening.mushra.reference_min", 120, "manifest.yaml: screening.mushra.reference_min", "[0, 100]"),
    ("colour", "blue", "manifest.yaml: colour", "unknown field"),
    ("blocks", [], "manifest.yaml: blocks", "empty"),
    ("blocks.0.type", "likert", "blocks[0].type", "unknown test type"),
    ("blocks.0.shuffle", "yes", "blocks[0].shuffle", "true or false"),
    ("blocks.0.trials", [], "blocks[0].trials", "empty"),
    ("blocks.0.trials.0.file", "evc/missing.wav", "blocks[0].trials[0].file", "does not exist"),
    ("blocks.0.trials.0.file", "../../etc/passwd", "blocks[0].trials[0].file", "outside the test folder"),
    ("blocks.0.trials.0.system", KeyError, "blocks[0].trials[0].system", "missing"),
    ("blocks.0.trials.0.qestion", "x", "blocks[0].trials[0].qestion", "unknown field"),
    ("blocks.0.trials.4.gold", [0], "blocks[0].trials[4].gold", "score from 1 to 5"),
    ("blocks.1.trials.0.conditions", {}, "blocks[1].trials[0].conditions", "system: file"),
    ("blocks.1.trials.0.conditions", {f"s{i}": "evc/u1_sad.wav" for i in range(11)},
     "blocks[1].trials[0].conditions", "at most 12"),
    ("blocks.1.trials.0.anchors", ["bandpass"], "blocks[1].trials[0].anchors[0]", "unknown anchor"),
    ("blocks.1.trials.0.reference", KeyError, "blocks[1].trials[0].reference", "give a file path"),
    ("blocks.2.trials.0.stimuli", {"evc": "evc/u1_sad.wav"}, "blocks[2].trials[0].stimuli", "exactly two"),
    ("blocks.3.trials.1.gold", "robot", "blocks[3].trials[1].gold", "not one of this trial's systems"),
    ("blocks.4.trials.0.reference", "nat/none.wav", "blocks[4].trials[0].reference", "does not exist"),
    ("blocks.5.trials.0.emotion", "bored", "blocks[5].trials[0].emotion", "unknown emotion"),
    ("blocks.6.trials.0.emotion", KeyError, "blocks[6].trials[0].emotion", "missing"),
    ("blocks.7.trials.0.versions", [{"file": "evc/u1_sad_lo.wav", "intensity": 0.2}],
     "blocks[7].trials[0].versions", "give 2 to 5"),
    ("blocks.7.trials.0.versions.0.intensity", 2, "blocks[7].trials[0].versions[0].intensity", "outside [0, 1]"),
])
def test_each_manifest_error_is_one_line_naming_the_field(tmp_path, path, value, field, message):
    text = _error_for(tmp_path, _edit(path, value))
    assert field in text and message in text, text


def test_manifest_yaml_syntax_and_shape_errors(tmp_path):
    folder = make_yaml_test(tmp_path / "syntax")
    (folder / "manifest.yaml").write_text("title: [unclosed\n")
    with pytest.raises(ListeningTestError, match="not valid YAML"):
        ListeningTest.from_folder(folder)
    (folder / "manifest.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ListeningTestError, match="expected a mapping"):
        ListeningTest.from_folder(folder)
    assert set(MANIFEST) >= {"instructions", "blocks"} and block(MANIFEST, "mushra")["type"] == "mushra"


def test_old_results_file_gets_the_new_columns(tmp_path, test_folder):
    """A results.sqlite written before the new columns existed is upgraded in place, answers kept."""
    path = test_folder / "results.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE participants (test TEXT NOT NULL, participant TEXT NOT NULL, seed TEXT NOT NULL, "
        "plan TEXT NOT NULL, started_utc TEXT NOT NULL, PRIMARY KEY (test, participant));"
        "CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, test TEXT NOT NULL, participant TEXT NOT NULL,"
        " trial_index INTEGER NOT NULL, trial_type TEXT NOT NULL, trial_key TEXT NOT NULL, stimuli TEXT NOT NULL,"
        " system TEXT, condition TEXT, utt TEXT, target_emotion TEXT, target_intensity REAL, response TEXT NOT NULL,"
        " created_utc TEXT NOT NULL, UNIQUE (test, participant, trial_index));"
    )
    test = ListeningTest.from_folder(test_folder)
    plan = json.dumps([{"index": t.index, "type": t.type, "key": t.key, "stimuli": list(t.stimuli)}
                       for t in test.plan_for("P09")])
    db.execute("INSERT INTO participants VALUES ('pilot', 'P09', '1', ?, '2024-01-01T00:00:00+00:00')", (plan,))
    db.execute("INSERT INTO answers (test, participant, trial_index, trial_type, trial_key, stimuli, response, "
               "created_utc) VALUES ('pilot', 'P09', 0, 'mos', ?, '[]', '3', 'x')", (test.plan_for("P09")[0].key,))
    db.commit()
    db.close()
    app = ListeningApp(test_folder.parent)
    session = app.start("pilot", "P09")
    assert session.done == {0} and session.next_trial.index == 1
    session = app.answer("pilot", "P09", 1, 4)
    answers = app.store("pilot").answers()
    assert [a["response"] for a in answers] == [3, 4] and answers[0]["training"] is False


def test_readme_example_manifest_builds(tmp_path):
    """The complete example in demo/README.md is a valid manifest (kept true by this test)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "demo" / "README.md").read_text(encoding="utf-8")
    text = readme.split("### A complete example for each test type", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    folder = make_yaml_test(tmp_path / "readme")
    (folder / "manifest.yaml").write_text(text)
    test = ListeningTest.from_folder(folder)
    assert [b.type for b in test.blocks] == ["mos", "mushra", "ab", "abx", "smos", "esmos", "emotion", "ranking"]
    assert test.settings.completion_code == "auto" and sum(t.gold is not None for t in test.trials) == 6
