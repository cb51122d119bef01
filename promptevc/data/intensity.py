"""Emotion-intensity pseudo-labels from the emotion evaluator: a data step (recipe stage 4, ``promptevc label-intensity``).

ESD has no intensity annotation. Like Emovox (Zhou et al., IEEE TAC 2022), whose relative
attribute ranking (RAR) scores each emotional utterance by how far it is from neutral speech,
and PromptEVC, which buckets such scores 30/40/30 into low/medium/high, we rank utterances by
their distance from neutral; instead of training a ranking SVM on hand-crafted features we read
the distance off the trained evaluator (EINet-style):

- ``projection`` (default): in the evaluator's embedding space, ``score(u) =
  (e_u - n_spk) . d / |d|`` where ``n_spk`` is the speaker's neutral centroid and
  ``d = c_{spk,emo} - n_spk`` the direction from it to the speaker's centroid of the utterance's
  emotion (speaker-level centroids, so speaker identity does not leak into the score; global
  centroids when the speaker has no neutral or no such emotion in the reference data).
- ``logodds``: the evaluator's log-odds of the labelled emotion against neutral,
  ``logit[emo] - logit[neutral]``.

Scores are then ranked within each speaker x emotion group and normalised to [0, 1]
(``rank / (n - 1)``, ties averaged; a group of one gets 0.5); neutral utterances get 0. Only the
order within a group matters, which makes labels comparable across speakers and emotions.
Centroids come from ``reference_dir`` (e.g. the training set) when given, else from the data
dir itself.

**Cross-fitting** (:func:`cross_fit_labels`, ``label-intensity --cross-fit``). An evaluator that
trained on an utterance has fitted it: its distance from neutral is a memory, not a judgement,
and the labels of its own training data come out more extreme and more label-shaped than those
of unseen speech. So the training set is split into K folds (:func:`assign_folds`: by speaker
when there are at least K speakers, so a speaker's groups are all judged by one evaluator that
never heard that voice; else by utterance, round robin inside each speaker x emotion group);
evaluator k is trained on every fold but k (``train-evaluator --fold k/K``) and labels fold k
only. Each fold release records the digests of the utterances it held out and trained on
(:func:`fold_record`); labelling checks them against the data before it starts, so an evaluator
never labels an utterance it trained on. Centroids come from the labelled fold itself, and ranks
are taken within (fold, speaker, emotion): scores of different evaluators are never compared.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from promptevc.data.kaldi import DataDir, write_scp
from promptevc.errors import ConfigError
from promptevc.prompt.control import EMOTIONS

log = logging.getLogger(__name__)

METHODS = ("projection", "logodds")
NEUTRAL = "neutral"
FOLD_BY = ("auto", "speaker", "utterance")


@torch.no_grad()
def evaluator_outputs(
    evaluator: torch.nn.Module, data_dir: str | Path, device: str = "cpu", batch_size: int = 16, progress: bool = False,
    utts: set[str] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Embeddings ``(N, E)`` and logits ``(N, 5)`` of every utterance in feats.scp (or of ``utts``), whole."""
    from tqdm import tqdm

    from promptevc.data.mel_dataset import MelDataset, collate_mels

    ds = MelDataset(data_dir, require_labels=False)
    if utts is not None:
        ds.restrict(utts)
    evaluator = evaluator.to(device).eval()
    embs, logits = [], []
    for s in tqdm(range(0, len(ds), batch_size), desc="evaluator", unit="batch", disable=not progress):
        batch = collate_mels([ds[i] for i in range(s, min(s + batch_size, len(ds)))])
        out = evaluator(batch["mel"].to(device), batch["mel_lens"].to(device))
        embs.append(out["embedding"].float().cpu().numpy())
        logits.append(out["logits"].float().cpu().numpy())
    return ds.utts, np.concatenate(embs), np.concatenate(logits)


