"""Python API: Converter.load / convert / convert_file / describe."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import promptevc
from promptevc.api import Converter
from promptevc.engines.base import ENGINES, Engine, engine_class
from promptevc.engines.profiles import plan_from_control
from promptevc.errors import AudioError, ConfigError, OutputExistsError, PromptError
from promptevc.prompt.control import EmotionControl
from promptevc.utils.synth import synth_speech


class _FakeParser:
    """Stands in for the zero-shot parser (tested by its own suite)."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def parse(self, prompt: str) -> EmotionControl:
        self.prompts.append(prompt)
        return EmotionControl.from_label("sad", intensity=0.3, prompt=prompt)


@pytest.fixture
def fake_parser(monkeypatch):
    parser = _FakeParser()
    import promptevc.prompt.parser as parser_mod

    monkeypatch.setattr(parser_mod, "get_parser", lambda *a, **k: parser)
    return parser


def test_public_import_and_registry():
    assert promptevc.Converter is Converter
    assert set(ENGINES) == {"prosody", "neural"}
    assert issubclass(engine_class("prosody"), Engine)
    with pytest.raises(ConfigError, match="unknown engine"):
        engine_class("magic")


def test_convert_any_rate_and_channels():
    conv = Converter.load()
    assert conv.engine.name == "prosody" and conv.sample_rate == 16000
    mono = synth_speech(150.0, 1.5, 22050)
    stereo_int = (np.stack([mono, 0.5 * mono], axis=1) * 32767).astype(np.int16)
    out, sr = conv.convert(stereo_int, 22050, emotion="sad", intensity=1.0)
    plan = plan_from_control(EmotionControl.from_label("sad", 1.0))
    assert sr == 16000 and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert len(out) == pytest.approx(1.5 * 16000 * plan.tempo, abs=2)


def test_intensity_zero_returns_input_at_16k(speech_wav):
    wav, sr = speech_wav
    out, out_sr = Converter.load().convert(wav, sr, emotion="angry", intensity=0.0)
    assert out_sr == sr and np.array_equal(out, wav)


def test_prompt_goes_through_parser_and_overrides_win(fake_parser, speech_wav):
    conv = Converter.load()
    ctrl = conv.describe("kind of down")
    assert ctrl.emotion == "sad" and ctrl.intensity == pytest.approx(0.3)
    both = conv.control("kind of down", emotion="happy", intensity=0.9)
    assert both.emotion == "happy" and both.intensity == pytest.approx(0.9)
    only_intensity = conv.control("kind of down", intensity=0.0)
    assert only_intensity.emotion == "sad" and only_intensity.intensity == 0.0
    wav, sr = speech_wav
    out, _ = conv.convert(wav, sr, prompt="kind of down", intensity=0.0)
    assert np.array_equal(out, wav)
    assert fake_parser.prompts == ["kind of down"] * 4


def test_emotion_without_prompt_and_missing_both():
    conv = Converter.load()
    ctrl = conv.control(emotion="surprised")
    assert ctrl.emotion == "surprise" and ctrl.intensity == 0.5
    with pytest.raises(PromptError, match="give a prompt"):
        conv.control()
    with pytest.raises(PromptError, match="empty"):
        conv.control("   ")
    with pytest.raises(PromptError, match="empty"):
        conv.describe("")
    with pytest.raises(PromptError, match="outside"):
        conv.control(emotion="sad", intensity=1.5)
    with pytest.raises(PromptError, match="unknown emotion"):
        conv.control(emotion="sarcastic")  # "bored" is an emotion now (boredom)


def test_load_errors():
    with pytest.raises(ConfigError, match="unknown engine"):
        Converter.load(engine="magic")
    with pytest.raises(ConfigError, match="needs --engine neural"):
        Converter.load(model="some/release")
    with pytest.raises(ConfigError, match="needs --model"):
        Converter.load(engine="neural")


def test_neural_arguments_are_passed_through(monkeypatch):
    seen = {}

    class _Dummy(Engine):
        name = "neural"

        def convert(self, wav, control, *, ref_wav=None, seed=None):
            seen["convert"] = (control.emotion, ref_wav is not None, seed)
            return wav[::-1].copy()

    def fake_load_engine(name, **kwargs):
        seen["load"] = (name, kwargs)
        return _Dummy(kwargs.get("audio"))

    monkeypatch.setattr("promptevc.api.load_engine", fake_load_engine)
    conv = Converter.load(engine="neural", model="rel/dir", vocoder="voc", device="cpu")
    assert seen["load"] == ("neural", {"model": "rel/dir", "vocoder": "voc", "device": "cpu", "audio": None})
    wav = synth_speech(150.0, 1.0, 16000)
    out, _ = conv.convert(wav, 16000, emotion="angry", ref_wav=wav, seed=7)
    assert seen["convert"] == ("angry", True, 7) and np.array_equal(out, wav[::-1])


def test_convert_file_writes_atomically_and_respects_overwrite(tmp_path, speech_file):
    conv = Converter.load()
    out = tmp_path / "out" / "happy.wav"
    conv.convert_file(speech_file, out, emotion="happy", intensity=0.6)
    data, sr = sf.read(out)
    assert sr == 16000 and len(data) > 0.5 * 16000
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        conv.convert_file(speech_file, out, emotion="sad")
    assert out.read_bytes() == before
    conv.convert_file(speech_file, out, emotion="sad", overwrite=True)
    assert out.read_bytes() != before
    with pytest.raises(OutputExistsError, match="overwrite the input"):
        conv.convert_file(speech_file, speech_file, emotion="sad", overwrite=True)
    assert [p.name for p in out.parent.iterdir()] == ["happy.wav"]  # no temp files left


def test_convert_validates_input():
    conv = Converter.load()
    with pytest.raises(AudioError, match="silent"):
        conv.convert(np.zeros(16000, dtype=np.float32), 16000, emotion="sad")
    with pytest.raises(AudioError, match="at least"):
        conv.convert(synth_speech(150.0, 0.1, 16000), 16000, emotion="sad")
