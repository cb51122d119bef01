"""The page builds without launching; launching binds 127.0.0.1 and enforces the upload limit."""

from __future__ import annotations

import socket

import pytest

from promptevc.cli import main
from promptevc.demo.convert import ConversionService
from promptevc.demo.listening import ListeningApp


@pytest.fixture
def fresh_cli_logging(monkeypatch):
    """cli.main keeps a console log handler bound to the stderr of the test that made it; start clean."""
    import logging

    monkeypatch.setattr(logging.getLogger("promptevc"), "handlers", [])


def _elem_ids(demo) -> set[str]:
    return {getattr(b, "elem_id", None) for b in demo.blocks.values()} - {None}


def test_blocks_build_without_launching(tmp_path, test_folder, fake_loader):
    from promptevc.demo.ui import build_demo

    service = ConversionService(models=["rel"], work_dir=tmp_path, loader=fake_loader)
    demo = build_demo(service, ListeningApp(test_folder.parent), show_results=False)
    ids = _elem_ids(demo)
    for needed in ("input_audio", "prompt", "intensity", "from_prompt", "engine", "model", "convert_button",
                   "parse", "output_audio", "prosody_plot", "lt_participant", "lt_start", "lt_rating",
                   "lt_emotion", "lt_submit", "lt_slot_rank_4", "lt_slot_score_11", "lt_reference", "lt_choice",
                   "lt_consent", "lt_begin", "lt_end"):
        assert needed in ids, needed
    # Participants' instance: no results components at all.
    assert not any(i.startswith("res_") for i in ids)
    engine = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "engine")
    assert [c[1] for c in engine.choices] == ["prosody", "neural"]
    assert fake_loader.loaded == []  # nothing loaded until the first conversion

    with_results = build_demo(service, ListeningApp(test_folder.parent), show_results=True)
    assert {"res_mos", "res_ranking", "res_export"} <= _elem_ids(with_results)


def test_build_without_tests_dir(tmp_path, fake_loader):
    from promptevc.demo.ui import build_demo

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader))
    engine = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "engine")
    assert [c[1] for c in engine.choices] == ["prosody"]
    assert "lt_start" not in _elem_ids(demo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_launch_binds_localhost_and_limits_uploads(tmp_path, fake_loader):
    import httpx

    from promptevc.demo.ui import build_demo, launch

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader))
    port = _free_port()
    _, url = launch(demo, port=port, max_file_size="100kb", block=False, quiet=True)
    try:
        assert url.startswith(f"http://127.0.0.1:{port}")
        assert demo.server_name == "127.0.0.1"
        assert httpx.get(url, timeout=30).status_code == 200
        big = httpx.post(url + "gradio_api/upload", files={"files": ("a.wav", b"0" * 200_000)}, timeout=30)
        assert big.status_code == 413
        small = httpx.post(url + "gradio_api/upload", files={"files": ("a.wav", b"0" * 2_000)}, timeout=30)
        assert small.status_code == 200
    finally:
        demo.close()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--results"], "--results needs --tests-dir"),
        (["demo", "--max-seconds", "0"], "--max-seconds 0"),
        (["demo", "--port", "70000"], "--port 70000"),
        (["demo", "--tests-dir", "/nonexistent/tests"], "/nonexistent/tests: not a folder"),
    ],
)
def test_command_rejects_bad_options(argv, message, capsys, fresh_cli_logging):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _handler(demo, name):
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def _component(demo, elem_id):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def test_listening_handlers_walk_all_trial_types(tmp_path, test_folder, fake_loader):
    """Drive the page's own handlers (as the browser would) through all 14 trials of the CSV manifest."""
    from promptevc.demo.ui import build_demo

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader), ListeningApp(test_folder.parent))
    on_start, on_begin, on_submit = (_handler(demo, n) for n in ("on_start", "on_begin", "on_submit"))
    c = {k: _component(demo, f"lt_{k}") for k in ("status", "instruction", "audio", "rating", "emotion", "trial",
                                                  "intro", "end")}
    state = next(k for k in on_start("pilot", "P02") if type(k).__name__ == "State")
    bad = on_start("pilot", "../P01")
    assert bad[state] is None and "participant id must be" in bad[c["status"]]
    out = on_start("pilot", "P02")
    assert out[c["intro"]]["visible"] is True  # the instructions page comes first
    out = on_begin(out[state], False)
    current = out[state]
    assert current["test"] == "pilot" and current["participant"] == "P02" and current["index"] == 0
    assert out[c["instruction"]].startswith("**Trial 1 of 14**") and out[c["rating"]]["visible"]
    sr, samples = out[c["audio"]]["value"]
    assert sr == 16000 and len(samples) == 9600
    slots = [None] * 24  # 12 MUSHRA scores, then 12 ranks
    seen = []
    for _ in range(14):
        text = out[c["instruction"]]
        kind = "mos" if "natural" in text else "emotion" if "Which emotion" in text else "ranking"
        seen.append(kind)
        if kind == "ranking":
            shown = [out[_component(demo, f"lt_slot_audio_{i}")].get("visible") for i in range(3)]
            assert shown == [True, True, False]  # the third column of the row is an empty placeholder
            assert [out[_component(demo, f"lt_slot_row_{r}")]["visible"] for r in range(4)] == [True] + [False] * 3
            ranks = [None] * 12
            refused = on_submit(out[state], None, None, None, *slots[:12], "1", "1", *ranks[2:])
            assert "different rank" in refused[c["status"]] and refused[state] == out[state]
            out = on_submit(out[state], None, None, None, *slots[:12], "2", "1", *ranks[2:])
        else:
            out = on_submit(out[state], "5 - Excellent" if kind == "mos" else None, "happy", None, *slots)
        assert "Saved." in out[c["status"]]
    assert seen == ["mos"] * 6 + ["emotion"] * 6 + ["ranking"] * 2
    assert "14 of 14 trials done" in out[c["status"]] and "All done" in out[c["end"]]
    answers = ListeningApp(test_folder.parent).store("pilot").answers()
    assert [a["trial_index"] for a in answers] == list(range(14))
    # Resuming a finished participant shows the end, nothing else.
    assert "All done" in on_start("pilot", "P02")[c["end"]]


