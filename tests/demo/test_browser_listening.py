"""Every listening-test type end to end in headless Chromium (Debian's /usr/bin/chromium via Playwright).

One demo server (real page, real SQLite) holds one test folder per type. For each type three
scripted participants take the whole session in the browser: instructions, consent, the
trials (answers typed, clicked and slid as a person would), the end page with their
completion code. Two answer consistently; the third fails the screening (attention trials, or
for MUSHRA the hidden reference). The test then checks the stored rows against the answers it
gave, and the Results tab's tables against statistics it computes itself from those answers.
Screenshots of each type's trial page and of its results go to tmp_path and, when set, to
$PROMPTEVC_SCREENSHOT_DIR.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, free_port, shot
from listening_support import answer_for, make_yaml_test, single_type_manifest

from promptevc.demo.listening import ListeningTest, normalise_answer

pytestmark = pytest.mark.browser

TYPES = ("mos", "mushra", "ab", "abx", "smos", "esmos", "emotion", "ranking")
PARTICIPANTS = (("H1", False, 0), ("H2", False, 1), ("C1", True, 0))  # id, careless, score shift


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from promptevc.demo.convert import ConversionService
    from promptevc.demo.listening import ListeningApp
    from promptevc.demo.ui import build_demo, launch

    root = tmp_path_factory.mktemp("listening")
    for kind in TYPES:
        make_yaml_test(root / "tests" / kind, single_type_manifest(kind), seconds=1.0)
    app = ListeningApp(root / "tests")
    demo = build_demo(ConversionService(work_dir=root / "work"), app, show_results=True)
    _, url = launch(demo, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    try:
        yield url, root, app
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM}: no Chromium; install Debian's package (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` in a Gradio dropdown the way a person does: open it, click the entry."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    assert page.locator(f"#{elem_id} input").input_value() == option


def _exact(text: str):
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def _enter(page, kind: str, answer) -> None:
    """Give ``answer`` through the page's own controls."""
    if kind in ("mos", "smos", "esmos"):
        page.locator("#lt_rating label").filter(has_text=re.compile(rf"^\s*{answer} - ")).click()
    elif kind == "emotion":
        page.locator("#lt_emotion label").filter(has_text=_exact(answer)).click()
    elif kind == "ranking":
        for i, rank in enumerate(answer):
            page.locator(f"#lt_slot_rank_{i} label").filter(has_text=_exact(rank)).click()
    elif kind == "mushra":
        for i, score in enumerate(answer):
            box = page.locator(f"#lt_slot_score_{i} input[type=number]")
            box.fill(str(score))
            box.press("Enter")
        for i, score in enumerate(answer):  # the page shows what will be sent
            assert page.locator(f"#lt_slot_score_{i} input[type=range]").input_value() == str(score)
    else:
        label = {"a": "A", "b": "B", "none": "No preference"}[answer]
        page.locator("#lt_choice label").filter(has_text=_exact(label)).click()


def _session(page, url: str, test: ListeningTest, pid: str, careless: bool, shift: int, shots: Path | None) -> str:
    """One whole session in the page; returns the completion code shown at the end."""
    page.goto(url)
    page.get_by_role("tab", name="Listening test").click()
    _choose(page, "lt_test", test.name)
    page.fill("#lt_participant textarea, #lt_participant input", pid)
    page.click("#lt_start")
    page.wait_for_selector("#lt_intro", state="visible")
    assert test.settings.instructions in page.inner_text("#lt_intro")
    # Begin without consent is refused; with the box ticked the first trial comes.
    page.click("#lt_begin")
    page.wait_for_selector("#lt_status :text('tick the consent box')")
    page.click("#lt_consent input")
    page.click("#lt_begin")
    plan = test.plan_for(pid)
    for planned in plan:
        page.wait_for_selector(f"#lt_instruction :text('Trial {planned.index + 1} of {len(plan)}')")
        if planned.training:
            assert "practice: not scored" in page.inner_text("#lt_instruction")
        _enter(page, planned.type, answer_for(test, planned, careless, shift))
        if shots is not None and not planned.training and planned.index == len(plan) - 1:
            shot(page, shots, f"listening_{test.name}.png")
        page.click("#lt_submit")
    page.wait_for_selector("#lt_end :text('completion code')")
    text = page.inner_text("#lt_end")
    assert "All done" in text and "Participant" not in text
    return re.search(r"completion code: (\S+)", text).group(1).strip("`").rstrip(".")


def _table(page, elem_id: str) -> list[list[str]]:
    """The rows (lists of cell texts) of a Dataframe on the page, header first."""
    rows = page.locator(f"#{elem_id} [role=row]")  # the header row, then the (virtualised) body rows
    return [[c.strip() for c in rows.nth(i).locator("[role=columnheader], [role=gridcell]").all_inner_texts()]
            for i in range(rows.count())]


def _row(table: list[list[str]], *keys: str) -> dict[str, str]:
    header = table[0]
    for r in table[1:]:
        if all(k in r for k in keys):
            return dict(zip(header, r, strict=False))
    raise AssertionError(f"no row with {keys} in {table}")


def _num(text: str) -> float:
    return float(text) if text not in ("", "NaN", "nan") else math.nan


# ----------------------------------------------------------------------------- expectations


