"""Releases of the acoustic model, the neural engine, and the CLI train -> export -> convert path."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from neural_corpus import make_random_release

from promptevc.errors import ConfigError, ModelLoadError


def test_release_roundtrip_is_exact_and_strict(tiny_cfg, tiny_text_encoder, tmp_path, speech_wav):
    from promptevc.engines.neural import NeuralEngine
    from promptevc.prompt.control import EmotionControl
    from promptevc.release import read_release, write_release

    cfg = tiny_cfg("model.speaker.in_dim=256")  # GE2E size: the engine embeds real audio
    release, model = make_random_release(cfg, tiny_text_encoder, tmp_path)
    meta = json.loads((release / "meta.json").read_text())
    assert meta["kind"] == "acoustic" and meta["step"] == 7 and meta["emotions"][0] == "neutral"
    assert meta["audio"]["n_mels"] == 80 and meta["content"]["k"] == 12
    assert meta["vocoder"] == "microsoft/speecht5_hifigan" and meta["text_encoder"] == cfg.model.descriptor.encoder

    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    assert engine.name == "neural" and engine.audio == cfg.audio
    units = torch.randint(0, 12, (1, 9))
    args = (units, torch.tensor([9]), torch.randn(1, 256), torch.tensor([[5.0, 0.2, -20.0]]),
            torch.eye(5)[[2]], torch.tensor([0.7]), torch.randn(1, cfg.model.ref_dim))
    a, b = model.infer(*args), engine.model.infer(*args)
    assert torch.equal(a["mel"], b["mel"]) and torch.equal(a["durations"], b["durations"])
    e1 = model.embed_prompts(["very happy"], generator=torch.Generator().manual_seed(3))["e_pm"]
    e2 = engine.model.embed_prompts(["very happy"], generator=torch.Generator().manual_seed(3))["e_pm"]
    assert torch.equal(e1, e2)

    wav, _ = speech_wav
    ctrl = EmotionControl.from_label("happy", 0.8, prompt="very happy")
    out1 = engine.convert(wav, ctrl, seed=1)
    out2 = engine.convert(wav, ctrl, seed=1)
    assert out1.dtype == np.float32 and np.isfinite(out1).all() and np.abs(out1).max() <= 1.0
    np.testing.assert_array_equal(out1, out2)  # seeded -> reproducible
    # intensity 0 is the neutral rendering, whatever the prompt or emotion
    analysis = engine.analyse(wav)
    zero = engine.synthesise([analysis] * 3, [EmotionControl.from_label("neutral", prompt=p).with_overrides(intensity=0.0)
                                              for p in ("neutral", "very happy", "extremely sad")], vocode=False)
    np.testing.assert_allclose(zero[1]["mel"], zero[0]["mel"], atol=1e-5)
    np.testing.assert_allclose(zero[2]["mel"], zero[0]["mel"], atol=1e-5)

    # strict: a missing weight is an error naming it
    rel = read_release(release, kind="acoustic")
    state = dict(rel.state_dict)
    dropped = next(k for k in state if k.startswith("model.decoder."))
    del state[dropped]
    write_release(tmp_path / "broken", kind="acoustic", config=rel.config, tensors=state, meta=rel.meta)
    with pytest.raises(ModelLoadError, match="missing 1 key"):
        NeuralEngine.load(str(tmp_path / "broken"), vocoder="griffin-lim", device="cpu")

    # a release from before the prompt-mapper ablation head (no config key, no weights) still loads
    old_config = copy.deepcopy(rel.config)
    del old_config["model"]["prompt_mapper"]["projection"]
    old_state = {k: v for k, v in rel.state_dict.items() if ".prompt_mapper.projection." not in k}
    assert len(old_state) < len(rel.state_dict)
    write_release(tmp_path / "old", kind="acoustic", config=old_config, tensors=old_state, meta=rel.meta)
    old = NeuralEngine.load(str(tmp_path / "old"), vocoder="griffin-lim", device="cpu")
    assert old.model.prompt_mapper.projection is None
    with pytest.raises(ConfigError, match="without the projection head"):
        old.set_prompt_mapper("projection")


def test_engine_errors_are_one_line(tiny_cfg, tiny_text_encoder, tmp_path, speech_wav):
    from promptevc.config import AudioConfig
    from promptevc.engines.neural import NeuralEngine
    from promptevc.models.vocoder.hifigan import HiFiGANConfig, HiFiGANGenerator
    from promptevc.models.vocoder.registry import write_vocoder_release
    from promptevc.prompt.control import EmotionControl

    release, _ = make_random_release(tiny_cfg("audio.n_mels=40"), tiny_text_encoder, tmp_path / "a")
    vocoder = write_vocoder_release(tmp_path / "voc80", HiFiGANGenerator(HiFiGANConfig(
        resblock="2", upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8], upsample_initial_channel=8,
        resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 2]]), n_mels=80), AudioConfig())
    with pytest.raises(ModelLoadError, match="n_mels 40 vs 80"):  # vocoder's AudioConfig differs
        NeuralEngine.load(str(release), vocoder=str(vocoder), device="cpu")
    # Griffin-Lim has no weights: it follows the release's AudioConfig
    assert NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu").vocoder.audio_config.n_mels == 40
    release, _ = make_random_release(tiny_cfg("model.speaker.in_dim=256"), tiny_text_encoder, tmp_path / "b")
    with pytest.raises(ModelLoadError, match="no usable vocoder.*griffin-lim"):
        NeuralEngine.load(str(release), vocoder=str(tmp_path / "no-such-vocoder"), device="cpu")
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    with pytest.raises(ModelLoadError, match="no emotion evaluator"):
        engine.convert(speech_wav[0], EmotionControl.from_label("sad"), ref_wav=speech_wav[0])


def test_train_export_convert_through_cli(corpus, tiny_encoder_dir, tmp_path):
    """2 steps of `promptevc train`, resume to step 3, `promptevc export`, `promptevc convert`."""
    from neural_corpus import TINY_CONFIG

    from promptevc.cli import main
    from promptevc.train.checkpoint import latest_checkpoint
    from promptevc.train.experiment import read_metrics

    data, units = corpus
    exp = tmp_path / "exp"
    common = ["train", "--config", str(TINY_CONFIG), "--data", str(data), "--valid-data", str(data), "--exp", str(exp),
              "--units", str(units), "--set", f"model.descriptor.encoder={tiny_encoder_dir}", "--set",
              "train.log_every=1", "--set", "train.valid_every=2", "--no-progress", "--device", "cpu"]
    assert main([*common, "--set", "train.max_steps=2"]) == 0
    assert latest_checkpoint(exp).name == "step_00000002.pt"
    assert (exp / "release" / "model.safetensors").is_file()
    for name in ("config.yaml", "command.txt", "git_commit.txt", "experiment.json", "units/kmeans.safetensors"):
        assert (exp / name).is_file(), name
    assert main([*common, "--set", "train.max_steps=3"]) == 0  # resumes: one more step only
    steps = sorted({int(r["step"]) for r in read_metrics(exp) if r["split"] == "train"})
    assert steps == [1, 2, 3]
    assert any(r["split"] == "valid" for r in read_metrics(exp))

    release = tmp_path / "release"
    assert main(["export", "--exp", str(exp), "--out", str(release)]) == 0
    assert json.loads((release / "meta.json").read_text())["step"] == 3
    src = sorted((data.parent / "wavs").glob("*neutral*.wav"))[0]
    out = tmp_path / "out.wav"
    assert main(["convert", str(src), "--engine", "neural", "--model", str(release), "--vocoder", "griffin-lim",
                 "--prompt", "very happy", "-o", str(out), "--seed", "0"]) == 0
    wav, sr = sf.read(out)
    assert sr == 16000 and len(wav) > 0.3 * sr and np.isfinite(wav).all() and np.abs(wav).max() > 1e-4


def test_train_rejects_bad_inputs(corpus, tiny_encoder_dir, tmp_path, capsys):
    from neural_corpus import TINY_CONFIG

    from promptevc.cli import main

    data, units = corpus
    base = ["train", "--config", str(TINY_CONFIG), "--exp", str(tmp_path / "exp"), "--no-progress"]
    assert main([*base, "--data", str(tmp_path)]) == 2  # not a dumped data dir
    assert "feats.scp" in capsys.readouterr().err
    assert main([*base, "--data", str(data), "--set", "model.reference=evaluator"]) == 2
    assert "--evaluator" in capsys.readouterr().err
    assert main([*base, "--data", str(data), "--set", "model.nope=1"]) == 2
    assert "model.nope" in capsys.readouterr().err


def test_evaluator_references_and_ref_conversion(corpus, tiny_encoder_dir, tmp_path):
    """--evaluator: e_ref = evaluator embedding (ref_dim follows it), emotion loss, evaluator kept in
    the release, and `convert --ref` takes the emotion from a reference recording."""
    from neural_corpus import TINY_CONFIG

    from promptevc.cli import main
    from promptevc.config import AudioConfig, load_yaml, to_dict
    from promptevc.models.evaluator import EmotionEvaluator, EvaluatorConfig
    from promptevc.release import write_release
    from promptevc.train.acoustic import AcousticExperimentConfig
    from promptevc.train.experiment import read_metrics

    ev_cfg = EvaluatorConfig(channels=8, n_blocks=1, attention_dim=4, embed_dim=6, dropout=0.0)
    evaluator = EmotionEvaluator.from_config(ev_cfg, 80)
    ev_release = write_release(tmp_path / "evaluator", kind="evaluator",
                               config={"model": to_dict(ev_cfg), "audio": to_dict(AudioConfig())},
                               tensors=evaluator.state_dict())
    data, units = corpus
    exp = tmp_path / "exp"
    assert main(["train", "--config", str(TINY_CONFIG), "--data", str(data), "--exp", str(exp), "--units", str(units),
                 "--evaluator", str(ev_release), "--set", "model.reference=evaluator", "--set",
                 f"model.descriptor.encoder={tiny_encoder_dir}", "--set", "train.max_steps=2", "--set",
                 "train.log_every=1", "--no-progress"]) == 0
    assert load_yaml(AcousticExperimentConfig, exp / "config.yaml").model.ref_dim == 6
    assert any(r["name"] == "emotion" for r in read_metrics(exp))
    release = exp / "release"
    assert (release / "evaluator" / "model.safetensors").is_file()
    wavs = sorted((data.parent / "wavs").glob("*.wav"))
    # reference.*: the --ref intensity calibration, fitted on the evaluator's embeddings of the
    # training utterances and their emotion labels
    from promptevc.data.dataset import AcousticDataset
    from promptevc.engines.neural import NeuralEngine
    from promptevc.models.intensity import ReferenceIntensity
    from promptevc.release import read_release
    from promptevc.train.acoustic import compute_references

    state = read_release(release, kind="acoustic").state_dict
    assert {k for k in state if k.startswith("reference.")} == {"reference.neutral", "reference.centroids",
                                                                "reference.quantiles"}
    train_set = AcousticDataset(data)
    raw = compute_references(evaluator.eval(), train_set, torch.device("cpu"))
    labels = torch.tensor([train_set.emotion[u] for u in train_set.utts])
    expected = ReferenceIntensity.fit(torch.from_numpy(np.stack([raw[u] for u in train_set.utts])), labels, 5)
    for name, value in expected.state_tensors().items():
        torch.testing.assert_close(state[f"reference.{name}"], value)
    engine = NeuralEngine.load(str(release), vocoder="griffin-lim", device="cpu")
    ref = sf.read(wavs[-1], dtype="float32")[0]
    calibrated = engine.read_reference(ref)
    engine.reference_intensity = None  # without the calibration: 1 - p(neutral)
    uncalibrated = engine.read_reference(ref)
    assert calibrated["intensity"] != pytest.approx(uncalibrated["intensity"])
    out = tmp_path / "ref.wav"
    base = ["convert", str(wavs[0]), "--engine", "neural", "--model", str(release), "--vocoder", "griffin-lim",
            "--ref", str(wavs[-1]), "-o", str(out)]
    assert main(base) == 0  # --ref alone: the emotion comes from the reference
    wav, _ = sf.read(out)
    assert np.isfinite(wav).all() and len(wav) > 1000
    out.unlink()
    assert main([*base, "--prompt", "happy"]) == 2  # two sources of emotion: refused, nothing written
    assert not out.exists()


def test_release_pins_the_text_encoder_revision(tiny_cfg, tiny_text_encoder, tmp_path, monkeypatch):
    """A release trained on a hub text encoder loads it at the commit it recorded (meta.json
    text_encoder_revision), also when the frozen encoder is loaded again after a release; a pin
    that is not text is refused."""
    import yaml

    import promptevc.models.descriptor as descriptor
    import promptevc.models.evc as evc
    from promptevc.engines.neural import NeuralEngine
    from promptevc.release import read_release, write_release

    release, _ = make_random_release(tiny_cfg("model.speaker.in_dim=256"), tiny_text_encoder, tmp_path)
    rel = read_release(release, kind="acoustic")
    config = yaml.safe_load((release / "config.yaml").read_text())
    config["model"]["descriptor"]["encoder"] = "acme/tiny-encoder"  # a hub id (never fetched: patched below)
    pin = "0123456789abcdef0123456789abcdef01234567"
    hub = write_release(tmp_path / "hub", kind="acoustic", config=config, tensors=dict(rel.state_dict),
                        meta={**rel.meta, "text_encoder": "acme/tiny-encoder", "text_encoder_revision": pin})
    asked = []

    def fake_load(encoder, revision=None):
        asked.append((encoder, revision))
        return tiny_text_encoder

    monkeypatch.setattr(evc, "load_text_encoder", fake_load)
    monkeypatch.setattr(descriptor, "load_text_encoder", fake_load)
    engine = NeuralEngine.load(str(hub), vocoder="griffin-lim", device="cpu")
    assert asked == [("acme/tiny-encoder", pin)]
    assert engine.model.descriptor.release_encoder()
    engine.reader.read("very sad")  # a new prompt: the frozen encoder comes back, at the same commit
    assert asked[-1] == ("acme/tiny-encoder", pin) and len(asked) == 2

    bad = write_release(tmp_path / "bad", kind="acoustic", config=config, tensors=dict(rel.state_dict),
                        meta={**rel.meta, "text_encoder_revision": 12})
    with pytest.raises(ModelLoadError, match="text_encoder_revision"):
        NeuralEngine.load(str(bad), vocoder="griffin-lim", device="cpu")
