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
    # The input's rate and layout come back (issue 12: native quality).
    assert sr == 22050 and out.dtype == np.float32 and out.shape[1] == 2 and np.all(np.isfinite(out))
    assert len(out) == pytest.approx(1.5 * 22050 * plan.tempo, abs=4)
    # A mono engine's result is spread over the channels with each channel's level: 0.5 on the right.
    assert np.sqrt(np.mean(out[:, 1] ** 2) / np.mean(out[:, 0] ** 2)) == pytest.approx(0.5, rel=1e-3)


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
    # The engine sees the input without its DC offset (removed before any level analysis).
    assert seen["convert"] == ("angry", True, 7)
    np.testing.assert_allclose(out, (wav - wav.mean())[::-1], atol=1e-6)


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


# ------------------------------------------------------------------ the Converter's front and back


from safety_support import GainEngine, write_speech  # noqa: E402

from promptevc.config import InputConfig  # noqa: E402
from promptevc.engines.prosody import active_level_db  # noqa: E402


@pytest.mark.parametrize(
    "rate, channels, subtype",
    [(8000, 1, "PCM_16"), (8000, 2, "FLOAT"), (22050, 1, "PCM_24"), (22050, 2, "PCM_16"),
     (44100, 1, "FLOAT"), (44100, 2, "PCM_24"), (48000, 1, "PCM_24"), (48000, 2, "FLOAT")],
)
def test_native_rate_channels_and_subtype_round_trip(tmp_path, rate, channels, subtype):
    """The prosody engine's output comes back at the input's rate, channel count and sample format."""
    src = write_speech(tmp_path / "in.wav", 1.0, rate, channels, subtype)
    out = Converter.load().convert_file(src, tmp_path / "out.wav", emotion="happy", intensity=0.5)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (rate, channels, subtype)
    plan = plan_from_control(EmotionControl.from_label("happy", 0.5))
    assert info.frames == pytest.approx(rate * plan.tempo, rel=0.01)
    y, _ = sf.read(out, always_2d=True)
    assert np.all(np.isfinite(y)) and 0.01 < np.abs(y).max() <= 0.99
    if channels == 2:  # the second channel was written at 0.8 of the first: kept
        assert np.sqrt(np.mean(y[:, 1] ** 2) / np.mean(y[:, 0] ** 2)) == pytest.approx(0.8, rel=0.01)


def test_flac_float_input_and_explicit_output_options(tmp_path):
    src = write_speech(tmp_path / "in.wav", 1.0, 44100, 2, "FLOAT")
    conv = Converter.load()
    flac = conv.convert_file(src, tmp_path / "out.flac", emotion="sad")
    assert (sf.info(flac).format, sf.info(flac).subtype) == ("FLAC", "PCM_24")  # FLAC has no float: closest
    small = conv.convert_file(src, tmp_path / "small.wav", emotion="sad", out_sample_rate=16000, mono=True,
                              subtype="PCM_16")
    info = sf.info(small)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_native_rate_engine_keeps_bandwidth(tmp_path):
    """Nothing in the Converter's path low-passes: a 44.1 kHz engine keeps the energy above 8 kHz."""
    rng = np.random.default_rng(0)
    x = synth_speech(150.0, 2.0, 44100) + 0.01 * rng.standard_normal(88200).astype(np.float32)
    src = tmp_path / "in.wav"
    sf.write(src, x, 44100, subtype="PCM_24")
    conv = Converter(GainEngine(gain=0.5, multichannel=True))
    y, _ = sf.read(conv.convert_file(src, tmp_path / "out.wav", emotion="sad"))

    def high_share_db(w):
        spec = np.abs(np.fft.rfft(w)) ** 2
        freqs = np.fft.rfftfreq(len(w), 1 / 44100)
        return 10 * np.log10(spec[freqs > 8000].sum() / spec.sum())

    assert abs(high_share_db(y) - high_share_db(x)) < 3.0


def test_long_input_converted_chunk_by_chunk_with_one_session(tmp_path):
    engine = GainEngine(gain=0.5, multichannel=True)
    conv = Converter(engine, InputConfig(chunk_seconds=5.0))
    src = write_speech(tmp_path / "in.wav", 30.0, 16000, 2, "FLOAT")
    out = conv.convert_file(src, tmp_path / "out.wav", emotion="angry")
    assert len(engine.sessions) == 1 and engine.sessions[0].observed == 30 * 16000  # pass 1 saw it all
    assert len(engine.chunks) >= 6 and max(engine.chunks) <= 5 * 16000 + 320
    x, _ = sf.read(src, always_2d=True)
    y, _ = sf.read(out, always_2d=True)
    np.testing.assert_allclose(y, 0.5 * (x - x.mean(axis=0)), atol=2e-6)  # cross-fades are seamless


