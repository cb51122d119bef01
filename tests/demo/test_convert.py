"""The conversion handler, against a fake converter with the public ``Converter`` interface."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from demo_support import write_wav

from promptevc.demo.convert import ConversionService, to_int16


@pytest.fixture
def service(tmp_path, fake_loader):
    return ConversionService(work_dir=tmp_path / "work", loader=fake_loader, max_seconds=5.0)


def test_convert_returns_audio_plot_and_parse(service, speech_file, fake_loader):
    result = service.convert(str(speech_file), "make it sound a little sad", seed=3)
    assert result.ok, result.message
    sr, samples = result.audio
    assert sr == 22050 and samples.dtype == np.int16
    assert len(samples) == pytest.approx(2.0 * 22050, abs=2)
    # The fake halves the level: the peak is about half the input's.
    peak_in = np.abs(sf.read(speech_file)[0]).max()
    assert np.abs(samples).max() / 32767 == pytest.approx(0.5 * peak_in, rel=0.05)
    assert result.parse.startswith("sad, intensity 0.30")
    assert open(result.plot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    call = fake_loader.loaded[0].calls[0]
    assert call == {"prompt": "make it sound a little sad", "intensity": None, "seed": 3, "n": 32000}


def test_slider_intensity_overrides_prompt(service, speech_file, fake_loader):
    result = service.convert(str(speech_file), "sad", intensity_from_prompt=False, intensity=0.8)
    assert result.ok and result.parse.startswith("sad, intensity 0.80")
    assert fake_loader.loaded[0].calls[0]["intensity"] == pytest.approx(0.8)
    assert service.describe("angry please", False, 0.1) .startswith("angry, intensity 0.10")
    assert service.describe("angry please", True, 0.1).startswith("angry, intensity 0.30")


def test_converter_loaded_once_per_engine(service, speech_file, fake_loader):
    for _ in range(2):
        assert service.convert(str(speech_file), "happy").ok
    assert len(fake_loader.loaded) == 1 and fake_loader.loaded[0].engine == "prosody"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: None, "no audio yet"),
        (lambda d: write_wav(d / "short.wav", 150.0, seconds=0.1), "short.wav: 0.10 s of audio; need at least"),
        (lambda d: write_wav(d / "long.wav", 150.0, seconds=6.0), "long.wav: 6.0 s of audio exceeds the limit of 5 s"),
        (lambda d: (d / "junk.wav").write_bytes(b"not audio at all") and d / "junk.wav", "junk.wav: cannot read audio"),
    ],
)
def test_bad_audio_gives_readable_message(service, tmp_path, make, message):
    path = make(tmp_path)
    result = service.convert(None if path is None else str(path), "sad")
    assert not result.ok and result.audio is None and result.plot is None
    assert message in result.message and result.message.startswith("**Error:**")
    assert "Traceback" not in result.message and str(tmp_path) not in result.message


def test_bad_prompt_and_engine(service, speech_file):
    assert "type a prompt" in service.convert(str(speech_file), "   ").message
    result = service.convert(str(speech_file), "sad", engine="neural")
    assert not result.ok and "--model" in result.message
    assert service.engines == ["prosody"]


def test_neural_engine_offered_with_model(tmp_path, speech_file, fake_loader):
    service = ConversionService(models=["rel-a", "rel-b"], vocoder="voc", work_dir=tmp_path, loader=fake_loader)
    assert service.engines == ["prosody", "neural"]
    assert service.convert(str(speech_file), "sad", engine="neural", model="rel-b").ok
    assert (fake_loader.loaded[0].engine, fake_loader.loaded[0].model) == ("neural", "rel-b")
    assert "was not offered" in service.convert(str(speech_file), "sad", engine="neural", model="/etc").message


def test_to_int16_clips():
    out = to_int16(np.array([0.0, 0.5, 2.0, -3.0, np.nan], dtype=np.float32))
    np.testing.assert_array_equal(out, [0, 16383, 32767, -32767, 0])


@pytest.mark.slow
def test_real_prosody_converter(tmp_path, speech_file):
    """The default loader goes through the public ``promptevc.Converter`` (prosody engine)."""
    service = ConversionService(work_dir=tmp_path, max_seconds=10.0)
    result = service.convert(str(speech_file), "very angry", intensity_from_prompt=False, intensity=0.9, seed=0)
    assert result.ok, result.message
    assert result.parse.startswith("angry, intensity 0.90")
    sr, samples = result.audio
    assert sr == 16000 and 1.0 < len(samples) / sr < 3.0 and np.abs(samples).max() > 1000
    assert service.describe("  ", True, None).startswith("Cannot read the prompt: type a prompt")


# ------------------------------------------------------------------ uploads: header first, memory, temp files


def test_upload_bomb_refused_from_the_header(service, tmp_path):
    """A small FLAC declaring hours is refused before any sample is decoded (it took 3.5 GB)."""
    import time
    import tracemalloc

    from safety_support import flac_declaring

    bomb = flac_declaring(tmp_path / "bomb.flac", total_frames=48000 * 1800, sr=48000, channels=8)
    tracemalloc.start()
    t0 = time.perf_counter()
    result = service.convert(str(bomb), "sad")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not result.ok and "bomb.flac: 1800.0 s of audio exceeds the limit of 5 s" in result.message
    assert elapsed < 0.5 and peak < 10 << 20


def test_upload_channels_and_rate_limits(service, tmp_path):
    many = tmp_path / "many.wav"
    sf.write(many, np.zeros((16000, 12), np.float32), 16000)
    assert "12 channels; at most 8" in service.convert(str(many), "sad").message
    hi = tmp_path / "hi.wav"
    wav = np.stack([np.sin(np.arange(96000) * 0.01)] * 2, axis=1).astype(np.float32) * 0.3
    sf.write(hi, wav, 96000)
    mono, sr = service.read_input(str(hi))
    assert sr == 48000 and mono.ndim == 1 and len(mono) == 48000


def test_memory_error_becomes_a_message(tmp_path, speech_file):
    class _Hungry:
        def describe(self, prompt):
            from promptevc.prompt.control import EmotionControl

            return EmotionControl.from_label("sad", 0.5, prompt=prompt)

        def convert(self, *a, **k):
            raise MemoryError

    service = ConversionService(work_dir=tmp_path, loader=lambda *a: _Hungry())
    result = service.convert(str(speech_file), "sad")
    assert not result.ok and "ran out of memory" in result.message and result.message.startswith("**Error:**")


def test_private_work_dir_keeps_served_audio_from_other_users(monkeypatch):
    """Gradio's cache (uploads, served audio) goes inside a 0700 folder, not world-readable /tmp/gradio."""
    import os
    import shutil
    import stat

    from promptevc.commands.demo import private_work_dir

    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    work = private_work_dir()
    try:
        cache = os.environ["GRADIO_TEMP_DIR"]
        assert cache.startswith(str(work))
        assert stat.S_IMODE(os.stat(work).st_mode) == 0o700 and stat.S_IMODE(os.stat(cache).st_mode) == 0o700
        import gradio as gr

        served = gr.Audio(type="numpy").postprocess((16000, np.zeros(1600, np.int16)))
        path = served.path
        assert path.startswith(cache)  # the converted audio Gradio serves, behind the 0700 folder
    finally:
        monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_demo_removes_its_files_on_sigterm_and_sigint(tmp_path, signame):
    """The README says the demo's files are deleted when it stops: also on Ctrl-C and SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # The page is replaced by a stand-in that blocks like Gradio's launch (no browser, no port).
    script = tmp_path / "run_demo.py"
    script.write_text(
        "import sys, time, types, os\n"
        "fake = types.ModuleType('promptevc.demo.ui')\n"
        "fake.build_demo = lambda service, listening, show_results=False: service\n"
        "def launch(service, **kw):\n"
        "    (service.work_dir / 'prosody-plot.png').write_bytes(b'png')\n"
        "    print(service.work_dir, os.environ['GRADIO_TEMP_DIR'], flush=True)\n"
        "    while True:\n"
        "        time.sleep(0.05)\n"
        "fake.launch = launch\n"
        "sys.modules['promptevc.demo.ui'] = fake\n"
        "from promptevc.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        work, cache = proc.stdout.readline().split()
        assert os.path.isdir(work) and cache.startswith(work)
        time.sleep(0.2)
        proc.send_signal(getattr(signal, signame))
        proc.wait(30)
    finally:
        proc.kill()
    assert proc.returncode in (130, 143), proc.stderr.read()
    assert not os.path.exists(work)


class _ParsingConverter:
    """The real prompt parser and an engine, with an identity conversion."""

    def __init__(self, engine):
        self.engine = engine

    def describe(self, prompt):
        from promptevc.prompt.parser import get_parser

        return get_parser().parse(prompt)

    def convert(self, wav, sample_rate, prompt=None, emotion=None, intensity=None, seed=None):
        return np.asarray(wav, dtype=np.float32), sample_rate


def test_parser_and_engine_warnings_are_shown(tmp_path, speech_file):
    from promptevc.engines.base import Engine
    from promptevc.engines.prosody import ProsodyEngine

    service = ConversionService(work_dir=tmp_path, loader=lambda *a: _ParsingConverter(ProsodyEngine()))
    assert "Warning: no emotion found" in service.describe("read this sentence", True, None)
    result = service.convert(str(speech_file), "read this sentence")
    assert result.ok and "**Warning:** no emotion found" in result.message
    assert "Warning" not in service.describe("nervous", True, None)  # the prosody engine knows fear
    # An engine that knows ESD's five only says which emotion it renders instead.
    five = type("NeuralLike", (Engine,), {"name": "neural"})()
    service = ConversionService(work_dir=tmp_path / "b", loader=lambda *a: _ParsingConverter(five))
    text = service.describe("nervous", True, None)
    assert text.startswith("fear") and "Warning: the neural engine has no 'fear' emotion" in text
    assert "nearest, surprise" in service.convert(str(speech_file), "nervous").message


def test_changing_an_input_clears_the_stale_result(tmp_path, fake_loader):
    from promptevc.demo.ui import build_demo

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader))
    ids = {getattr(b, "elem_id", None): i for i, b in demo.blocks.items()}
    clears = {
        (t[0], t[1]) for dep in demo.config["dependencies"] if ids["output_audio"] in dep["outputs"]
        and ids["convert_button"] not in [t[0] for t in dep["targets"]] for t in dep["targets"]
    }
    for elem, event in (("input_audio", "change"), ("prompt", "change"), ("engine", "change"),
                        ("intensity", "release"), ("from_prompt", "change")):
        assert (ids[elem], event) in clears, elem


def test_a_late_change_event_keeps_the_result_of_the_same_inputs(tmp_path, fake_loader):
    # The change event of the prompt typed just before Convert can reach the server after the
    # conversion: it must not replace that conversion's result (or error) with "Inputs changed".
    from promptevc.demo.ui import _fingerprint, build_demo

    demo = build_demo(ConversionService(work_dir=tmp_path, loader=fake_loader))
    ids = {getattr(b, "elem_id", None): i for i, b in demo.blocks.items()}
    fn = next(f.fn for f in demo.fns.values()
              if any(b._id == ids["output_audio"] for b in f.outputs)
              and any(t[0] == ids["prompt"] and t[1] == "change" for t in f.targets))
    inputs = ("/tmp/x.wav", "a little sad", True, 0.5, "prosody", None, 0)
    kept = fn(*inputs, _fingerprint(*inputs))
    assert all(isinstance(u, dict) and set(u) <= {"__type__"} for u in kept)  # gr.update(): no change
    cleared = fn(*inputs[:1], "very happy", *inputs[2:], _fingerprint(*inputs))
    assert cleared[:2] == (None, None) and "Inputs changed" in cleared[2]
    assert fn(*inputs, None)[2] == cleared[2]  # nothing converted yet
