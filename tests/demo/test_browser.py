"""End to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no downloads).

Launches the demo on 127.0.0.1 (a free port) in this process with the real prosody engine, then:
bad audio gives a readable message in the page; a wav is uploaded, a prompt typed, Convert
clicked and the converted audio arrives; two listening-test trials are answered and found in
SQLite; the Results tab shows them. Screenshots go to tmp_path and, when the environment names
one, to $PROMPTEVC_SCREENSHOT_DIR.
"""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path

import pytest
import soundfile as sf
from browser_support import CHROMIUM, CHROMIUM_ARGS, free_port, shot
from demo_support import make_test_folder, write_wav

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_url(tmp_path):
    from promptevc.demo.convert import ConversionService
    from promptevc.demo.listening import ListeningApp
    from promptevc.demo.ui import build_demo, launch

    make_test_folder(tmp_path / "tests" / "pilot")
    service = ConversionService(work_dir=tmp_path / "work", max_seconds=30.0)  # real Converter, prosody
    demo = build_demo(service, ListeningApp(tmp_path / "tests"), show_results=True)
    _, url = launch(demo, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def test_convert_and_listening_test_in_chromium(demo_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM}: no Chromium; install Debian's package (apt-get install chromium)")
    good = write_wav(tmp_path / "voice.wav", 140.0, seconds=1.5)
    short = write_wav(tmp_path / "tiny.wav", 140.0, seconds=0.1)
    start = time.monotonic()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(demo_url)

            # Bad audio: a readable one-line message in the page, no traceback.
            page.set_input_files("#input_audio input[type=file]", str(short))
            page.fill("#prompt textarea", "make it sound a little sad")
            page.click("#convert_button")
            page.wait_for_selector("#convert_status :text('Error')")
            status = page.inner_text("#convert_status")
            assert "tiny.wav: 0.10 s of audio; need at least" in status and "Traceback" not in status

            # Good audio: converted audio arrives, with the parse and the plot.
            page.click("#input_audio button[aria-label='Clear']")
            page.set_input_files("#input_audio input[type=file]", str(good))
            page.click("#convert_button")
            page.wait_for_selector("#convert_status :text('Converted')", timeout=90_000)
            assert page.input_value("#parse textarea").startswith("sad, intensity")
            src = page.get_attribute("#output_audio a[download]", "href")
            assert src and src.startswith(demo_url) and src.endswith(".wav")
            body = page.request.get(src).body()
            wav, sr = sf.read(io.BytesIO(body))
            assert sr == 16000 and 1.0 < len(wav) / sr < 2.5
            page.wait_for_selector("#prosody_plot img")
            shot(page, tmp_path, "demo_convert.png")

            # Listening test: participant P01 answers two trials.
            page.get_by_role("tab", name="Listening test").click()
            page.fill("#lt_participant textarea, #lt_participant input", "P01")
            page.click("#lt_start")
            page.wait_for_selector("#lt_intro", state="visible")  # instructions first (no consent in a CSV test)
            page.click("#lt_begin")
            page.wait_for_selector("#lt_instruction :text('Trial 1 of 14')")
            for k, label in enumerate(("4 - Good", "2 - Poor")):
                page.wait_for_selector("#lt_audio a[download], #lt_audio audio", state="attached")
                page.locator("#lt_rating label").filter(has_text=label).click()
                page.click("#lt_submit")
                page.wait_for_selector(f"#lt_instruction :text('Trial {k + 2} of 14')")
            assert "2 of 14 trials done" in page.inner_text("#lt_status")
            # No file name of a stimulus appears anywhere in the page.
            html = page.content()
            assert "u1_sad" not in html and "ref/u" not in html and "manifest.csv" not in html
            shot(page, tmp_path, "demo_listening.png")

            # Experimenter's results view: filled when the tab opens, no Refresh needed.
            page.get_by_role("tab", name="Results (experimenter)").click()
            page.wait_for_selector("#res_summary :text('2 answer(s)')")
            shot(page, tmp_path, "demo_results.png")
        finally:
            browser.close()

    db = sqlite3.connect(tmp_path / "tests" / "pilot" / "results.sqlite")
    rows = db.execute("SELECT participant, trial_index, trial_type, response FROM answers ORDER BY id").fetchall()
    assert rows == [("P01", 0, "mos", "4"), ("P01", 1, "mos", "2")]
    assert time.monotonic() - start < 120
