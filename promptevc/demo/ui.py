"""The Gradio page: Convert and Listening-test tabs, and a Results tab for the experimenter.

Layout only: handlers call :class:`~promptevc.demo.convert.ConversionService` and
:class:`~promptevc.demo.listening.ListeningApp`. The Results tab exists only when the demo is
started with ``--results``: every event of a Gradio app can also be called through its HTTP
API, so the only sure way to keep participants from reading answers is for the instance they
use not to have a results handler at all. The experimenter runs a second instance (another
port, or after the test) with ``--results``.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

from promptevc.demo.convert import EXAMPLE_PROMPTS, ConversionService
from promptevc.demo.listening import (
    MAX_SLOTS,
    MOS_SCALE,
    SCALES,
    ListeningApp,
    ListeningTestError,
    Session,
)
from promptevc.errors import PromptEVCError
from promptevc.prompt.control import EMOTIONS

# Gradio reads this when imported: no usage statistics leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

log = logging.getLogger(__name__)

SLOT_NAMES = "ABCDEFGHIJKL"
SLOTS_PER_ROW = 3
INTRO = """# PromptEVC
Change how a recording *feels*, steered by a text prompt; or take part in a listening test.
"""


# ----------------------------------------------------------------------------- convert tab


def _convert_tab(service: ConversionService) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Your recording (upload or record)",
                elem_id="input_audio",
            )
            prompt = gr.Textbox(
                label="Prompt", placeholder="e.g. make it sound a little sad", lines=1, elem_id="prompt",
            )
            gr.Examples(examples=[[p] for p in EXAMPLE_PROMPTS], inputs=[prompt], label="Example prompts")
            from_prompt = gr.Checkbox(value=True, label="Intensity from the prompt", elem_id="from_prompt")
            intensity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Intensity", interactive=False,
                                  elem_id="intensity")
            with gr.Row():
                engine = gr.Radio(service.engines, value="prosody", label="Engine", elem_id="engine")
                model = gr.Dropdown(service.models, value=service.models[0] if service.models else None,
                                    label="Model (neural engine)", visible=bool(service.models), elem_id="model")
                seed = gr.Number(value=0, precision=0, label="Seed", elem_id="seed")
            convert_btn = gr.Button("Convert", variant="primary", elem_id="convert_button")
        with gr.Column(scale=1):
            parse = gr.Textbox(label="How the prompt was read", interactive=False, elem_id="parse")
            status = gr.Markdown(elem_id="convert_status")
            audio_out = gr.Audio(label="Converted", type="numpy", interactive=False, buttons=["download"],
                                 elem_id="output_audio")
            plot = gr.Image(label="Pitch and energy, before and after", type="filepath", interactive=False,
                            buttons=["download", "fullscreen"], elem_id="prosody_plot")

    def on_describe(text: str, use_prompt: bool, amount: float, eng: str, mdl: str | None) -> str:
        if not (text or "").strip():
            return ""
        return service.describe(text, use_prompt, amount, eng, mdl)

    def on_convert(path: str | None, text: str, use_prompt: bool, amount: float, eng: str,
                   mdl: str | None, seed_value: float | None) -> tuple:
        result = service.convert(path, text, use_prompt, amount, eng, mdl, seed_value)
        made_from = _fingerprint(path, text, use_prompt, amount, eng, mdl, seed_value)
        return result.audio, result.plot, result.parse, result.message, made_from

    parse_inputs = [prompt, from_prompt, intensity, engine, model]
    convert_inputs = [audio_in, prompt, from_prompt, intensity, engine, model, seed]
    # The inputs the shown result (or error) was made from: a change event that arrives after the
    # conversion, for inputs it already used, must not clear it.
    made_from = gr.State(None)
    from_prompt.change(lambda v: gr.update(interactive=not v), from_prompt, intensity, queue=False)
    # "always_last": while typing, only the newest text is parsed once the previous parse returns.
    for trigger in (prompt.change, from_prompt.change, intensity.release, engine.change):
        trigger(on_describe, parse_inputs, parse, show_progress="hidden", trigger_mode="always_last",
                api_visibility="private")
    convert_btn.click(on_convert, convert_inputs, [audio_out, plot, parse, status, made_from], concurrency_limit=1)

    # A result belongs to the inputs it was made from: any change clears it (and says so).
    stale = "*Inputs changed: press Convert for a new result.*"

    def on_change(*values: Any) -> tuple:
        *current, shown = values
        if shown is not None and _fingerprint(*current) == shown:
            return gr.update(), gr.update(), gr.update()
        return None, None, stale

    for trigger in (audio_in.change, prompt.change, from_prompt.change, intensity.release, engine.change,
                    model.change, seed.change):
        trigger(on_change, [*convert_inputs, made_from], [audio_out, plot, status], queue=False,
                show_progress="hidden", api_visibility="private")


def _fingerprint(*values: Any) -> str:
    """What identifies a conversion's inputs (the upload's path names its file)."""
    return repr(tuple(values))


# ----------------------------------------------------------------------------- listening tab

CHOICES_AB = ["A", "B", "No preference"]


class _TrialWidgets:
    """Everything the listening tab shows; :func:`_render` fills it for one state of the session."""

    def __init__(self) -> None:
        self.status = gr.Markdown(elem_id="lt_status")
        with gr.Column(visible=False, elem_id="lt_intro") as self.intro:
            self.instructions = gr.Markdown(elem_id="lt_instructions")
            with gr.Group(visible=False) as self.consent_box:
                self.consent_text = gr.Markdown(elem_id="lt_consent_text")
                self.consent = gr.Checkbox(label="I have read this and I agree to take part", value=False,
                                           elem_id="lt_consent")
            self.begin = gr.Button("Begin", variant="primary", elem_id="lt_begin")
        with gr.Column(visible=False, elem_id="lt_trial") as self.box:
            self.instruction = gr.Markdown(elem_id="lt_instruction")
            # No download/share buttons: stimuli are for listening only.
            self.reference = gr.Audio(label="Reference", type="numpy", interactive=False, visible=False,
                                      buttons=[], elem_id="lt_reference")
            self.audio = gr.Audio(label="Listen", type="numpy", interactive=False, visible=False,
                                  buttons=[], elem_id="lt_audio")
            self.rating = gr.Radio(list(MOS_SCALE.values()), label="Your rating", visible=False, elem_id="lt_rating")
            self.emotion = gr.Radio(list(EMOTIONS), label="Emotion", visible=False, elem_id="lt_emotion")
            # Versions in a grid, SLOTS_PER_ROW to a row: a 12-version MUSHRA screen stays within a page or two.
            self.rows, self.slots, self.slot_audio, self.slot_score, self.slot_rank = [], [], [], [], []
            for r in range(MAX_SLOTS // SLOTS_PER_ROW):
                with gr.Row(visible=False, elem_id=f"lt_slot_row_{r}") as row:
                    for i in range(r * SLOTS_PER_ROW, (r + 1) * SLOTS_PER_ROW):
                        with gr.Column(visible=False, min_width=240, elem_id=f"lt_slot_{i}") as col:
                            self.slot_audio.append(gr.Audio(label=f"Version {SLOT_NAMES[i]}", type="numpy",
                                                            interactive=False, buttons=[],
                                                            elem_id=f"lt_slot_audio_{i}"))
                            self.slot_score.append(gr.Slider(0, 100, value=0, step=1,
                                                             label=f"Score of {SLOT_NAMES[i]} (0-100)",
                                                             visible=False, elem_id=f"lt_slot_score_{i}"))
                            self.slot_rank.append(gr.Radio(["1", "2"], label=f"Rank of version {SLOT_NAMES[i]}",
                                                           visible=False, elem_id=f"lt_slot_rank_{i}"))
                        self.slots.append(col)
                self.rows.append(row)
            self.choice = gr.Radio(CHOICES_AB, label="Your choice", visible=False, elem_id="lt_choice")
            self.submit = gr.Button("Submit answer", variant="primary", elem_id="lt_submit")
        with gr.Column(visible=False, elem_id="lt_end_box") as self.end_box:
            self.end = gr.Markdown(elem_id="lt_end")

    def outputs(self) -> list:
        return [self.status, self.intro, self.instructions, self.consent_box, self.consent_text, self.consent,
                self.box, self.instruction, self.reference, self.audio, self.rating, self.emotion, self.choice,
                self.end_box, self.end, *self.rows, *self.slots, *self.slot_audio, *self.slot_score, *self.slot_rank]


def _time_left(session: Session) -> str:
    left = session.time_left_s
    return "" if left is None else f" Time left: {int(left // 60)} min {int(left % 60):02d} s."


def _render(w: _TrialWidgets, session: Session | None, message: str = "", intro: bool = False) -> dict:
    """Updates for :meth:`_TrialWidgets.outputs`: the intro page, the next trial, or the end."""
    hidden = {c: gr.update(visible=False) for c in (w.intro, w.box, w.end_box, *w.rows, *w.slots)}
    if session is None:
        return {**hidden, w.status: message}
    test = session.test
    status = f"{message} Participant **{session.participant}**: {session.progress()}.{_time_left(session)}".strip()
    settings = test.settings
    if intro or session.needs_consent:
        return {**hidden, w.status: status, w.intro: gr.update(visible=True),
                w.instructions: f"## {settings.title or test.name}\n\n{settings.instructions}".strip(),
                w.consent_box: gr.update(visible=bool(settings.consent)),
                w.consent_text: f"### Consent\n\n{settings.consent}" if settings.consent else "",
                w.consent: gr.update(value=session.consented)}
    trial = session.next_trial
    if trial is None:
        why = ("The time budget of this test is used up: thank you for your time!" if session.timed_out
               and len(session.done) < len(session.plan) else "All done: thank you!")
        code = f"\n\nYour completion code: **`{session.code}`** (copy it into the study page)." if session.code else ""
        return {**hidden, w.status: status, w.end_box: gr.update(visible=True), w.end: f"### {why}{code}"}
    design = test.trial(trial.key)
    kind = trial.type
    head = f"**Trial {trial.index + 1} of {len(session.plan)}**" + (" (practice: not scored)" if trial.training
                                                                    else "") + ". "
    out = {**hidden, w.status: status, w.box: gr.update(visible=True), w.instruction: head + test.question(design),
           w.reference: gr.update(visible=False, value=None), w.audio: gr.update(visible=False, value=None),
           w.rating: gr.update(visible=False, value=None), w.emotion: gr.update(visible=False, value=None),
           w.choice: gr.update(visible=False, value=None)}
    if design.reference:
        label = "Reference X" if kind == "abx" else "Reference"
        out[w.reference] = gr.update(visible=True, value=test.load_audio(design.reference), label=label)
    if kind in ("mos", "emotion", "smos", "esmos"):
        label = "Converted speech" if kind in ("smos", "esmos") else "Listen"
        out[w.audio] = gr.update(visible=True, value=test.load_audio(trial.stimuli[0]), label=label)
        if kind == "emotion":
            out[w.emotion] = gr.update(visible=True, value=None)
        else:
            out[w.rating] = gr.update(visible=True, value=None, choices=list(SCALES[kind].values()))
        return out
    n = len(trial.stimuli)
    used_rows = math.ceil(n / SLOTS_PER_ROW)
    for r in range(used_rows):
        out[w.rows[r]] = gr.update(visible=True)
    # Slots after the last version in a used row stay as empty columns so the grid keeps its width.
    for i in range(n, used_rows * SLOTS_PER_ROW):
        out[w.slots[i]] = gr.update(visible=True)
        out[w.slot_audio[i]] = gr.update(visible=False, value=None)
        out[w.slot_score[i]] = gr.update(visible=False)
        out[w.slot_rank[i]] = gr.update(visible=False)
    for i in range(n):
        out[w.slots[i]] = gr.update(visible=True)
        out[w.slot_audio[i]] = gr.update(visible=True, value=test.load_audio(trial.stimuli[i]),
                                         label=f"Version {SLOT_NAMES[i]}")
        out[w.slot_score[i]] = gr.update(visible=kind == "mushra", value=0)
        out[w.slot_rank[i]] = gr.update(visible=kind == "ranking", value=None,
                                        choices=[str(r) for r in range(1, n + 1)])
    if kind in ("ab", "abx"):
        out[w.choice] = gr.update(visible=True, value=None)
    return out


def _answer_for(trial_type: str, n: int, rating: str | None, emotion: str | None, choice: str | None,
                scores: tuple, ranks: tuple) -> Any:
    if trial_type in ("mos", "smos", "esmos"):
        return rating
    if trial_type == "emotion":
        return emotion
    if trial_type == "ranking":
        return ranks[:n]
    if trial_type == "mushra":
        return scores[:n]
    return {"A": "a", "B": "b", "No preference": "none"}.get(choice or "", choice)


def _listening_tab(app: ListeningApp) -> None:
    names = app.test_names()
    if not names:
        gr.Markdown("No listening tests here. Start the demo with `--tests-dir DIR`, where DIR (or its "
                    "sub-folders) holds `manifest.yaml` (or `manifest.csv`) and the stimuli (see `demo/README.md`).")
        return
    with gr.Row():
        test_name = gr.Dropdown(names, value=names[0], label="Test", elem_id="lt_test")
        participant = gr.Textbox(label="Participant id", placeholder="e.g. P01", elem_id="lt_participant")
        start = gr.Button("Start / resume", elem_id="lt_start")
    w = _TrialWidgets()
    # Server-side session state: which test, who, the trial on screen and when it was shown.
    state = gr.State(None)
    outputs = [state, *w.outputs()]

    def current_for(session: Session) -> dict:
        t = session.next_trial
        return {"test": session.test.name, "participant": session.participant,
                "index": t.index if t else None, "shown": time.monotonic()}

    def on_start(name: str, pid: str) -> dict:
        try:
            session = app.start(name, pid)
        except PromptEVCError as err:
            return {state: None, **_render(w, None, f"**Error:** {err}")}
        intro = not session.done and not session.complete
        return {state: current_for(session), **_render(w, session, "Welcome back." if session.done else "",
                                                         intro=intro)}

    def on_begin(current: dict | None, agreed: bool) -> dict:
        if not current:
            return {state: current, **_render(w, None, "Enter your participant id and press **Start / resume**.")}
        try:
            session = app.start(current["test"], current["participant"])
            if session.test.settings.consent and not session.consented:
                if not agreed:
                    return {state: current, w.status: "**Please check:** tick the consent box to take part."}
                session = app.consent(current["test"], current["participant"])
        except PromptEVCError as err:
            return {state: current, w.status: f"**Error:** {err}"}
        return {state: current_for(session), **_render(w, session)}

    def on_submit(current: dict | None, rating: str | None, emotion: str | None, choice: str | None,
                  *slots: Any) -> dict:
        if not current or current.get("index") is None:
            return {state: current, **_render(w, None, "Enter your participant id and press **Start / resume**.")}
        scores, ranks = slots[:MAX_SLOTS], slots[MAX_SLOTS:]
        try:
            session = app.start(current["test"], current["participant"])
            trial = session.plan[current["index"]]
            answer = _answer_for(trial.type, len(trial.stimuli), rating, emotion, choice, scores, ranks)
            elapsed = time.monotonic() - current.get("shown", time.monotonic())
            session, recorded = app.answer_with_status(current["test"], current["participant"], trial.index,
                                                       answer, response_s=elapsed)
        except ListeningTestError as err:
            if "time budget" in str(err):
                session = app.start(current["test"], current["participant"])
                return {state: current_for(session), **_render(w, session, f"**{err}**")}
            # Keep the trial on screen (and the choices made) so the participant can fix the answer.
            return {state: current, w.status: f"**Please check:** {err}"}
        if recorded.stored:
            message = "Saved (practice, not scored)." if trial.training else "Saved."
        else:
            message = ("**Not stored:** this trial had already been answered (in another tab or window?), so "
                       "this answer was not kept. Here is your next trial.")
        return {state: current_for(session), **_render(w, session, message)}

    # "private": not callable through the Gradio API clients, only from the page.
    start.click(on_start, [test_name, participant], outputs, api_visibility="private")
    participant.submit(on_start, [test_name, participant], outputs, api_visibility="private")
    w.begin.click(on_begin, [state, w.consent], outputs, api_visibility="private")
    w.submit.click(on_submit, [state, w.rating, w.emotion, w.choice, *w.slot_score, *w.slot_rank], outputs,
                   concurrency_limit=1, api_visibility="private")


# ----------------------------------------------------------------------------- results tab


def _frame(rows: list[dict], columns: tuple[str, ...] | None = None):
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns) if columns else None)


def _results_tab(app: ListeningApp, work_dir: Path, demo: gr.Blocks, tab: gr.Tab) -> None:
    from promptevc.demo import stats
    from promptevc.demo.plots import plot_confusion, plot_scores
    from promptevc.utils.plots import pyplot

    # Import pyplot now: the tables load with the page, in a worker thread, and a first import of
    # pyplot racing Gradio's own matplotlib backend switch in another thread fails half-initialised.
    pyplot()
    names = app.test_names()
    with gr.Row():
        test_name = gr.Dropdown(names, value=names[0] if names else None, label="Test", elem_id="res_test")
        refresh = gr.Button("Refresh", elem_id="res_refresh")
        export = gr.Button("Export CSV", elem_id="res_export")
    summary = gr.Markdown(elem_id="res_summary")
    screening_df = gr.Dataframe(label="Participants and screening (excluded participants count nowhere below)",
                                elem_id="res_screening")
    with gr.Row():
        scores_img = gr.Image(label="Scores per system (mean and 95 % CI)", type="filepath", interactive=False,
                              elem_id="res_scores_plot")
        confusion_img = gr.Image(label="Emotion identification", type="filepath", interactive=False,
                                 elem_id="res_confusion_plot")
    mushra_df = gr.Dataframe(label="MUSHRA per system (0-100): mean with t-based 95 % CI, median with "
                                   "distribution-free 95 % CI", elem_id="res_mushra")
    mos_df = gr.Dataframe(label="Category scales (MOS naturalness, SMOS speaker similarity, ESMOS emotion "
                                "similarity; 1-5) per system and condition", elem_id="res_mos")
    pairwise_df = gr.Dataframe(label="Paired Wilcoxon signed-rank tests between the systems under test (B - A; "
                                     "MUSHRA's hidden reference and anchors are not tested), Holm-corrected per "
                                     "test type", elem_id="res_pairwise")
    preference_df = gr.Dataframe(label="AB / ABX preference with two-sided sign tests (no preference excluded), "
                                       "Holm-corrected", elem_id="res_preference")
    agreement_df = gr.Dataframe(label="Inter-rater agreement: Krippendorff's alpha", elem_id="res_agreement")
    confusion_df = gr.Dataframe(label="Confusion matrix (rows intended, columns answered)", elem_id="res_confusion")
    ranking_df = gr.Dataframe(label="Intensity ranking agreement with the intended order", elem_id="res_ranking")
    files = gr.File(label="CSV files (after Export CSV)", file_count="multiple", interactive=False, height=160,
                    elem_id="res_files")
    outputs = [summary, screening_df, scores_img, confusion_img, mushra_df, mos_df, pairwise_df, preference_df,
               agreement_df, confusion_df, ranking_df]

    def on_refresh(name: str | None) -> list:
        if not name:
            return ["No listening tests.", *[gr.update(visible=False)] * (len(outputs) - 1)]
        try:
            test = app.test(name)
            answers = app.store(name).answers(name)
            people = app.store(name).participant_rows(name)
        except PromptEVCError as err:
            return [f"**Error:** {err}", *[gr.update(visible=False)] * (len(outputs) - 1)]
        res = stats.summarise(answers, test.settings, people)
        excluded = [r for r in res["screening"] if r["excluded"]]
        has_emotion = bool(res["confusion"].sum())
        text = (f"**{name}**: {len(people)} participant(s), {len(answers)} answer(s); "
                f"{len(excluded)} participant(s) excluded by screening; {len(res['scored'])} answer(s) scored"
                + (f"; emotion identification accuracy {res['accuracy']:.1%}." if has_emotion else "."))
        tag = uuid.uuid4().hex[:12]
        confusion = str(plot_confusion(res["confusion"], work_dir / f"confusion-{tag}.png")) if has_emotion else None
        panels = [("MUSHRA", res["mushra"], (0, 100))] if res["mushra"] else []
        panels += [(t.upper(), [r for r in res["ratings"] if r["test"] == t], (1, 5))
                   for t in ("mos", "smos", "esmos") if any(r["test"] == t for r in res["ratings"])]
        scores = str(plot_scores(panels, work_dir / f"scores-{tag}.png")) if panels else None

        def table(rows, columns=None):
            return gr.update(value=_frame(rows, columns), visible=bool(rows))

        return [text, table(res["screening"], stats.SCREENING_COLUMNS),
                gr.update(value=scores, visible=scores is not None),
                gr.update(value=confusion, visible=has_emotion),
                table(res["mushra"], stats.MUSHRA_COLUMNS), table(res["ratings"], stats.RATING_COLUMNS),
                table(res["pairwise"], stats.PAIRWISE_COLUMNS), table(res["preference"], stats.PREFERENCE_COLUMNS),
                table(res["agreement"], stats.AGREEMENT_COLUMNS),
                gr.update(value=_frame(stats.confusion_rows(res["confusion"])), visible=has_emotion),
                table(res["ranking"], stats.RANKING_COLUMNS)]

    def on_export(name: str | None) -> list[str] | None:
        try:
            test = app.test(name or "")
            answers = app.store(test.name).answers(test.name)
            people = app.store(test.name).participant_rows(test.name)
        except PromptEVCError:
            return None
        res = stats.summarise(answers, test.settings, people)
        out = work_dir / f"export-{test.name}-{uuid.uuid4().hex[:8]}"
        excluded = stats.excluded_ids(res["screening"])
        return [
            str(stats.write_table_csv(stats.long_rows(answers, excluded), out / "answers_long.csv", stats.LONG_COLUMNS)),
            str(stats.write_answers_csv(answers, out / "answers.csv")),
            str(stats.write_table_csv(res["screening"], out / "screening.csv", stats.SCREENING_COLUMNS)),
            str(stats.write_table_csv(res["ratings"], out / "ratings.csv", stats.RATING_COLUMNS)),
            str(stats.write_table_csv(res["mushra"], out / "mushra.csv", stats.MUSHRA_COLUMNS)),
            str(stats.write_table_csv(res["pairwise"], out / "pairwise.csv", stats.PAIRWISE_COLUMNS)),
            str(stats.write_table_csv(res["preference"], out / "preference.csv", stats.PREFERENCE_COLUMNS)),
            str(stats.write_table_csv(res["agreement"], out / "agreement.csv", stats.AGREEMENT_COLUMNS)),
            str(stats.write_table_csv(stats.confusion_rows(res["confusion"]), out / "confusion.csv")),
            str(stats.write_table_csv(res["ranking"], out / "ranking.csv", stats.RANKING_COLUMNS)),
        ]

    refresh.click(on_refresh, test_name, outputs, api_visibility="private")
    test_name.change(on_refresh, test_name, outputs, api_visibility="private")
    # The tables are filled when the page opens and whenever the tab is shown, not only on Refresh.
    demo.load(on_refresh, test_name, outputs, api_visibility="private")
    tab.select(on_refresh, test_name, outputs, api_visibility="private")
    export.click(on_export, test_name, files, api_visibility="private")


# ----------------------------------------------------------------------------- page


def build_demo(
    service: ConversionService,
    listening: ListeningApp | None = None,
    show_results: bool = False,
) -> gr.Blocks:
    """The whole page, not launched. ``show_results`` adds the experimenter's Results tab."""
    listening = listening or ListeningApp(None)
    # delete_cache: uploads (people's voices) and served audio leave Gradio's cache after an hour
    # and when the server stops.
    with gr.Blocks(title="PromptEVC demo", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Convert", id="convert"):
                _convert_tab(service)
            with gr.Tab("Listening test", id="listening"):
                _listening_tab(listening)
            if show_results:
                with gr.Tab("Results (experimenter)", id="results") as results_tab:
                    _results_tab(listening, service.work_dir, demo, results_tab)
    return demo


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = None,
    max_file_size: str | int = "20mb",
    block: bool = True,
    quiet: bool = False,
) -> tuple[Any, str]:
    """Serve ``demo``; returns ``(app, local_url)`` (with ``block=False``, serving goes on in a thread)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("the demo listens on %s: anyone who can reach this machine can use it", host)
    demo.queue(default_concurrency_limit=1)
    app, local_url, _ = demo.launch(
        server_name=host,
        server_port=port,
        max_file_size=max_file_size,  # uploads over this are refused before they reach a handler
        share=False,
        ssr_mode=False,  # server-side rendering would start a Node process; not needed here
        show_error=False,  # tracebacks never reach the page; handlers return readable messages
        prevent_thread_lock=not block,
        quiet=quiet,
        inbrowser=False,
        # Run history lives in the browser: on a shared listening-test machine the next participant
        # would see the previous one's answers.
        run_history=False,
        footer_links=["gradio", "settings"],
    )
    return app, local_url
