"""Training behaviour on synthetic speech: the model can overfit, and prompts control F0 and tempo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neural_corpus import TINY_CONFIG, make_fast_corpus


def _train(data, units, exp, encoder, steps: int, *extra: str, evaluator: str | None = None):
    from promptevc.train.acoustic import AcousticExperimentConfig, AcousticTask
    from promptevc.train.config import load_train_config
    from promptevc.train.loop import fit

    cfg = load_train_config(AcousticExperimentConfig, TINY_CONFIG, [
        f"model.descriptor.encoder={encoder}", f"train.max_steps={steps}", "train.save_every=100000", *extra])
    return fit(AcousticTask(cfg, data, units_dir=units, evaluator=evaluator), exp, device="cpu", progress=False)


@pytest.mark.slow
def test_overfit_halves_the_mel_loss(tmp_path, tiny_encoder_dir):
    """A handful of utterances, 250 steps on CPU: the mel L1 falls by at least half."""
    from promptevc.train.experiment import read_metrics

    torch.manual_seed(0)
    data, units = make_fast_corpus(tmp_path, utts_per_style=1, seconds=1.0, k=12)
    _train(data, units, tmp_path / "exp", tiny_encoder_dir, 250, "train.log_every=1")
    mel = [float(r["value"]) for r in read_metrics(tmp_path / "exp") if r["name"] == "mel" and r["split"] == "train"]
    first, last = sum(mel[:5]) / 5, sum(mel[-10:]) / 10
    assert last <= 0.5 * first, (first, last)


@pytest.mark.slow
def test_emotions_control_pitch_and_tempo(tmp_path, tiny_encoder_dir):
    """Happy speech is higher, sad speech slower by construction: after a short training, happy
    gives a higher mean F0 and sad a longer output than neutral from the same neutral source, for
    both speakers."""
    from promptevc.audio import load_audio
    from promptevc.engines.neural import NeuralEngine
    from promptevc.prompt.control import EmotionControl

    torch.manual_seed(0)
    data, units = make_fast_corpus(tmp_path, utts_per_style=3, seconds=1.2, k=12)
    release = _train(data, units, tmp_path / "exp", tiny_encoder_dir, 400, "train.log_every=50")
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    # Explicit emotions (--emotion E --intensity 0.9): the model's embedding of "very happy" / "very
    # sad" and one-hot mixtures; reading free prompts is tested with made-up words below.
    controls = [EmotionControl.from_label(e).with_overrides(emotion=e, intensity=x)
                for e, x in (("neutral", 0.0), ("happy", 0.9), ("sad", 0.9))]
    for spk in ("spk1", "spk2"):
        src = load_audio(tmp_path / "wavs" / f"{spk}_neutral_00.wav", engine.audio)
        analysis = engine.analyse(src)
        neutral, happy, sad = engine.synthesise([analysis] * 3, controls, seed=0, vocode=False)
        f0 = {name: float(r["f0_hz"][r["f0_hz"] > 0].mean()) for name, r in
              (("neutral", neutral), ("happy", happy), ("sad", sad))}
        frames = {name: r["mel"].shape[1] for name, r in (("neutral", neutral), ("happy", happy), ("sad", sad))}
        assert f0["happy"] > 1.05 * f0["neutral"], (spk, f0)
        assert frames["sad"] > 1.1 * frames["neutral"], (spk, frames)


# Made-up words the zero-shot parser cannot read: only a model that learned them can follow them.
MADE_UP = {"neutral": "plain", "happy": "blorf", "sad": "zindle"}


def _made_up_prompt(emotion: str, intensity: float, rng, split: str = "train") -> str:
    word = MADE_UP[emotion]
    return word if emotion == "neutral" else rng.choice([f"very {word}", f"{word}", f"so {word}"])


@pytest.mark.slow
def test_learned_control_follows_words_the_parser_cannot_read(tmp_path, tiny_encoder_dir, monkeypatch):
    """Trained on made-up emotion words ("blorf" = happy, "zindle" = sad), the model converts them in
    the learned direction (higher F0, slower) while the parser reads them as neutral, so
    ``--control parser`` does not; the learned path, not the parser, decides."""
    import promptevc.data.dataset as dataset
    from promptevc.audio import load_audio
    from promptevc.engines.neural import NeuralEngine
    from promptevc.prompt.control import EmotionControl
    from promptevc.prompt.parser import get_parser

    monkeypatch.setattr(dataset, "make_training_prompt", _made_up_prompt)
    torch.manual_seed(0)
    data, units = make_fast_corpus(tmp_path, utts_per_style=3, seconds=1.2, k=12)
    release = _train(data, units, tmp_path / "exp", tiny_encoder_dir, 400, "train.log_every=50")
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    parser = get_parser()
    prompts = ["plain", "very blorf", "very zindle"]
    assert all(parser.parse(p).emotion == "neutral" for p in prompts)
    controls = [parser.parse(p) for p in prompts]
    assert engine.reader.read("very blorf")[0].index(max(engine.reader.read("very blorf")[0])) == 2  # happy
    src = load_audio(tmp_path / "wavs" / "spk1_neutral_00.wav", engine.audio)
    analysis = engine.analyse(src)

    def measure():
        out = engine.synthesise([analysis] * 3, controls, seed=0, vocode=False)
        return ([float(r["f0_hz"][r["f0_hz"] > 0].mean()) for r in out], [r["mel"].shape[1] for r in out])

    (f_plain, f_blorf, _), (n_plain, _, n_zindle) = measure()
    assert f_blorf > 1.05 * f_plain, (f_plain, f_blorf)
    assert n_zindle > 1.1 * n_plain, (n_plain, n_zindle)
    engine.set_control_mode("parser")
    (p_plain, p_blorf, _), (m_plain, _, m_zindle) = measure()
    assert abs(p_blorf / p_plain - 1) < 0.03 and abs(m_zindle / m_plain - 1) < 0.05
    _ = EmotionControl  # the controls above are what `convert` hands the engine


@pytest.mark.slow
def test_reference_decides_without_a_prompt(tmp_path, tiny_encoder_dir):
    """--ref alone: an angry reference (louder, higher by construction) gives a louder, higher
    conversion of the same neutral source than a neutral reference; the reference is not ignored."""
    from promptevc.audio import load_audio
    from promptevc.engines.neural import NeuralEngine
    from promptevc.prompt.control import EmotionControl
    from promptevc.train.config import load_train_config
    from promptevc.train.evaluator import EvaluatorExperimentConfig, EvaluatorTask
    from promptevc.train.loop import fit

    torch.manual_seed(0)
    data, units = make_fast_corpus(tmp_path, utts_per_style=3, seconds=1.2, k=12, emotions=("neutral", "angry"))
    ev_cfg = load_train_config(EvaluatorExperimentConfig, TINY_CONFIG.parent / "evaluator_tiny.yaml",
                               ["train.max_steps=80"])
    evaluator = fit(EvaluatorTask(ev_cfg, data), tmp_path / "ev", device="cpu", progress=False)
    release = _train(data, units, tmp_path / "exp", tiny_encoder_dir, 400, "train.log_every=50",
                     "model.reference=evaluator", evaluator=str(evaluator))
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    wavs = tmp_path / "wavs"
    src = load_audio(wavs / "spk1_neutral_00.wav", engine.audio)
    # The --ref intensity is calibrated on the pseudo-labels, ranked within speaker x emotion:
    # the least intense of spk2's three angry takes is angry at intensity ~0 (neutral prosody, as
    # the model was trained), so the reference is the take the evaluator ranks most intense.
    angry = max((load_audio(wavs / f"spk2_angry_{i:02d}.wav", engine.audio) for i in range(3)),
                key=lambda w: engine.read_reference(w)["intensity"])
    refs = [load_audio(wavs / "spk2_neutral_01.wav", engine.audio), angry]
    readings = [engine.read_reference(r) for r in refs]
    assert readings[1]["probs"][1] > readings[0]["probs"][1] and readings[1]["intensity"] > 0.5
    assert readings[0]["intensity"] < 0.2
    ctrl = EmotionControl.from_label("neutral")  # no prompt, no --emotion: what `convert --ref` passes
    neutral, angry = engine.synthesise([engine.analyse(src)] * 2, [ctrl, ctrl], ref_wavs=refs, seed=0, vocode=False)
    f0 = [float(r["f0_hz"][r["f0_hz"] > 0].mean()) for r in (neutral, angry)]
    level = [float(np.median(r["energy_db"][r["f0_hz"] > 0])) for r in (neutral, angry)]
    assert f0[1] > 1.04 * f0[0], f0
    assert level[1] > level[0] + 2.0, level


def _cli_train(data, units, exp, encoder, *sets: str) -> list[str]:
    from neural_corpus import TINY_CONFIG

    return ["train", "--config", str(TINY_CONFIG), "--data", str(data), "--exp", str(exp), "--units", str(units),
            "--set", f"model.descriptor.encoder={encoder}", "--set", "train.batch_size=2", "--no-progress",
            "--device", "cpu", *[a for s in sets for a in ("--set", s)]]


def _release_weights(release) -> dict[str, torch.Tensor]:
    from promptevc.release import read_release

    return read_release(release, kind="acoustic").state_dict


def test_stopped_and_resumed_training_equals_one_run(corpus, tiny_encoder_dir, tmp_path):
    """Crops, prompts and the diffusion noise continue exactly after a resume (CPU, fixed seed)."""
    from promptevc.cli import main

    data, units = corpus
    assert main(_cli_train(data, units, tmp_path / "straight", tiny_encoder_dir, "train.max_steps=5")) == 0
    assert main(_cli_train(data, units, tmp_path / "resumed", tiny_encoder_dir, "train.max_steps=3")) == 0
    assert main(_cli_train(data, units, tmp_path / "resumed", tiny_encoder_dir, "train.max_steps=5")) == 0
    a, b = _release_weights(tmp_path / "straight" / "release"), _release_weights(tmp_path / "resumed" / "release")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_release_holds_what_inference_needs_only(corpus, tiny_encoder_dir, tmp_path):
    """config.yaml = audio + model (derived fields filled in), meta = labels and encoder ids; no training."""
    import json
    import shutil

    import yaml

    from promptevc.cli import main
    from promptevc.engines.neural import NeuralEngine
    from promptevc.errors import ModelLoadError

    data, units = corpus
    assert main(_cli_train(data, units, tmp_path / "exp", tiny_encoder_dir, "train.max_steps=1")) == 0
    release = tmp_path / "exp" / "release"
    config = yaml.safe_load((release / "config.yaml").read_text())
    assert set(config) == {"audio", "model"}
    assert config["model"]["content"]["num_units"] == 8 and config["model"]["speaker"]["in_dim"] == 256
    meta = json.loads((release / "meta.json").read_text())
    assert {"train", "loss", "data"}.isdisjoint(meta) and meta["emotions"][0] == "neutral"
    assert meta["text_encoder"] == str(tiny_encoder_dir) and "text_encoder_revision" in meta
    assert meta["speaker_backbone"] == "ge2e" and meta["speaker_revision"].startswith("resemblyzer==")
    # A release of an older promptevc (training settings inside) is refused with the fix.
    old = tmp_path / "old"
    shutil.copytree(release, old)
    (old / "config.yaml").write_text(yaml.safe_dump({**config, "train": {"max_steps": 1}}))
    with pytest.raises(ModelLoadError, match="older promptevc.*promptevc export"):
        NeuralEngine.load(str(old), vocoder="griffin-lim", device="cpu")


def test_two_process_ddp_matches_one_process_with_accumulation(corpus, tiny_encoder_dir, tmp_path, torchrun):
    """2 processes (gloo) x 1 batch per step = 1 process x 2 accumulated batches, within float tolerance."""
    from promptevc.cli import main
    from promptevc.train.experiment import read_metrics

    data, units = corpus
    torchrun(_cli_train(data, units, tmp_path / "ddp", tiny_encoder_dir, "train.max_steps=2", "train.log_every=1"))
    assert main(_cli_train(data, units, tmp_path / "one", tiny_encoder_dir, "train.max_steps=2",
                           "train.grad_accum_steps=2", "train.log_every=1")) == 0
    a, b = _release_weights(tmp_path / "ddp" / "release"), _release_weights(tmp_path / "one" / "release")
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4)
    keys = [(r["step"], r["split"], r["name"]) for r in read_metrics(tmp_path / "ddp")]
    assert len(keys) == len(set(keys)) and ("2", "train", "mel") in keys


def test_f0_tracker_of_the_features_is_recorded_and_used(corpus, tiny_encoder_dir, tmp_path, monkeypatch):
    """The release records the F0 tracker of its training features (meta.json f0_method) and the
    engine tracks the source with it; an unknown tracker in meta.json is refused."""
    import json
    import shutil

    import soundfile as sf
    import yaml

    import promptevc.features.prosody as prosody
    from promptevc.cli import main
    from promptevc.engines.neural import NeuralEngine
    from promptevc.errors import ModelLoadError
    from promptevc.prompt.control import EmotionControl

    data, units = corpus
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    settings = yaml.safe_load((copy / "feats_config.yaml").read_text())
    settings["f0_method"] = "harvest"  # as if dumped with --f0 harvest (the arrays do not matter here)
    (copy / "feats_config.yaml").write_text(yaml.safe_dump(settings))
    assert main(_cli_train(copy, units, tmp_path / "exp", tiny_encoder_dir, "train.max_steps=1")) == 0
    release = tmp_path / "exp" / "release"
    meta = json.loads((release / "meta.json").read_text())
    assert meta["f0_method"] == "harvest"

    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    assert engine.f0_method == "harvest"
    used, real = [], prosody.extract_f0
    monkeypatch.setattr(prosody, "extract_f0", lambda wav, audio=None, method="dio", **kw: (
        used.append(method), real(wav, audio, method="dio", **kw))[1])
    src = sorted((data.parent / "wavs").glob("*neutral*.wav"))[0]
    session = engine.start(EmotionControl.from_label("sad"), sample_rate=16000)
    session.observe(sf.read(src, dtype="float32")[0][:, None])
    session.convert(sf.read(src, dtype="float32")[0][:, None])  # pass 2 starts: pass 1's statistics are taken
    assert used and set(used) == {"harvest"}

    (release / "meta.json").write_text(json.dumps({**meta, "f0_method": "crepe"}))
    with pytest.raises(ModelLoadError, match="f0_method 'crepe'"):
        NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
