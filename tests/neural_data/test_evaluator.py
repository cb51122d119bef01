"""Emotion evaluator: model shapes and masking, training through the CLI, release round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from promptevc.cli import main
from promptevc.config import AudioConfig, to_dict
from promptevc.errors import ModelLoadError
from promptevc.models.evaluator import EmotionEvaluator, EvaluatorConfig, load_evaluator
from promptevc.release import write_release
from promptevc.train.checkpoint import list_checkpoints
from promptevc.train.experiment import read_metrics

TINY = EvaluatorConfig(channels=8, n_blocks=2, kernel_size=5, attention_dim=4, embed_dim=6, dropout=0.0)


def _model(av: bool = False) -> EmotionEvaluator:
    torch.manual_seed(0)
    m = EmotionEvaluator.from_config(EvaluatorConfig(**{**TINY.__dict__, "arousal_valence": av}), n_mels=12)
    m.set_input_stats(torch.full((12,), -3.0), torch.full((12,), 2.0))
    return m.eval()


def test_shapes_finite_and_padding_invariance():
    m = _model(av=True)
    g = torch.Generator().manual_seed(1)
    lens = torch.tensor([37, 20, 5])
    mel = torch.randn(3, 12, 37, generator=g) - 3
    mel[1, :, 20:] = 100.0  # garbage in padding must not matter
    mel[2, :, 5:] = -50.0
    out = m(mel, lens)
    assert out["logits"].shape == (3, 5) and out["embedding"].shape == (3, 6) and m.embed_dim == 6
    assert out["arousal_valence"].shape == (3, 2) and out["arousal_valence"].abs().max() <= 1
    assert all(torch.isfinite(v).all() for v in out.values())
    for i, n in enumerate(lens.tolist()):
        alone = m(mel[i : i + 1, :, :n], lens[i : i + 1])
        torch.testing.assert_close(alone["logits"], out["logits"][i : i + 1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(alone["embedding"], out["embedding"][i : i + 1], atol=1e-5, rtol=1e-5)
    probs = m.predict_proba(mel, lens)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    # Without lengths = every frame real.
    torch.testing.assert_close(m(mel[:1])["logits"], m(mel[:1], torch.tensor([37]))["logits"])


def test_gradient_reaches_mel_in_eval_mode():
    m = _model().requires_grad_(False)
    mel = (torch.randn(2, 12, 16) - 3).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(m(mel, torch.tensor([16, 9]))["logits"], torch.tensor([1, 2]))
    loss.backward()
    assert mel.grad is not None and mel.grad.abs().sum() > 0
    assert mel.grad[1, :, 9:].abs().sum() == 0  # padding gets no gradient


def test_release_roundtrip_strict(tmp_path):
    m = _model()
    audio = AudioConfig(n_mels=12)
    config = {"model": to_dict(TINY), "audio": to_dict(audio)}
    write_release(tmp_path / "rel", kind="evaluator", config=config, tensors=m.state_dict(), meta={})
    again = load_evaluator(str(tmp_path / "rel"))
    assert not again.training and not any(p.requires_grad for p in again.parameters())
    assert again.audio == audio
    mel, lens = torch.randn(2, 12, 30) - 3, torch.tensor([30, 17])
    assert torch.equal(m(mel, lens)["logits"], again(mel, lens)["logits"])
    state = dict(m.state_dict())
    state.pop("classifier.bias")
    write_release(tmp_path / "bad", kind="evaluator", config=config, tensors=state, meta={})
    with pytest.raises(ModelLoadError, match="missing 1 key"):
        load_evaluator(str(tmp_path / "bad"))
    write_release(tmp_path / "voc", kind="vocoder", config=config, tensors=m.state_dict(), meta={})
    with pytest.raises(ModelLoadError, match="expected a 'evaluator' release"):
        load_evaluator(str(tmp_path / "voc"))


def test_trained_evaluator_beats_chance(trained_evaluator, mel_corpus):
    rows = read_metrics(trained_evaluator)
    valid = [r for r in rows if r["split"] == "valid" and r["name"] == "accuracy"]
    assert valid and float(valid[-1]["value"]) >= 0.5  # chance is 0.2 (30 utterances)
    losses = [float(r["value"]) for r in rows if r["split"] == "train" and r["name"] == "loss"]
    assert losses[-1] < losses[0]
    for name in ("confusion_matrix.png", "confusion_matrix.json", "config.yaml", "experiment.json"):
        assert (trained_evaluator / name).is_file()
    confusion = np.array(json.loads((trained_evaluator / "confusion_matrix.json").read_text())["rows_true_cols_predicted"])
    assert confusion.sum() == 30
    # The release loads and gives the same class decisions as the confusion matrix says.
    ev = load_evaluator(str(trained_evaluator / "release"))
    meta = json.loads((trained_evaluator / "release" / "meta.json").read_text())
    assert meta["kind"] == "evaluator" and meta["labels"][0] == "neutral" and meta["step"] == 60
    from promptevc.data.mel_dataset import MelDataset
    from promptevc.train.evaluator import evaluate

    res = evaluate(ev, MelDataset(mel_corpus["valid"]), torch.device("cpu"))
    assert np.array_equal(res["confusion"], confusion)


def test_export_and_resume(trained_evaluator, tmp_path, mel_corpus, capsys):
    # export through the lead's dispatcher gives the same weights as EXP/release
    assert main(["export", "--exp", str(trained_evaluator), "--out", str(tmp_path / "rel")]) == 0
    a, b = load_evaluator(str(tmp_path / "rel")), load_evaluator(str(trained_evaluator / "release"))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    # Resume: a copy of the experiment trained 10 more steps continues from step 60.
    import shutil

    exp = tmp_path / "exp"
    shutil.copytree(trained_evaluator, exp)
    assert main(["train-evaluator", "--config", "tiny", "--data", str(mel_corpus["train"]), "--exp", str(exp),
                 "--set", "train.max_steps=70", "--set", "train.save_every=10", "--no-progress"]) == 0
    steps = [int(p.stem.split("_")[1]) for p in list_checkpoints(exp)]
    assert max(steps) == 70
    rows = [r for r in read_metrics(exp) if r["split"] == "train" and r["name"] == "loss"]
    assert [int(r["step"]) for r in rows][-2:] == [60, 70]


def test_train_evaluator_bad_inputs(tmp_path, capsys, mel_corpus):
    assert main(["train-evaluator", "--config", "tiny", "--data", str(tmp_path / "none"), "--exp", str(tmp_path / "e")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["train-evaluator", "--config", "tiny", "--data", str(mel_corpus["train"]), "--exp", str(tmp_path / "e"),
                 "--set", "model.chanels=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.chanels" in err[0]
    (tmp_path / "d").mkdir()
    assert main(["train-evaluator", "--config", "tiny", "--data", str(tmp_path / "d"), "--exp", str(tmp_path / "e")]) == 2
    assert "no feats.scp" in capsys.readouterr().err
    assert main(["export", "--exp", str(tmp_path / "e"), "--out", str(tmp_path / "r")]) == 2


@pytest.mark.parametrize("name,params", [("tiny", (1_000, 20_000)), ("base", (1_000_000, 5_000_000))])
def test_packaged_configs_build(name, params):
    from promptevc.train.config import load_train_config, resolve_config_path
    from promptevc.train.evaluator import EvaluatorExperimentConfig

    cfg = load_train_config(EvaluatorExperimentConfig, resolve_config_path(name, "evaluator"))
    m = EmotionEvaluator.from_config(cfg.model, 80)
    n = sum(p.numel() for p in m.parameters())
    assert params[0] < n < params[1]
    assert m(torch.randn(2, 80, 50), torch.tensor([50, 30]))["logits"].shape == (2, 5)


def _train_evaluator(data, exp, *sets: str) -> None:
    assert main(["train-evaluator", "--config", "tiny", "--data", str(data), "--exp", str(exp), "--no-progress",
                 "--device", "cpu", *[a for s in sets for a in ("--set", s)]]) == 0


def _release_state(exp) -> dict[str, torch.Tensor]:
    return load_evaluator(str(exp / "release")).state_dict()


def test_stopped_and_resumed_training_equals_one_run(mel_corpus, tmp_path):
    """Crops, SpecAugment and class-balanced batches continue exactly after a resume."""
    _train_evaluator(mel_corpus["train"], tmp_path / "straight", "train.max_steps=10", "train.save_every=5")
    _train_evaluator(mel_corpus["train"], tmp_path / "resumed", "train.max_steps=5", "train.save_every=5")
    _train_evaluator(mel_corpus["train"], tmp_path / "resumed", "train.max_steps=10", "train.save_every=5")
    a, b = _release_state(tmp_path / "straight"), _release_state(tmp_path / "resumed")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_process_ddp_matches_one_process_with_accumulation(mel_corpus, tmp_path, torchrun):
    """2 processes (gloo) x 1 batch per step = 1 process x 2 accumulated batches: the same weights."""
    common = ["--set", "train.max_steps=3", "--set", "train.valid_every=3", "--set", "train.save_every=3"]
    torchrun(["train-evaluator", "--config", "tiny", "--data", str(mel_corpus["train"]), "--valid-data",
              str(mel_corpus["valid"]), "--exp", str(tmp_path / "ddp"), "--device", "cpu", "--no-progress", *common])
    _train_evaluator(mel_corpus["train"], tmp_path / "one", "train.max_steps=3", "train.save_every=3",
                     "train.grad_accum_steps=2")
    a, b = _release_state(tmp_path / "ddp"), _release_state(tmp_path / "one")
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4)
    # One experiment folder written once: one line per metric and step, one release.
    rows = read_metrics(tmp_path / "ddp")
    keys = [(r["step"], r["split"], r["name"]) for r in rows]
    assert len(keys) == len(set(keys)) and ("3", "valid", "accuracy") in keys
    assert (tmp_path / "ddp" / "release" / "meta.json").is_file()
    assert [p.name for p in list_checkpoints(tmp_path / "ddp")] == ["step_00000003.pt"]
