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
import os
import uuid
from pathlib import Path
from typing import Any

from promptevc.demo.convert import EXAMPLE_PROMPTS, ConversionService
from promptevc.demo.listening import (
    MAX_RANK_VERSIONS,
    MOS_SCALE,
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

SLOT_NAMES = "ABCDE"
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
        return result.audio, result.plot, result.parse, result.message

    parse_inputs = [prompt, from_prompt, intensity, engine, model]
    from_prompt.change(lambda v: gr.update(interactive=not v), from_prompt, intensity, queue=False)
    # "always_last": while typing, only the newest text is parsed once the previous parse returns.
    for trigger in (prompt.change, from_prompt.change, intensity.release, engine.change):
        trigger(on_describe, parse_inputs, parse, show_progress="hidden", trigger_mode="always_last",
                api_visibility="private")
    convert_btn.click(
        on_convert, [audio_in, prompt, from_prompt, intensity, engine, model, seed],
        [audio_out, plot, parse, status], concurrency_limit=1,
    )
    # A result belongs to the inputs it was made from: any change clears it (and says so).
    stale = "*Inputs changed: press Convert for a new result.*"
    for trigger in (audio_in.change, prompt.change, from_prompt.change, intensity.release, engine.change,
                    model.change, seed.change):
        trigger(lambda: (None, None, stale), None, [audio_out, plot, status], queue=False, show_progress="hidden",
                api_visibility="private")


# ----------------------------------------------------------------------------- listening tab


class _TrialWidgets:
    """Components a trial fills; ``outputs()`` is the order :func:`_render` returns updates in."""

    def __init__(self) -> None:
        self.status = gr.Markdown(elem_id="lt_status")
        with gr.Column(visible=False, elem_id="lt_trial") as self.box:
            self.instruction = gr.Markdown(elem_id="lt_instruction")
            # No download/share buttons: stimuli are for listening only.
            self.audio = gr.Audio(label="Listen", type="numpy", interactive=False, visible=False,
                                  buttons=[], elem_id="lt_audio")
            self.mos = gr.Radio(list(MOS_SCALE.values()), label="Naturalness", visible=False, elem_id="lt_mos")
            self.emotion = gr.Radio(list(EMOTIONS), label="Emotion", visible=False, elem_id="lt_emotion")
            self.rows, self.slot_audio, self.slot_rank = [], [], []
            for i in range(MAX_RANK_VERSIONS):
                with gr.Row(visible=False) as row:
                    self.slot_audio.append(gr.Audio(label=f"Version {SLOT_NAMES[i]}", type="numpy",
                                                    interactive=False, buttons=[],
                                                    elem_id=f"lt_slot_audio_{i}"))
                    self.slot_rank.append(gr.Radio(["1", "2"], label=f"Rank of version {SLOT_NAMES[i]}",
                                                   elem_id=f"lt_slot_rank_{i}"))
                self.rows.append(row)
            self.submit = gr.Button("Submit answer", variant="primary", elem_id="lt_submit")

    def outputs(self) -> list:
        return [self.status, self.box, self.instruction, self.audio, self.mos, self.emotion,
                *self.rows, *self.slot_audio, *self.slot_rank]


def _render(w: _TrialWidgets, session: Session | None, message: str = "") -> list:
    """Updates for :meth:`_TrialWidgets.outputs`: the participant's next trial, or the end."""
    hidden_slots = [gr.update(visible=False)] * MAX_RANK_VERSIONS
    keep_slots = [gr.update()] * MAX_RANK_VERSIONS
    if session is None:
        return [message, gr.update(visible=False), "", gr.update(visible=False), gr.update(visible=False),
                gr.update(visible=False), *hidden_slots, *keep_slots, *keep_slots]
    trial = session.next_trial
    progress = session.progress()
    status = f"{message} Participant **{session.participant}**: {progress}.".strip()
    if trial is None:
        return [status + " All done: thank you!", gr.update(visible=False), "", gr.update(visible=False),
                gr.update(visible=False), gr.update(visible=False), *hidden_slots, *keep_slots, *keep_slots]
    test = session.test
    head = f"**Trial {trial.index + 1} of {len(session.plan)}.** "
    single = [gr.update(visible=False, value=None)] * 3
    slots_audio, slots_rank, rows = list(keep_slots), list(keep_slots), list(hidden_slots)
    if trial.type == "mos":
        text = head + "How natural does this speech sound? (1 = bad, 5 = excellent)"
        single = [gr.update(visible=True, value=test.load_audio(trial.stimuli[0])),
                  gr.update(visible=True, value=None), gr.update(visible=False, value=None)]
    elif trial.type == "emotion":
        text = head + "Which emotion does the speaker express?"
        single = [gr.update(visible=True, value=test.load_audio(trial.stimuli[0])),
                  gr.update(visible=False, value=None), gr.update(visible=True, value=None)]
    else:
        n = len(trial.stimuli)
        emotion = test.stimuli[trial.stimuli[0]].emotion
        how = f"{emotion}" if emotion else "emotional"
        text = head + (f"These are {n} versions of one sentence. Rank them by how strongly they sound "
                       f"**{how}**: 1 = weakest, {n} = strongest; each rank once.")
        choices = [str(r) for r in range(1, n + 1)]
        for i in range(MAX_RANK_VERSIONS):
            if i < n:
                rows[i] = gr.update(visible=True)
                slots_audio[i] = gr.update(value=test.load_audio(trial.stimuli[i]))
                slots_rank[i] = gr.update(choices=choices, value=None)
    return [status, gr.update(visible=True), text, *single, *rows, *slots_audio, *slots_rank]


def _listening_tab(app: ListeningApp) -> None:
    names = app.test_names()
    if not names:
        gr.Markdown("No listening tests here. Start the demo with `--tests-dir DIR`, where DIR (or its "
                    "sub-folders) holds `manifest.csv` and the stimuli (see `demo/README.md`).")
        return
    with gr.Row():
        test_name = gr.Dropdown(names, value=names[0], label="Test", elem_id="lt_test")
        participant = gr.Textbox(label="Participant id", placeholder="e.g. P01", elem_id="lt_participant")
        start = gr.Button("Start / resume", elem_id="lt_start")
    w = _TrialWidgets()
    # Server-side session state: which test, who, and the trial on screen.
    state = gr.State(None)

    def on_start(name: str, pid: str) -> list:
        try:
            session = app.start(name, pid)
        except PromptEVCError as err:
            return [None, *_render(w, None, f"**Error:** {err}")]
        t = session.next_trial
        current = {"test": name, "participant": session.participant, "index": t.index if t else None}
        return [current, *_render(w, session, "Welcome back." if session.done else "")]

    def on_submit(current: dict | None, mos: str | None, emotion: str | None, *ranks: str | None) -> list:
        if not current or current.get("index") is None:
            return [current, *_render(w, None, "Enter your participant id and press **Start / resume**.")]
        try:
            session = app.start(current["test"], current["participant"])
            trial = session.plan[current["index"]]
            answer: Any = {"mos": mos, "emotion": emotion}.get(trial.type, ranks[: len(trial.stimuli)])
            session = app.answer(current["test"], current["participant"], trial.index, answer)
        except ListeningTestError as err:
            # Keep the trial on screen (and the choices made) so the participant can fix the answer.
            return [current, f"**Please check:** {err}", *[gr.update()] * (len(w.outputs()) - 1)]
        t = session.next_trial
        current = {**current, "index": t.index if t else None}
        return [current, *_render(w, session, "Saved.")]

    # "private": not callable through the Gradio API clients, only from the page.
    start.click(on_start, [test_name, participant], [state, *w.outputs()], api_visibility="private")
    participant.submit(on_start, [test_name, participant], [state, *w.outputs()], api_visibility="private")
    w.submit.click(on_submit, [state, w.mos, w.emotion, *w.slot_rank], [state, *w.outputs()],
                   concurrency_limit=1, api_visibility="private")


# ----------------------------------------------------------------------------- results tab


def _results_tab(app: ListeningApp, work_dir: Path) -> None:
    import pandas as pd

    from promptevc.demo import stats
    from promptevc.demo.plots import plot_confusion

    names = app.test_names()
    with gr.Row():
        test_name = gr.Dropdown(names, value=names[0] if names else None, label="Test", elem_id="res_test")
        refresh = gr.Button("Refresh", elem_id="res_refresh")
        export = gr.Button("Export CSV", elem_id="res_export")
    summary = gr.Markdown(elem_id="res_summary")
    mos_df = gr.Dataframe(label="Naturalness MOS with 95 % t-based confidence interval", elem_id="res_mos")
    with gr.Row():
        confusion_img = gr.Image(label="Emotion identification", type="filepath", interactive=False)
        confusion_df = gr.Dataframe(label="Confusion matrix (rows intended, columns answered)")
    ranking_df = gr.Dataframe(label="Intensity ranking agreement with the intended order", elem_id="res_ranking")
    files = gr.File(label="CSV files", file_count="multiple", interactive=False, elem_id="res_files")

    def on_refresh(name: str) -> list:
        try:
            answers = app.store(name).answers(name)
            participants = app.store(name).participants(name)
        except PromptEVCError as err:
            return [f"**Error:** {err}", None, None, None, None]
        counts, accuracy = stats.confusion_matrix(answers)
        acc = "n/a" if counts.sum() == 0 else f"{accuracy:.1%}"
        text = (f"**{name}**: {len(participants)} participant(s), {len(answers)} answer(s); "
                f"emotion identification accuracy {acc}.")
        img = str(plot_confusion(counts, work_dir / f"confusion-{uuid.uuid4().hex[:12]}.png"))
        return [text, pd.DataFrame(stats.mos_summary(answers), columns=list(stats.MOS_COLUMNS)), img,
                pd.DataFrame(stats.confusion_rows(counts)),
                pd.DataFrame(stats.ranking_agreement(answers), columns=list(stats.RANKING_COLUMNS))]

    def on_export(name: str) -> list[str] | None:
        try:
            answers = app.store(name).answers(name)
        except PromptEVCError:
            return None
        out = work_dir / f"export-{name}-{uuid.uuid4().hex[:8]}"
        counts, _ = stats.confusion_matrix(answers)
        return [
            str(stats.write_answers_csv(answers, out / "answers.csv")),
            str(stats.write_table_csv(stats.mos_summary(answers), out / "mos.csv")),
            str(stats.write_table_csv(stats.confusion_rows(counts), out / "confusion.csv")),
            str(stats.write_table_csv(stats.ranking_agreement(answers), out / "ranking.csv")),
        ]

    refresh.click(on_refresh, test_name, [summary, mos_df, confusion_img, confusion_df, ranking_df],
                  api_visibility="private")
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
                with gr.Tab("Results (experimenter)", id="results"):
                    _results_tab(listening, service.work_dir)
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
