"""Intensity pseudo-labels: ranking rules, projection scores, and the CLI with a trained evaluator."""

from __future__ import annotations

from pathlib import Path

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


def test_assign_folds_rules():
    from promptevc.data.intensity import assign_folds

    utt2spk = {f"{s}_{e}_{i}": s for s in "abc" for e in ("neutral", "sad") for i in range(4)}
    utt2emo = {u: u.split("_")[1] for u in utt2spk}
    by_speaker, by = assign_folds(utt2spk, utt2emo, 3)
    assert by == "speaker" and sorted(set(by_speaker.values())) == [1, 2, 3]
    for s in "abc":  # a speaker's utterances are all judged by one evaluator
        assert len({by_speaker[u] for u in utt2spk if utt2spk[u] == s}) == 1
    by_utt, by = assign_folds(utt2spk, utt2emo, 2, "utterance")
    assert by == "utterance" and set(by_utt) == set(utt2spk)
    for s in "abc":  # every speaker x emotion group is split evenly over the folds
        for e in ("neutral", "sad"):
            assert sorted(by_utt[u] for u in utt2spk if u.startswith(f"{s}_{e}_")) == [1, 1, 2, 2]
    shuffled = dict(reversed(list(utt2spk.items())))
    assert assign_folds(shuffled, utt2emo, 2, "utterance")[0] == by_utt  # deterministic: order does not matter
    assert assign_folds(utt2spk, utt2emo, 4)[1] == "utterance"  # auto: too few speakers for 4 folds
    for folds, how, match in ((1, "auto", "at least 2"), (4, "speaker", "at least 4 speakers"), (2, "random", "choose")):
        with pytest.raises(ConfigError, match=match):
            assign_folds(utt2spk, utt2emo, folds, how)


def test_cross_fitted_labels_never_come_from_an_evaluator_that_trained_on_them(knob_dir, trained_evaluator,
                                                                                tmp_path, capsys):
    """train-evaluator --fold k/2 trains on the other fold only (its recorded training digest);
    label-intensity --cross-fit labels each utterance with the evaluator that held it out, and
    refuses evaluators that do not form one K-fold split of this data dir, writing nothing."""
    import json
    import shutil

    from promptevc.data.intensity import assign_folds, cross_fit_labels, utterance_digest

    data = tmp_path / "data"
    shutil.copytree(knob_dir, data)
    (data / "utt2intensity").unlink(missing_ok=True)
    releases = []
    for k in (1, 2):
        exp = tmp_path / f"fold{k}"
        assert main(["train-evaluator", "--config", "tiny", "--data", str(data), "--fold", f"{k}/2", "--fold-by",
                     "utterance", "--exp", str(exp), "--set", "train.max_steps=4", "--no-progress",
                     "--device", "cpu"]) == 0
        releases.append(str(exp / "release"))
    folds, _ = assign_folds(read_scp(data / "utt2spk"), read_scp(data / "utt2emo"), 2, "utterance")
    for k, release in enumerate(releases, 1):
        meta = json.loads((Path(release) / "meta.json").read_text())
        assert (meta["fold"]["fold"], meta["fold"]["folds"], meta["fold"]["by"]) == (k, 2, "utterance")
        assert meta["training_utterances"]["sha256"] == utterance_digest(u for u in folds if folds[u] != k)
        assert meta["fold"]["held_out_sha256"] == utterance_digest(u for u in folds if folds[u] == k)

    labels, labeller = cross_fit_labels(data, releases[::-1], progress=False)  # any order
    assert set(labels) == set(labeller) == set(folds)
    assert all(labeller[u] == releases[folds[u] - 1] for u in folds)
    assert all(0.0 <= v <= 1.0 for v in labels.values())
    assert all(labels[u] == 0.0 for u in labels if "_neutral_" in u)
    assert main(["label-intensity", "--data", str(data), "--cross-fit", *releases, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"cross-fitted: 30 by {releases[0]}, 20 by {releases[1]}" in out  # 5 per group: 3 + 2
    written = (data / "utt2intensity").read_text()

    other = tmp_path / "other"  # another data dir: one utterance fewer
    shutil.copytree(data, other)
    feats = read_scp(other / "feats.scp")
    (other / "feats.scp").write_text("".join(f"{u} {p}\n" for u, p in list(feats.items())[1:]))
    for args, match in (([releases[0]], "one evaluator per fold"), ([releases[0], releases[0]], "one evaluator per"),
                        ([str(trained_evaluator / "release"), releases[1]], "no fold record"),
                        (releases, "trained on other utterances")):
        target = other if match.startswith("trained") else data
        assert main(["label-intensity", "--data", str(target), "--cross-fit", *args, "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0], err
    assert (data / "utt2intensity").read_text() == written
    assert not (other / "utt2intensity").exists() or (other / "utt2intensity").read_text() == written
    assert main(["train-evaluator", "--config", "tiny", "--data", str(data), "--fold", "3/2",
                 "--exp", str(tmp_path / "x")]) == 2
    assert "1 <= K <= N" in capsys.readouterr().err
    assert main(["train-evaluator", "--config", "tiny", "--data", str(data), "--fold-by", "speaker",
                 "--exp", str(tmp_path / "x")]) == 2
    assert "--fold-by needs --fold" in capsys.readouterr().err