def test_identity_plan_is_the_exact_input(tmp_path):
    src = write_speech(tmp_path / "in.wav", 1.0, 44100, 2, "PCM_24")
    for conv in (Converter(GainEngine(identity=True)), Converter.load()):
        out = conv.convert_file(src, tmp_path / "out.wav", emotion="angry", intensity=0.0, overwrite=True)
        a, _ = sf.read(src, dtype="int32")
        b, _ = sf.read(out, dtype="int32")
        assert np.array_equal(a, b)


def test_dc_offset_does_not_change_the_planned_level(tmp_path):
    """+0.2 DC used to come out 11.7 dB louder than planned: the level is measured without DC."""
    wav = synth_speech(150.0, 2.0, 16000)
    conv = Converter.load()
    clean, _ = conv.convert(wav, 16000, emotion="angry", intensity=0.5)
    offset, _ = conv.convert(wav + 0.2, 16000, emotion="angry", intensity=0.5)
    assert abs(active_level_db(offset, 80) - active_level_db(clean, 80)) < 0.5
    assert abs(float(np.mean(offset))) < 0.01


def test_anti_phase_stereo_is_converted_not_silent(tmp_path):
    wav = synth_speech(150.0, 1.5, 22050)
    out, sr = Converter.load().convert(np.stack([wav, -wav], axis=1), 22050, emotion="sad", intensity=0.5)
    assert sr == 22050 and out.shape[1] == 2
    assert np.sqrt(np.mean(out[:, 0] ** 2)) > 0.3 * np.sqrt(np.mean(wav**2))
    np.testing.assert_allclose(out[:, 1], -out[:, 0], atol=1e-5)  # polarity kept


def test_shared_limiter_applies_to_every_engine(tmp_path):
    loud = Converter(GainEngine(gain=8.0))
    out, _ = loud.convert(synth_speech(150.0, 1.0, 16000, level_db=-6.0), 16000, emotion="angry")
    assert np.max(np.abs(out)) <= 0.99 + 1e-6


def test_legacy_engine_is_chunked_too(tmp_path):
    """An engine with only ``convert(wav, control)`` (today's neural) still gets bounded chunks."""
    seen = []

    class _Legacy(Engine):
        name = "legacy"

        def convert(self, wav, control, *, ref_wav=None, seed=None):
            seen.append((len(wav), seed))
            return wav

    conv = Converter(_Legacy(), InputConfig(chunk_seconds=4.0))
    out, sr = conv.convert(synth_speech(150.0, 20.0, 44100), 44100, emotion="sad", seed=3)
    assert sr == 44100 and len(out) == 20 * 44100
    assert len(seen) >= 5 and max(n for n, _ in seen) <= 4 * 16000 + 320 and {s for _, s in seen} == {3}


def test_api_values_raise_project_errors_never_type_errors(speech_wav):
    wav, sr = speech_wav
    conv = Converter.load()
    with pytest.raises(PromptError, match="intensity must be a number"):
        conv.convert(wav, sr, emotion="sad", intensity="high")
    with pytest.raises(PromptError, match="finite"):
        conv.convert(wav, sr, emotion="sad", intensity=float("nan"))
    with pytest.raises(PromptError, match="emotion must be text"):
        conv.control(emotion=3)
    with pytest.raises(ConfigError, match="seed"):
        conv.convert(wav, sr, emotion="sad", seed=2**80)
    with pytest.raises(ConfigError, match="seed"):
        conv.convert(wav, sr, emotion="sad", seed="7")
    with pytest.raises(AudioError, match="sample rate"):
        conv.convert(wav, "16k", emotion="sad")
    with pytest.raises(AudioError, match="real numbers"):
        conv.convert(["a"] * 8000, sr, emotion="sad")
    with pytest.raises(ConfigError, match="engine must be text"):
        Converter.load(engine=["prosody"])


def test_file_api_values_and_batches(tmp_path):
    src = write_speech(tmp_path / "in.wav", 1.0)
    conv = Converter.load()
    with pytest.raises(ConfigError, match="output must be a file path"):
        conv.convert_file(src, None, emotion="sad")
    with pytest.raises(PromptError, match="subtype must be text"):
        conv.convert_file(src, tmp_path / "o.wav", emotion="sad", subtype=16)
    with pytest.raises(ConfigError, match="expected a Job"):
        conv.convert_many(["in.wav"], emotion="sad")
    result = conv.convert_many([(src, tmp_path / "a.wav"), (src, tmp_path / "b.flac")], emotion="sad",
                               progress=False)
    assert result.ok and result.summary() == "converted 2, skipped 0 (exists), failed 0"
    again = conv.convert_many([(src, tmp_path / "a.wav")], emotion="sad", progress=False)
    assert len(again.skipped) == 1
