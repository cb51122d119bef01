"""``promptevc demo``: the Gradio page for conversion and listening tests (also ``python demo/app.py``)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from promptevc.commands._common import add_device_argument, file_size, positive_float


def port_int(text: str) -> int:
    """A TCP port, 1..65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside 1..65535")
    return value

NAME = "demo"
HELP = "web page to try prompts on your voice and to run listening tests (Gradio)"
DESCRIPTION = """\
Start the PromptEVC web demo on http://HOST:PORT (127.0.0.1 unless --host says otherwise).

Tabs: Convert (upload or record, prompt, intensity, engine; plays the result and plots pitch
and energy before/after); Listening test (MOS, emotion identification, intensity ranking,
MUSHRA, AB, ABX, speaker and emotion similarity; instructions, consent, training and attention
trials, completion code; blind and randomised per participant; answers in
TESTS_DIR/<test>/results.sqlite); Results (only with --results: screening, scores with 95 % CIs,
significance tests, agreement, confusion matrix, CSV export). Manifest format: demo/README.md.
Run the participants' instance without --results; the experimenter starts another with it.

examples:
  promptevc demo
  promptevc demo --model my-release/ --tests-dir listening/ --port 7860
  promptevc demo --tests-dir listening/ --results --port 7861
"""


def private_work_dir() -> Path:
    """A new 0700 folder for everything the demo writes, removed when the demo stops.

    Gradio's cache (uploads: people's voices; the audio it serves) goes inside it unless
    ``GRADIO_TEMP_DIR`` is set, instead of the world-readable ``/tmp/gradio``. Call before
    Gradio is imported (it reads the variable at import).
    """
    work = Path(tempfile.mkdtemp(prefix="promptevc-demo-"))
    if not os.environ.get("GRADIO_TEMP_DIR"):
        cache = work / "gradio"
        cache.mkdir(mode=0o700)
        os.environ["GRADIO_TEMP_DIR"] = str(cache)
    return work


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="RELEASE",
                        help="neural-engine release (folder or hub id); repeat to offer several. "
                             "Without it only the prosody engine is offered")
    parser.add_argument("--vocoder", default=None, help="vocoder release for the neural engine (default: its own)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to "
                             "the network)")
    parser.add_argument("--port", type=port_int, default=None, help="port (default: Gradio's, 7860 or the next free)")
    parser.add_argument("--tests-dir", default=None, metavar="DIR",
                        help="folder of listening tests: DIR or its sub-folders hold manifest.yaml (or manifest.csv) "
                             "+ stimuli")
    parser.add_argument("--results", action=argparse.BooleanOptionalAction, default=False,
                        help="add the experimenter's Results tab (never on the participants' instance)")
    parser.add_argument("--max-seconds", type=positive_float, default=60.0,
                        help="longest recording the Convert tab accepts, in seconds (default 60)")
    parser.add_argument("--max-file-size", type=file_size, default="20mb",
                        help="largest upload, e.g. 20mb or 500kb (default 20mb)")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from promptevc.errors import ConfigError

    if args.results and not args.tests_dir:
        raise ConfigError("--results needs --tests-dir DIR (the listening tests whose results to show)")

    # Ctrl-C and SIGTERM (turned into an interrupt by cli.main) end the server's wait; the
    # finally block then deletes the uploads, plots and served audio, as the README promises.
    work = private_work_dir()
    try:
        from promptevc.demo.convert import ConversionService
        from promptevc.demo.listening import ListeningApp
        from promptevc.demo.ui import build_demo, launch

        service = ConversionService(models=args.model, vocoder=args.vocoder, device=args.device,
                                    max_seconds=args.max_seconds, work_dir=work)
        listening = ListeningApp(args.tests_dir)
        for name in listening.test_names():
            listening.test(name)  # a broken manifest stops here, with its file and line, not mid-test
        demo = build_demo(service, listening, show_results=args.results)
        launch(demo, host=args.host, port=args.port, max_file_size=args.max_file_size, block=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