def test_second_tab_is_told_its_answer_was_not_stored(tmp_path, test_folder, fake_loader):
    """Two tabs of one participant on the same trial: the second submit is not stored, and it says so."""
    from promptevc.demo.ui import build_demo

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader), ListeningApp(test_folder.parent))
    on_start, on_begin, on_submit = (_handler(demo, n) for n in ("on_start", "on_begin", "on_submit"))
    status = _component(demo, "lt_status")
    state = next(k for k in on_start("pilot", "P03") if type(k).__name__ == "State")
    tab1 = on_begin(on_start("pilot", "P03")[state], False)[state]
    tab2 = on_begin(on_start("pilot", "P03")[state], False)[state]
    assert tab1["index"] == tab2["index"] == 0
    first = on_submit(tab1, "4 - Good", None, None, *[None] * 24)
    second = on_submit(tab2, "1 - Bad", None, None, *[None] * 24)
    assert "Saved." in first[status] and "Saved." not in second[status]
    assert "Not stored" in second[status] and "already been answered" in second[status]
    answers = ListeningApp(test_folder.parent).store("pilot").answers()
    assert [(a["trial_index"], a["response"]) for a in answers] == [(0, 4)]


def test_command_reports_broken_manifest(tmp_path, capsys, fresh_cli_logging):
    from demo_support import make_test_folder

    folder = make_test_folder(tmp_path / "tests" / "bad")
    (folder / "manifest.csv").write_text("file,system,condition,utt,emotion,intensity\n../x.wav,a,b,c,,\n")
    assert main(["demo", "--tests-dir", str(tmp_path / "tests")]) == 2
    assert "outside the test folder" in capsys.readouterr().err


def test_results_handlers_summarise_and_export(tmp_path, test_folder, fake_loader):
    import csv

    from promptevc.demo.ui import build_demo

    app = ListeningApp(test_folder.parent)
    for pid, score in (("P01", 4), ("P02", 2)):
        session = app.start("pilot", pid)
        for trial in session.plan:
            answer = {"mos": score, "emotion": "sad"}.get(trial.type, ["1", "2"])
            app.answer("pilot", pid, trial.index, answer)
    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader), app, show_results=True)
    outs = _handler(demo, "on_refresh")("pilot")
    summary = outs[0]
    (screening, scores_png, confusion_png, mushra, mos, pairwise, preference, agreement, confusion,
     ranking) = (o["value"] for o in outs[1:])
    visible = [o["visible"] for o in outs[1:]]
    assert visible == [True, True, True, False, True, True, False, True, True, True]  # no MUSHRA, no AB here
    assert "2 participant(s), 28 answer(s)" in summary and "0 participant(s) excluded" in summary
    assert list(screening["participant"]) == ["P01", "P02"] and not screening["excluded"].any()
    # (evc, 4 conditions) x 2 participants; (reference, natural) holds u1 and u2.
    assert list(mos["n"]) == [2, 2, 2, 2, 4] and list(mos["mean"]) == [3.0] * 5
    assert set(pairwise["system_a"]) == {"evc"} and set(pairwise["system_b"]) == {"reference"}
    assert list(agreement["participants"]) == [2] and mushra.empty and preference.empty
    assert "emotion identification accuracy 33.3%" in summary  # 4 of 12 intended emotions were sad
    # Two sad answers per intended emotion: the sad column holds all 12.
    assert int(confusion["sad"].sum()) == 12 and list(confusion["n"]) == [4, 0, 4, 4, 0]
    assert list(ranking["n"]) == [4] and open(confusion_png, "rb").read(4) == b"\x89PNG"
    assert open(scores_png, "rb").read(4) == b"\x89PNG"
    files = _handler(demo, "on_export")("pilot")
    assert [p.rsplit("/", 1)[1] for p in files] == [
        "answers_long.csv", "answers.csv", "screening.csv", "ratings.csv", "mushra.csv", "pairwise.csv",
        "preference.csv", "agreement.csv", "confusion.csv", "ranking.csv"]
    with open(files[1], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 28 and {r["participant"] for r in rows} == {"P01", "P02"}
    with open(files[0], newline="") as f:
        long = list(csv.DictReader(f))
    assert len(long) == 24 + 4 * 2  # one row per rated version: ranking trials give two rows each
