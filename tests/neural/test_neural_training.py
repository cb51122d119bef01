"""Training behaviour on synthetic speech: the model can overfit, and prompts control F0 and tempo."""

from __future__ import annotations

import pytest
import torch
from neural_corpus import TINY_CONFIG, make_fast_corpus


def _train(data, units, exp, encoder, steps: int, *extra: str):
    from promptevc.train.acoustic import AcousticExperimentConfig, AcousticTask
    from promptevc.train.config import load_train_config
    from promptevc.train.loop import fit

    cfg = load_train_config(AcousticExperimentConfig, TINY_CONFIG, [
        f"model.descriptor.encoder={encoder}", f"train.max_steps={steps}", "train.save_every=100000", *extra])
    return fit(AcousticTask(cfg, data, units_dir=units), exp, device="cpu", progress=False)


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
def test_prompts_control_pitch_and_tempo(tmp_path, tiny_encoder_dir):
    """Happy speech is higher, sad speech slower by construction: after a short training, "very
    happy" gives a higher mean F0 and "very sad" a longer output than "neutral" from the same
    neutral source, for both speakers."""
    from promptevc.audio import load_audio
    from promptevc.engines.neural import NeuralEngine
    from promptevc.prompt.control import EmotionControl

    torch.manual_seed(0)
    data, units = make_fast_corpus(tmp_path, utts_per_style=3, seconds=1.2, k=12)
    release = _train(data, units, tmp_path / "exp", tiny_encoder_dir, 400, "train.log_every=50")
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    controls = [EmotionControl.from_label("neutral", 0.0, prompt="neutral"),
                EmotionControl.from_label("happy", 0.9, prompt="very happy"),
                EmotionControl.from_label("sad", 0.9, prompt="very sad")]
    for spk in ("spk1", "spk2"):
        src = load_audio(tmp_path / "wavs" / f"{spk}_neutral_00.wav", engine.audio)
        analysis = engine.analyse(src)
        neutral, happy, sad = engine.synthesise([analysis] * 3, controls, seed=0, vocode=False)
        f0 = {name: float(r["f0_hz"][r["f0_hz"] > 0].mean()) for name, r in
              (("neutral", neutral), ("happy", happy), ("sad", sad))}
        frames = {name: r["mel"].shape[1] for name, r in (("neutral", neutral), ("happy", happy), ("sad", sad))}
        assert f0["happy"] > 1.05 * f0["neutral"], (spk, f0)
        assert frames["sad"] > 1.1 * frames["neutral"], (spk, frames)


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