def _expected(test: ListeningTest, kind: str) -> dict:
    """Statistics of the honest participants' scored answers, computed here from the scripted answers."""
    from scipy import stats as sps

    values: dict[str, list] = {}
    choices: dict[str, int] = {}
    for pid, careless, shift in PARTICIPANTS:
        if careless:
            continue
        for planned in test.plan_for(pid):
            design = test.trial(planned.key)
            if planned.training or design.gold is not None:
                continue
            answer = answer_for(test, planned, careless, shift)
            items = {i.key: i for i in design.items}
            if kind in ("mos", "smos", "esmos"):
                values.setdefault(design.items[0].system, []).append(answer)
            elif kind == "mushra":
                for key, score in zip(planned.stimuli, answer, strict=True):
                    values.setdefault(items[key].system, []).append(score)
            elif kind in ("ab", "abx"):
                chosen = items[planned.stimuli["ab".index(answer)]].system
                choices[chosen] = choices.get(chosen, 0) + 1
            elif kind == "emotion":
                values.setdefault("correct", []).append(answer == design.items[0].emotion)
    out = {"means": {s: float(np.mean(v)) for s, v in values.items()}}
    if choices:
        n = sum(choices.values())
        out["choices"] = choices
        out["p_sign"] = float(sps.binomtest(choices.get("evc", 0), n, 0.5).pvalue)
    return out


@pytest.mark.parametrize("kind", TYPES)
def test_listening_type_in_chromium(server, browser, tmp_path, kind):
    url, root, app = server
    test = app.test(kind)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    codes = {}
    try:
        for pid, careless, shift in PARTICIPANTS:
            codes[pid] = _session(page, url, test, pid, careless, shift, tmp_path if pid == "H1" else None)
        # A finished participant who comes back sees the end page and the same code, no trial.
        page.goto(url)
        page.get_by_role("tab", name="Listening test").click()
        _choose(page, "lt_test", kind)
        page.fill("#lt_participant textarea, #lt_participant input", "H1")
        page.click("#lt_start")
        page.wait_for_selector("#lt_end :text('completion code')")
        assert codes["H1"] in page.inner_text("#lt_end")

        # Stored rows: one per trial and participant, exactly the answers given.
        answers = app.store(kind).answers(kind)
        by = {(a["participant"], a["trial_index"]): a for a in answers}
        assert len(answers) == len(PARTICIPANTS) * len(test.plan_for("H1"))
        for pid, careless, shift in PARTICIPANTS:
            for planned in test.plan_for(pid):
                row = by[(pid, planned.index)]
                expected = normalise_answer(planned, answer_for(test, planned, careless, shift))
                if kind == "ranking":
                    assert row["response"]["response"] == expected
                else:
                    assert row["response"] == expected, (pid, planned)
                assert row["training"] == planned.training and row["stimuli"] == list(planned.stimuli)
                assert row["response_s"] is not None and row["response_s"] >= 0
        people = {p["participant"]: p for p in app.store(kind).participant_rows(kind)}
        assert {p: people[p]["code"] for p in codes} == codes and len(set(codes.values())) == 3
        assert all(people[p]["consent_utc"] and people[p]["finished_utc"] for p in codes)

        # Results tab: tables rendered on open; the careless participant is excluded.
        page.goto(url)
        page.get_by_role("tab", name="Results (experimenter)").click()
        _choose(page, "res_test", kind)
        page.wait_for_selector(f"#res_summary :text('{kind}')")
        page.wait_for_selector("#res_summary :text('1 participant(s) excluded')")
        screening = _table(page, "res_screening")
        assert _row(screening, "C1")["excluded"].lower() == "true"
        assert _row(screening, "H1")["excluded"].lower() == "false"
        want = _expected(test, kind)
        if kind == "mushra":
            table = _table(page, "res_mushra")
            for system, mean in want["means"].items():
                assert _num(_row(table, system)["mean"]) == pytest.approx(mean, abs=1e-3), system
            assert _num(_row(table, "reference")["median"]) == 100
            pairs = _table(page, "res_pairwise")
            assert len(pairs) == 2  # one test: evc vs prosody (no hidden reference or anchors)
            assert _num(_row(pairs, "evc", "prosody")["median_diff"]) == pytest.approx(-20)
        elif kind in ("mos", "smos", "esmos"):
            table = _table(page, "res_mos")
            for system, mean in want["means"].items():
                assert _num(_row(table, kind, system)["mean"]) == pytest.approx(mean, abs=1e-3), system
            assert _row(_table(page, "res_agreement"), kind)["participants"] == "2"
        elif kind in ("ab", "abx"):
            row = _row(_table(page, "res_preference"), kind, "evc", "prosody")
            assert int(row["prefer_a"]) == want["choices"]["evc"] and int(row["prefer_b"]) == 0
            assert _num(row["p_sign"]) == pytest.approx(want["p_sign"], rel=1e-3)
        elif kind == "emotion":
            accuracy = 100 * float(np.mean(want["means"]["correct"]))
            assert f"accuracy {accuracy:.1f}%" in page.inner_text("#res_summary")
            row = _row(_table(page, "res_confusion"), "sad")
            assert int(row["sad"]) == 2 and int(row["n"]) == 2  # H1 and H2 identified the sad conversion
        else:
            row = _row(_table(page, "res_ranking"), "evc")
            assert _num(row["spearman_rho"]) == 1.0 and int(row["n"]) == 2
        if kind != "emotion":
            assert page.locator("#res_confusion").count() == 0  # sections without data are not shown
        shot(page, tmp_path, f"results_{kind}.png")
    finally:
        page.close()
