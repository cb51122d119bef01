"""Who decides at inference (issue 11 items 1-3): the override rule, the model's own reading, --ref,
the session contract with streaming speaker statistics, and the speaker F0 head as a prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from neural_corpus import make_random_release

from promptevc.errors import PromptError
from promptevc.prompt.control import EMOTIONS, EmotionControl

SAD = [float(e == "sad") for e in EMOTIONS]


def _reader(probs_by_prompt: dict[str, tuple[str, float]]):
    """A fake model reading: prompt -> (one-hot probs of an emotion, intensity)."""
    def read(prompt: str):
        emotion, intensity = probs_by_prompt[prompt]
        return [float(e == emotion) for e in EMOTIONS], intensity
    return read


def _parsed(prompt: str, emotion: str = "angry", intensity: float = 0.4) -> EmotionControl:
    """What the zero-shot parser might have said (deliberately not what the model reads)."""
    return EmotionControl.from_label(emotion, intensity, prompt=prompt)


def test_rule_learned_reading_decides_and_overrides_never_contradict():
    from promptevc.engines.neural import resolve_control

    read = _reader({"very happy": ("happy", 0.9), "blorf": ("sad", 0.2)})
    # prompt only: the model's mixture and intensity, whatever the parser read; embedding = e_pm of the prompt
    c = resolve_control(_parsed("blorf"), read_prompt=read)
    assert c.probs == SAD and c.intensity == 0.2 and (c.embed, c.text) == ("prompt", "blorf")
    # --intensity replaces only the intensity
    c = resolve_control(_parsed("blorf").with_overrides(intensity=0.7), read_prompt=read)
    assert c.probs == SAD and c.intensity == 0.7 and c.embed == "prompt"
    # --emotion replaces the emotion everywhere: mixture AND embedding; the prompt keeps its degree
    c = resolve_control(_parsed("very happy").with_overrides(emotion="sad"), read_prompt=read)
    assert c.probs == SAD and c.intensity == 0.9 and (c.embed, c.text) == ("phrase", "very sad")
    c = resolve_control(_parsed("very happy").with_overrides(emotion="sad", intensity=0.1), read_prompt=read)
    assert (c.intensity, c.text) == (0.1, "slightly sad")
    # --emotion alone (no prompt): explicit values, canonical phrase
    c = resolve_control(EmotionControl.from_label("angry", 0.5).with_overrides(emotion="angry"), read_prompt=read)
    assert c.text == "angry" and c.probs[EMOTIONS.index("angry")] == 1.0
    # --control parser: the parser's values, embedding of the parser's top emotion
    c = resolve_control(_parsed("very happy", "angry", 0.8), mode="parser", read_prompt=read)
    assert c.probs[EMOTIONS.index("angry")] == 1.0 and (c.intensity, c.text) == (0.8, "very angry")
    # --ref: the reference decides; a prompt or --emotion with it is refused
    c = resolve_control(EmotionControl.from_label("neutral").with_overrides(intensity=0.3), has_ref=True)
    assert c.embed == "reference" and c.intensity == 0.3
    with pytest.raises(PromptError, match="--ref"):
        resolve_control(_parsed("very happy"), has_ref=True, read_prompt=read)
    with pytest.raises(PromptError, match="--emotion"):
        resolve_control(EmotionControl.from_label("sad").with_overrides(emotion="sad"), has_ref=True)


@pytest.fixture
def random_engine(tiny_cfg, tiny_text_encoder, tmp_path):
    from promptevc.engines.neural import NeuralEngine

    release, _ = make_random_release(tiny_cfg("model.speaker.in_dim=256"), tiny_text_encoder, tmp_path)
    return NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")


def test_engine_conditions_on_the_model_not_the_parser(random_engine):
    engine = random_engine
    probs, intensity = engine.reader.read("very happy")
    cond, emb = engine.plan(_parsed("very happy"), seed=3)
    assert cond.probs == pytest.approx(probs) and cond.intensity == pytest.approx(intensity)
    assert cond.probs != pytest.approx(_parsed("very happy").vector())
    assert torch.equal(emb, engine.reader.embed("very happy", 3))
    # "very happy" + --emotion sad: the embedding is the model's "very sad" (never "very happy")
    cond, emb = engine.plan(_parsed("very happy").with_overrides(emotion="sad", intensity=0.8), seed=3)
    assert cond.probs == SAD and torch.equal(emb, engine.reader.embed("very sad", 3))
    assert not torch.equal(emb, engine.reader.embed("very happy", 3))
    engine.set_control_mode("parser")
    cond, _ = engine.plan(_parsed("very happy", "angry", 0.8))
    assert cond.probs == _parsed("very happy", "angry", 0.8).vector()


def test_session_observes_in_blocks_and_converts_chunks(random_engine, monkeypatch):
    import promptevc.engines.neural as N
    from promptevc.utils.synth import synth_speech

    monkeypatch.setattr(N, "ANALYSIS_WINDOW_SECONDS", 1.0)  # several windows on a short input
    engine = random_engine
    wav = synth_speech(f0_hz=130.0, seconds=2.5, seed=2)
    control = EmotionControl.from_label("happy", 0.7)
    whole = engine.start(control, sample_rate=16000)
    assert whole.needs_analysis and not whole.identity
    whole.observe(wav[:, None])
    blocks = engine.start(control, sample_rate=16000)
    for lo in range(0, len(wav), 7000):  # block size unrelated to the analysis window
        blocks.observe(wav[lo:lo + 7000, None])
    a, b = whole._analysis.finish(), blocks._analysis.finish()
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    assert abs(np.exp(a[1][0]) / 130.0 - 1) < 0.1  # the source's own F0 level
    out = blocks.convert(wav[:16000, None])
    assert out.ndim == 2 and out.shape[1] == 1 and out.dtype == np.float32 and np.isfinite(out).all()
    with pytest.raises(RuntimeError, match="observe"):
        blocks.observe(wav[:100, None])
    # the whole-array shortcut goes through the same session
    y = engine.convert(wav, control, seed=0)
    assert y.ndim == 1 and len(y) > 0.3 * 16000


def test_speaker_f0_head_is_the_prior_of_the_statistics(random_engine):
    from promptevc.models.speaker import shrink_to_prior

    observed = np.array([np.log(200.0), 0.2, -25.0], np.float32)
    prior = np.array([np.log(100.0), 0.1], np.float32)
    assert shrink_to_prior(observed, 0, prior, 50)[:2] == pytest.approx(prior)
    assert shrink_to_prior(observed, 50, prior, 50)[0] == pytest.approx(np.log(200.0) / 2 + np.log(100.0) / 2)
    assert shrink_to_prior(observed, 10_000, prior, 50)[0] == pytest.approx(np.log(200.0), abs=0.005)
    assert shrink_to_prior(observed, 10, prior, 50)[2] == -25.0
    # in the engine, the trained head's prediction is what fills in for missing voicing
    engine = random_engine
    spk = np.ones(256, np.float32) / 16.0
    few = engine.speaker_statistics(observed, 5, spk)
    with torch.no_grad():
        engine.model.speaker.f0_head[-1].bias[0] += 1.0  # head predicts e^1 x higher F0
    moved = engine.speaker_statistics(observed, 5, spk)
    assert moved[0] - few[0] == pytest.approx(1.0 * 50 / 55, abs=1e-4)
    assert engine.speaker_statistics(observed, 100_000, spk)[0] == pytest.approx(observed[0], abs=1e-3)


def test_reference_intensity_follows_the_pseudo_label_definition():
    from promptevc.models.intensity import ReferenceIntensity, projection_score

    rng = np.random.default_rng(0)
    n_emb = torch.from_numpy(rng.normal(0, 0.1, (40, 4))).float()
    n_emb[:, 0] = 0.0  # noise orthogonal to the neutral -> angry direction: scores follow `strength` exactly
    direction = torch.tensor([1.0, 0.0, 0.0, 0.0])
    strength = torch.linspace(0.5, 2.0, 40)
    a_emb = n_emb + strength[:, None] * direction
    emb = torch.cat([n_emb, a_emb])
    labels = torch.tensor([0] * 40 + [1] * 40)
    cal = ReferenceIntensity.fit(emb, labels, n_emotions=5)
    values = [cal(e, 1) for e in a_emb]
    assert values == sorted(values) and values[0] < 0.1 and values[-1] > 0.9  # its rank among training utterances
    assert cal(a_emb[20], 0) == 0.0 and cal(a_emb[20], 3) == 0.5  # neutral; emotion never seen
    s = projection_score(a_emb[:2], cal.neutral, cal.centroids[1])
    assert s[1] > s[0]
    again = ReferenceIntensity.from_tensors(cal.state_tensors())
    assert again(a_emb[7], 1) == cal(a_emb[7], 1)
    with pytest.raises(ValueError, match="exactly"):
        ReferenceIntensity.from_tensors({"neutral": cal.neutral})


def test_describe_prints_the_models_reading(tiny_cfg, tiny_text_encoder, tmp_path, capsys):
    from promptevc.cli import main
    from promptevc.engines.neural import PromptReader, load_acoustic

    release, _ = make_random_release(tiny_cfg(), tiny_text_encoder, tmp_path)
    probs, intensity = PromptReader(load_acoustic(str(release))[0]).read("very happy")
    assert main(["describe", "very happy", "--model", str(release), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["emotion"] == "happy"  # the parser's reading stays as it was
    assert out["model"]["probs"] == {e: round(p, 4) for e, p in zip(EMOTIONS, probs, strict=True)}
    assert out["model"]["intensity"] == round(intensity, 4)
    assert main(["describe", "very happy", "--model", str(release), "--emotion", "sad"]) == 0
    text = capsys.readouterr().out
    from promptevc.engines.neural import canonical_phrase

    # --emotion sad with this prompt: the model's own degree of "very happy", rendered as sad
    assert "model reads:" in text and f"conditioned: sad, intensity {intensity:.2f}" in text
    assert f"e_pm of {canonical_phrase('sad', intensity)!r}" in text


def test_convert_options_of_the_neural_engine(speech_file, tmp_path, capsys):
    from promptevc.cli import main

    out = tmp_path / "o.wav"
    assert main(["convert", str(speech_file), "-o", str(out), "--prompt", "sad", "--control", "parser"]) == 2
    assert "--engine neural" in capsys.readouterr().err and not out.exists()


def test_text_encoder_leaves_memory_after_the_prompt_and_comes_back(random_engine):
    engine = random_engine
    before = engine.model.descriptor(["very sad"])["e_txt"]
    engine.start(EmotionControl.from_label("happy", prompt="very happy"), sample_rate=16000)
    assert engine.model.descriptor._frozen_encoder is None  # released once the prompt was read
    assert engine.reader.read("very happy")  # cached: no reload needed
    assert engine.model.descriptor._frozen_encoder is None
    again = engine.model.descriptor(["very sad"])["e_txt"]  # cached features, no reload either
    assert torch.equal(before, again)
    engine.model.descriptor._cache.clear()
    fresh = engine.model.descriptor(["very sad"])["e_txt"]  # a new prompt: reloaded from cfg.encoder
    assert engine.model.descriptor._frozen_encoder is not None
    torch.testing.assert_close(before, fresh)


def test_prompt_mapper_projection_is_the_ablation_head(random_engine, tiny_cfg, tiny_text_encoder, tmp_path,
                                                       speech_file, capsys):
    """--prompt-mapper projection: e_pm is the release's linear e_txt -> e_ref head (deterministic),
    not a diffusion sample; a release trained without the head refuses it in one line."""
    from promptevc.cli import main
    from promptevc.engines.neural import NeuralEngine
    from promptevc.errors import ConfigError
    from promptevc.release import read_release

    engine = random_engine
    sampled = engine.reader.embed("very happy", 3)
    engine.set_prompt_mapper("projection")
    projected = engine.reader.embed("very happy", 3)
    assert not torch.allclose(projected, sampled)
    assert torch.equal(projected, engine.reader.embed("very happy", 99))  # no sampling: the seed does not matter
    with torch.no_grad():
        e_txt = engine.model.descriptor(["very happy"])["e_txt"]
        torch.testing.assert_close(projected, engine.model.prompt_mapper.projection(e_txt)[0])
    _, emb = engine.plan(_parsed("very happy"), seed=3)
    assert torch.equal(emb, projected)  # what conditions the conversion
    engine.set_prompt_mapper("diffusion")
    assert torch.equal(engine.reader.embed("very happy", 3), sampled)
    with pytest.raises(ConfigError, match="choose"):
        engine.set_prompt_mapper("linear")

    release, _ = make_random_release(tiny_cfg("model.speaker.in_dim=256", "model.prompt_mapper.projection=false"),
                                     tiny_text_encoder, tmp_path / "plain")
    assert not any(".projection." in k for k in read_release(release, kind="acoustic").state_dict)
    plain = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    with pytest.raises(ConfigError, match="without the projection head"):
        plain.set_prompt_mapper("projection")
    out = tmp_path / "o.wav"
    args = ["convert", str(speech_file), "-o", str(out), "--prompt", "sad", "--prompt-mapper", "projection"]
    assert main([*args, "--engine", "neural", "--model", str(release), "--vocoder", "griffin-lim"]) == 2
    assert "without the projection head" in capsys.readouterr().err and not out.exists()
    assert main(args) == 2  # the prosody engine has no prompt mapper
    assert "--engine neural" in capsys.readouterr().err and not out.exists()
