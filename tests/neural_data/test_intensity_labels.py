"""Intensity pseudo-labels: ranking rules, projection scores, and the CLI with a trained evaluator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from promptevc.cli import main
from promptevc.data.intensity import logodds_scores, projection_scores, rank_normalise
from promptevc.data.kaldi import read_scp
from promptevc.errors import ConfigError


def _toy(seed: int = 0):
    """Embeddings = speaker offset + knob * emotion direction + noise; knob in 0.1..1."""
    g = np.random.default_rng(seed)
    dirs = {"happy": np.array([1.0, 0.0, 0.0, 0.5]), "sad": np.array([0.0, -1.0, 0.3, 0.0])}
    utts, emb, spk, emo, knob = [], [], {}, {}, {}
    for s, offset in (("a", np.array([0, 0, 5.0, 0])), ("b", np.array([3.0, 0, 0, -2]))):
        for i in range(4):
            u = f"{s}_neutral_{i}"
            utts.append(u)
            emb.append(offset + g.normal(0, 0.05, 4))
            spk[u], emo[u] = s, "neutral"
        for e, d in dirs.items():
            for i, k in enumerate(g.permutation(np.linspace(0.1, 1.0, 6))):
                u = f"{s}_{e}_{i}"
                utts.append(u)
                emb.append(offset + k * d + g.normal(0, 0.02, 4))
                spk[u], emo[u], knob[u] = s, e, k
    return utts, np.array(emb), spk, emo, knob


def test_rank_normalise_rules():
    spk = {u: "s" for u in "abcdefg"}
    emo = {"a": "happy", "b": "happy", "c": "happy", "d": "happy", "e": "neutral", "f": "sad", "g": "angry"}
    emo["g"] = "sad"
    scores = {"a": 0.3, "b": -1.0, "c": 5.0, "d": 0.3, "e": 9.0, "f": 1.0, "g": 2.0}
    lab = rank_normalise(scores, spk, emo)
    assert lab["b"] == 0.0 and lab["c"] == 1.0 and lab["a"] == lab["d"] == 0.5  # ties averaged
    assert lab["e"] == 0.0  # neutral
    assert (lab["f"], lab["g"]) == (0.0, 1.0)
    single = rank_normalise({"x": 3.0}, {"x": "s"}, {"x": "sad"})
    assert single == {"x": 0.5}


def test_projection_scores_monotone_with_knob():
    utts, emb, spk, emo, knob = _toy()
    labels = rank_normalise(projection_scores(utts, emb, spk, emo), spk, emo)
    for u in utts:
        assert 0.0 <= labels[u] <= 1.0
        if emo[u] == "neutral":
            assert labels[u] == 0.0
    for s in ("a", "b"):
        for e in ("happy", "sad"):
            group = [u for u in utts if spk[u] == s and emo[u] == e]
            order_knob = sorted(group, key=knob.get)
            assert [labels[u] for u in order_knob] == pytest.approx(np.linspace(0, 1, 6))
    # Centroids from a reference set (same generator, other noise) give the same order.
    ref = _toy(seed=1)
    labels_ref = rank_normalise(projection_scores(utts, emb, spk, emo, reference=ref[:4]), spk, emo)
    assert labels_ref == pytest.approx(labels)


def test_projection_needs_neutral_and_logodds():
    utts, emb, spk, emo, _ = _toy()
    keep = [i for i, u in enumerate(utts) if emo[u] != "neutral"]
    with pytest.raises(ConfigError, match="no neutral"):
        projection_scores([utts[i] for i in keep], emb[keep], spk, emo)
    logits = np.zeros((2, 5))
    logits[0, 2], logits[1, 0] = 3.0, 1.0
    s = logodds_scores(["u1", "u2"], logits, {"u1": "happy", "u2": "neutral"})
    assert s == {"u1": 3.0, "u2": 0.0}


@pytest.fixture(scope="module")
def knob_dir(tmp_path_factory):
    """Per speaker x emotion, 5 utterances whose intensity knob goes 0.2 .. 1.0 (mel features only)."""
    from neural_data_support import add_mel_features, make_data_dir

    root = tmp_path_factory.mktemp("knob") / "data"
    return add_mel_features(make_data_dir(root, per_class=5, intensities=(0.2, 0.4, 0.6, 0.8, 1.0), seconds=1.0))


@pytest.mark.parametrize("method", ["projection", "logodds"])
def test_label_intensity_cli_follows_knob(trained_evaluator, knob_dir, method, capsys):
    rc = main(["label-intensity", "--data", str(knob_dir), "--evaluator", str(trained_evaluator / "release"),
               "--method", method, "--no-progress"])
    assert rc == 0
    labels = {u: float(v) for u, v in read_scp(knob_dir / "utt2intensity").items()}
    assert set(labels) == set(read_scp(knob_dir / "wav.scp"))
    rhos = []
    for u, v in labels.items():
        assert 0.0 <= v <= 1.0
        if "_neutral_" in u:
            assert v == 0.0
    for spk in ("spk_a", "spk_b"):
        for emo in ("angry", "happy", "sad", "surprise"):
            group = sorted(u for u in labels if u.startswith(f"{spk}_{emo}_"))  # index i has knob 0.2*(i+1)
            vals = [labels[u] for u in group]
            assert sorted(vals) == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
            rhos.append(spearmanr(np.arange(len(group)), vals).statistic)
    # Stronger emotion (F0 shift, tempo, level) -> higher label, on average over the 8 groups.
    assert np.mean(rhos) > 0.5, rhos


def test_label_intensity_reference_and_errors(trained_evaluator, knob_dir, mel_corpus, tmp_path, capsys):
    rc = main(["label-intensity", "--data", str(knob_dir), "--evaluator", str(trained_evaluator / "release"),
               "--reference-data", str(mel_corpus["train"]), "--no-progress"])
    assert rc == 0
    assert main(["label-intensity", "--data", str(tmp_path / "nope"), "--evaluator", "x/y"]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["label-intensity", "--data", str(knob_dir), "--evaluator", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0]