def _centroids(
    utts: list[str], emb: np.ndarray, utt2spk: dict[str, str], utt2emo: dict[str, str]
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """Mean embedding per (speaker, emotion) and per emotion (over all speakers)."""
    groups: dict[tuple[str, str], list[int]] = {}
    by_emo: dict[str, list[int]] = {}
    for i, u in enumerate(utts):
        if u in utt2spk and u in utt2emo:
            groups.setdefault((utt2spk[u], utt2emo[u]), []).append(i)
            by_emo.setdefault(utt2emo[u], []).append(i)
    return ({k: emb[v].mean(0) for k, v in groups.items()}, {k: emb[v].mean(0) for k, v in by_emo.items()})


def projection_scores(
    utts: list[str],
    emb: np.ndarray,
    utt2spk: dict[str, str],
    utt2emo: dict[str, str],
    reference: tuple[list[str], np.ndarray, dict[str, str], dict[str, str]] | None = None,
) -> dict[str, float]:
    """Signed distance from the speaker's neutral centroid along the neutral -> emotion direction.

    ``reference = (utts, emb, utt2spk, utt2emo)`` supplies the centroids (default: the data itself).
    Neutral utterances score 0.
    """
    ref_utts, ref_emb, ref_spk, ref_emo = reference or (utts, emb, utt2spk, utt2emo)
    spk_c, emo_c = _centroids(ref_utts, ref_emb, ref_spk, ref_emo)
    own_spk_c, _ = _centroids(utts, emb, utt2spk, utt2emo)
    if NEUTRAL not in emo_c:
        raise ConfigError("no neutral utterances in the reference data; intensity is measured from neutral speech")
    scores: dict[str, float] = {}
    for i, u in enumerate(utts):
        spk, emo = utt2spk[u], utt2emo[u]
        if emo == NEUTRAL:
            scores[u] = 0.0
            continue
        neutral = spk_c.get((spk, NEUTRAL), own_spk_c.get((spk, NEUTRAL)))
        if neutral is None:
            neutral = emo_c[NEUTRAL]
        target = spk_c.get((spk, emo), emo_c.get(emo, own_spk_c.get((spk, emo))))
        direction = target - neutral
        norm = float(np.linalg.norm(direction))
        if norm < 1e-8:  # degenerate: fall back to the distance from neutral
            scores[u] = float(np.linalg.norm(emb[i] - neutral))
        else:
            scores[u] = float((emb[i] - neutral) @ direction / norm)
    return scores


def logodds_scores(utts: list[str], logits: np.ndarray, utt2emo: dict[str, str]) -> dict[str, float]:
    """``logit[emotion] - logit[neutral]`` per utterance (neutral utterances score 0)."""
    n = EMOTIONS.index(NEUTRAL)
    return {
        u: 0.0 if utt2emo[u] == NEUTRAL else float(logits[i, EMOTIONS.index(utt2emo[u])] - logits[i, n])
        for i, u in enumerate(utts)
    }


def rank_normalise(scores: dict[str, float], utt2spk: dict[str, str], utt2emo: dict[str, str]) -> dict[str, float]:
    """Rank scores within speaker x emotion, scaled to [0, 1] (ties averaged); neutral -> 0."""
    from scipy.stats import rankdata

    groups: dict[tuple[str, str], list[str]] = {}
    for u in scores:
        groups.setdefault((utt2spk[u], utt2emo[u]), []).append(u)
    out: dict[str, float] = {}
    for (_, emo), members in groups.items():
        if emo == NEUTRAL:
            out.update({u: 0.0 for u in members})
            continue
        if len(members) == 1:
            out[members[0]] = 0.5
            continue
        ranks = rankdata([scores[u] for u in members], method="average") - 1
        out.update({u: float(r / (len(members) - 1)) for u, r in zip(members, ranks, strict=True)})
    return out


def _labels(data: DataDir) -> tuple[dict[str, str], dict[str, str]]:
    for name in ("utt2spk", "utt2emo"):
        if not data.has(name):
            raise ConfigError(f"{data.path}: no {name}; intensity labels are ranked per speaker and emotion")
    utt2spk, utt2emo = data.get("utt2spk"), data.get("utt2emo")
    bad = sorted({e for e in utt2emo.values() if e not in EMOTIONS})
    if bad:
        raise ConfigError(f"{data.path / 'utt2emo'}: unknown emotion {bad[0]!r}; expected one of {', '.join(EMOTIONS)}")
    return utt2spk, utt2emo


# ------------------------------------------------------------------------------------------ folds
def assign_folds(utt2spk: dict[str, str], utt2emo: dict[str, str], folds: int, by: str = "auto"
                 ) -> tuple[dict[str, int], str]:
    """-> (utt -> fold in 1..folds, the split used: "speaker" or "utterance").

    ``speaker``: sorted speakers dealt round robin (needs at least ``folds`` speakers);
    ``utterance``: inside each speaker x emotion group, sorted utterances dealt round robin (every
    fold holds every group). ``auto``: by speaker when there are enough speakers. Deterministic.
    """
    if folds < 2:
        raise ConfigError(f"cross-fitting needs at least 2 folds, got {folds}")
    if by not in FOLD_BY:
        raise ConfigError(f"fold split {by!r}: choose {', '.join(FOLD_BY)}")
    utts = sorted(u for u in utt2spk if u in utt2emo)
    speakers = sorted({utt2spk[u] for u in utts})
    if by == "auto":
        by = "speaker" if len(speakers) >= folds else "utterance"
    if by == "speaker":
        if len(speakers) < folds:
            raise ConfigError(f"{folds} folds by speaker need at least {folds} speakers, the data has "
                              f"{len(speakers)}; use fewer folds or folds by utterance")
        fold_of = {spk: 1 + i % folds for i, spk in enumerate(speakers)}
        return {u: fold_of[utt2spk[u]] for u in utts}, by
    groups: dict[tuple[str, str], list[str]] = {}
    for u in utts:
        groups.setdefault((utt2spk[u], utt2emo[u]), []).append(u)
    out: dict[str, int] = {}
    for members in groups.values():
        out.update({u: 1 + i % folds for i, u in enumerate(members)})
    return out, by


def utterance_digest(utts: Any) -> str:
    """sha256 of the sorted utterance ids (one per line): names a set of utterances exactly."""
    return hashlib.sha256("".join(f"{u}\n" for u in sorted(utts)).encode("utf-8")).hexdigest()


def fold_record(trained_on: Any, held_out: Any, fold: int, folds: int, by: str) -> dict[str, Any]:
    """What a fold evaluator's release records (``meta.json`` ``fold``)."""
    return {"fold": int(fold), "folds": int(folds), "by": by, "held_out": len(held_out),
            "held_out_sha256": utterance_digest(held_out), "trained_on": len(trained_on),
            "trained_on_sha256": utterance_digest(trained_on)}


def _fold_releases(releases: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(release path, its fold record) of each cross-fitting evaluator, checked to form one K-fold split."""
    from promptevc.release import read_release

    out = []
    for name in releases:
        rec = read_release(name, kind="evaluator").meta.get("fold")
        if not isinstance(rec, dict) or not all(k in rec for k in ("fold", "folds", "by", "held_out_sha256",
                                                                    "trained_on_sha256")):
            raise ConfigError(f"{name}: not a cross-fitting evaluator (its meta.json has no fold record); train it "
                              "with promptevc train-evaluator --fold K/N")
        out.append((str(name), rec))
    folds = {int(r["folds"]) for _, r in out}
    by = {str(r["by"]) for _, r in out}
    if len(folds) != 1 or len(by) != 1:
        raise ConfigError("the --cross-fit evaluators come from different fold splits: "
                          + ", ".join(f"{n} (fold {r['fold']}/{r['folds']} by {r['by']})" for n, r in out))
    k = folds.pop()
    have = sorted(int(r["fold"]) for _, r in out)
    if have != list(range(1, k + 1)):
        raise ConfigError(f"--cross-fit needs one evaluator per fold 1..{k}, got folds {have}")
    return sorted(out, key=lambda t: int(t[1]["fold"]))


def cross_fit_labels(
    data_dir: str | Path,
    releases: list[str],
    method: Literal["projection", "logodds"] = "projection",
    device: str = "cpu",
    write: bool = True,
    progress: bool = True,
) -> tuple[dict[str, float], dict[str, str]]:
    """Cross-fitted pseudo-labels of ``data_dir`` (see the module docstring) -> (labels, utt -> labeller).

    ``releases``: the K fold evaluators (``train-evaluator --fold k/K`` on this data dir). Raises
    ConfigError when one of them did not train on exactly this data minus its fold.
    """
    from promptevc.data.mel_dataset import MelDataset
    from promptevc.models.evaluator import load_evaluator

    if method not in METHODS:
        raise ConfigError(f"intensity method {method!r}: choose one of {', '.join(METHODS)}")
    data = DataDir(data_dir)
    utt2spk, utt2emo = _labels(data)
    fold_evaluators = _fold_releases(list(releases))
    k, by = int(fold_evaluators[0][1]["folds"]), str(fold_evaluators[0][1]["by"])
    present = set(MelDataset(data.path).utts)  # what a fold evaluator's training set is drawn from
    fold_of, _ = assign_folds({u: s for u, s in utt2spk.items() if u in present}, utt2emo, k, by)
    labels: dict[str, float] = {}
    labeller: dict[str, str] = {}
    for name, rec in fold_evaluators:
        fold = int(rec["fold"])
        held = {u for u, f in fold_of.items() if f == fold}
        trained = set(fold_of) - held
        if utterance_digest(held) != rec["held_out_sha256"] or utterance_digest(trained) != rec["trained_on_sha256"]:
            raise ConfigError(f"{name}: fold {fold}/{k} was trained on other utterances than {data.path} minus its "
                              "fold (another data dir or split); train the fold evaluators on this data dir again")
        model = load_evaluator(name, device=device)
        utts, emb, logits = evaluator_outputs(model, data.path, device=device, progress=progress, utts=held)
        if method == "logodds":
            scores = logodds_scores(utts, logits, utt2emo)
        else:
            scores = projection_scores(utts, emb, utt2spk, utt2emo)
        labels.update(rank_normalise(scores, utt2spk, utt2emo))
        labeller.update({u: name for u in utts})
        log.info("%s: fold %d/%d (%d utterances) labelled by %s", data.path, fold, k, len(utts), name)
    if write:
        write_scp(data.path / "utt2intensity", {u: f"{v:.4f}" for u, v in labels.items()})
    log.info("%s: cross-fitted intensity labels for %d utterances (%d folds by %s) by %s", data.path, len(labels), k,
             by, method)
    return labels, labeller


def label_intensity(
    data_dir: str | Path,
    evaluator: str | torch.nn.Module,
    reference_dir: str | Path | None = None,
    method: Literal["projection", "logodds"] = "projection",
    device: str = "cpu",
    write: bool = True,
    progress: bool = True,
) -> dict[str, float]:
    """Pseudo-labels for every utterance of ``data_dir`` with features and labels; writes utt2intensity.

    ``evaluator`` is a release (folder or repo id) or a loaded :class:`EmotionEvaluator`.
    """
    from promptevc.config import check_audio_compatible
    from promptevc.data.dump import read_feats_config
    from promptevc.models.evaluator import load_evaluator

    if method not in METHODS:
        raise ConfigError(f"intensity method {method!r}: choose one of {', '.join(METHODS)}")
    data = DataDir(data_dir)
    utt2spk, utt2emo = _labels(data)
    model = load_evaluator(str(evaluator), device=device) if not isinstance(evaluator, torch.nn.Module) else evaluator
    ev_audio = getattr(model, "audio", None)
    dirs = [data.path] + ([Path(reference_dir)] if reference_dir else [])
    for d in dirs:
        audio, _, _ = read_feats_config(d)
        if ev_audio is not None:
            check_audio_compatible(ev_audio, audio, "evaluator", f"features of {d}")

    def outputs(d: Path, spk: dict[str, str], emo: dict[str, str]):
        utts, emb, logits = evaluator_outputs(model, d, device=device, progress=progress)
        keep = [i for i, u in enumerate(utts) if u in spk and u in emo]
        if len(keep) < len(utts):
            log.warning("%s: %d utterance(s) without utt2spk/utt2emo entries skipped", d, len(utts) - len(keep))
        return [utts[i] for i in keep], emb[keep], logits[keep]

    utts, emb, logits = outputs(data.path, utt2spk, utt2emo)
    if not utts:
        raise ConfigError(f"{data.path}: no utterance has features, a speaker and an emotion")
    if method == "logodds":
        scores = logodds_scores(utts, logits, utt2emo)
    else:
        reference = None
        if reference_dir:
            ref = DataDir(reference_dir)
            r_spk, r_emo = _labels(ref)
            r_utts, r_emb, _ = outputs(ref.path, r_spk, r_emo)
            reference = (r_utts, r_emb, r_spk, r_emo)
        scores = projection_scores(utts, emb, utt2spk, utt2emo, reference)
    labels = rank_normalise(scores, utt2spk, utt2emo)
    if write:
        write_scp(data.path / "utt2intensity", {u: f"{v:.4f}" for u, v in labels.items()})
    emotional = [v for u, v in labels.items() if utt2emo[u] != NEUTRAL]
    log.info("%s: intensity labels for %d utterances (%d emotional, mean %.2f) by %s",
             data.path, len(labels), len(emotional), float(np.mean(emotional)) if emotional else 0.0, method)
    return labels
