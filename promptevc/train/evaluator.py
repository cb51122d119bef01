"""The emotion evaluator as a training task (``promptevc train-evaluator``, recipe stage 3).

Trained by :func:`promptevc.train.loop.fit` on dumped log-mels (``feats.scp``) and labels
(``utt2emo``): class-balanced, length-bucketed batches (every class equally likely whatever the
corpus balance), random crops of at most ``data.max_frames`` frames, light SpecAugment (one
frequency and one time mask), AdamW with linear warm-up and cosine decay, label smoothing.
Validation (``--valid-data``) reports accuracy, unweighted average recall and a confusion matrix
(``EXP/confusion_matrix.png`` / ``.json``); the checkpoint with the best validation accuracy is
kept. The AudioConfig is derived from the dumped features. The release holds ``config.yaml``
(``model`` + ``audio``), the weights and ``meta.json`` (labels, embedding size, and the digest
of the utterances it trained on: ``training_utterances``).

Cross-fitting (``data.folds`` = K > 1, ``data.fold`` = k, ``train-evaluator --fold k/K``): the
model trains on every fold of the data dir but k (:func:`promptevc.data.intensity.assign_folds`)
and records the fold it held out (``meta.json`` ``fold``), so that ``label-intensity
--cross-fit`` can label fold k with it and check that it never saw those utterances.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from promptevc.config import AudioConfig, from_dict, to_dict
from promptevc.data.mel_dataset import MelDataset, SpecAugment, collate_mels, input_stats
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.evaluator import AROUSAL_VALENCE, EmotionEvaluator, EvaluatorConfig
from promptevc.prompt.control import EMOTIONS
from promptevc.train.config import TrainConfig, derive
from promptevc.train.loop import Env, Parts, ReleaseContents, StepContext, Task

log = logging.getLogger(__name__)


@dataclasses.dataclass
class EvaluatorDataConfig:
    max_frames: int = 400  # training crop (about 6.4 s at hop 256 / 16 kHz)
    freq_mask: int = 8  # max bins of the SpecAugment frequency mask (0 = off)
    time_mask: int = 20  # max frames of the time mask (0 = off)
    balanced: bool = True  # every class equally likely in a batch
    stats_utts: int = 500  # utterances used for the input mean/std
    # Cross-fitting of the intensity pseudo-labels: folds = K > 1 trains on every fold but `fold`
    # (1..K), split by speaker or by utterance ("auto": by speaker when there are K speakers).
    folds: int = 0
    fold: int = 0
    fold_by: str = "auto"


@dataclasses.dataclass
class EvaluatorLossConfig:
    label_smoothing: float = 0.05
    arousal_valence: float = 0.5  # weight of the arousal/valence loss when that head is enabled


@dataclasses.dataclass
class EvaluatorExperimentConfig:
    """Top level of ``evaluator_*.yaml``; ``audio`` is derived from the dumped features."""

    audio: AudioConfig = dataclasses.field(default_factory=AudioConfig)
    model: EvaluatorConfig = dataclasses.field(default_factory=EvaluatorConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    data: EvaluatorDataConfig = dataclasses.field(default_factory=EvaluatorDataConfig)
    loss: EvaluatorLossConfig = dataclasses.field(default_factory=EvaluatorLossConfig)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: EmotionEvaluator, dataset: MelDataset, device: torch.device, batch_size: int = 16) -> dict[str, Any]:
    """Loss, accuracy, unweighted average recall and confusion matrix (rows = true class) on whole utterances."""
    was_training = model.training
    model.eval()
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    loss_sum, n = 0.0, 0
    for s in range(0, len(dataset), batch_size):
        batch = collate_mels([dataset[i] for i in range(s, min(s + batch_size, len(dataset)))])
        out = model(batch["mel"].to(device), batch["mel_lens"].to(device))
        logits = out["logits"].float()
        labels = batch["labels"].to(device)
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        n += len(labels)
        for t, p in zip(labels.tolist(), logits.argmax(-1).tolist(), strict=True):
            confusion[t, p] += 1
    model.train(was_training)
    present = confusion.sum(1) > 0
    recall = np.diag(confusion)[present] / confusion.sum(1)[present]
    return {
        "loss": loss_sum / max(n, 1),
        "accuracy": float(np.trace(confusion) / max(n, 1)),
        "uar": float(recall.mean()) if len(recall) else 0.0,
        "confusion": confusion,
    }


def save_confusion(exp_dir: Path, confusion: np.ndarray, step: int, title: str = "validation") -> None:
    """``EXP/confusion_matrix.json`` and ``.png`` (row-normalised, counts annotated)."""
    (exp_dir / "confusion_matrix.json").write_text(
        json.dumps({"step": step, "labels": list(EMOTIONS), "rows_true_cols_predicted": confusion.tolist()}, indent=1),
        encoding="utf-8",
    )
    from promptevc.utils.plots import plot_confusion

    plot_confusion(confusion, exp_dir / "confusion_matrix.png", title=f"{title}, step {step}",
                   row_label="true", col_label="predicted")


# --------------------------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------------------------


class EvaluatorTask(Task):
    kind = "evaluator"
    config_class = EvaluatorExperimentConfig
    best_metric = ("accuracy", "max")

    def __init__(self, config: EvaluatorExperimentConfig, data_dir: str | Path,
                 valid_dir: str | Path | None = None) -> None:
        self.config = config
        self.data_dir, self.valid_dir = Path(data_dir), Path(valid_dir) if valid_dir else None
        self.model: EmotionEvaluator | None = None
        self.train_set = self.valid_set = None
        self.records: dict[str, Any] = {}

    def build(self, env: Env) -> Parts:
        from promptevc.data.sampler import BucketBatchSampler

        cfg = self.config
        train_set = MelDataset(self.data_dir, crop_frames=cfg.data.max_frames)
        self.records = {"training_utterances": None, "fold": None}
        if cfg.data.folds or cfg.data.fold:
            self.records["fold"] = self._hold_out_fold(train_set)
        from promptevc.data.intensity import utterance_digest

        self.records["training_utterances"] = {"count": len(train_set), "sha256": utterance_digest(train_set.utts)}
        valid_set = MelDataset(self.valid_dir) if self.valid_dir else None
        if valid_set is not None and valid_set.audio != train_set.audio:
            raise ConfigError(
                f"{self.valid_dir}: audio settings differ from {self.data_dir} "
                f"({train_set.audio.describe_difference(valid_set.audio)}); dump both with the same settings"
            )
        audio = derive(cfg.audio, AudioConfig(), train_set.audio, "audio", f"the features of {self.data_dir}")
        self.config = cfg = dataclasses.replace(cfg, audio=audio)
        counts = np.bincount(train_set.labels, minlength=len(EMOTIONS))
        missing = [EMOTIONS[c] for c in range(len(EMOTIONS)) if counts[c] == 0]
        if missing:
            log.warning("%s: no training utterances for %s; the evaluator cannot learn them", self.data_dir,
                        ", ".join(missing))
        if env.is_main:
            log.info("train utterances per class: %s", dict(zip(EMOTIONS, counts.tolist(), strict=True)))

        model = EmotionEvaluator.from_config(cfg.model, audio.n_mels)
        mean, std = input_stats(train_set, cfg.data.stats_utts, cfg.train.seed)
        model.set_input_stats(mean, std)
        # The masks are filled with the input mean (what the normalised model sees as zero).
        train_set.augment = SpecAugment(cfg.data.freq_mask, cfg.data.time_mask, mean.numpy())
        self.model, self.train_set, self.valid_set = model, train_set, valid_set
        self.av_targets = torch.tensor([AROUSAL_VALENCE[e] for e in EMOTIONS], device=env.device)
        tc = cfg.train
        sampler = BucketBatchSampler(train_set.batch_lengths(), max_batch_size=tc.batch_size,
                                     max_batch_frames=tc.max_batch_frames, seed=tc.seed,
                                     labels=train_set.labels, balance=cfg.data.balanced,
                                     rank=env.dist.rank, world_size=env.dist.world_size)
        return Parts(models={"evaluator": model}, groups={"evaluator": list(model.parameters())},
                     train_set=train_set, sampler=sampler, collate=collate_mels)

    def _hold_out_fold(self, train_set: MelDataset) -> dict[str, Any]:
        """Drop fold ``data.fold`` of ``data.folds`` from ``train_set``; -> the release's fold record."""
        from promptevc.data.intensity import assign_folds, fold_record

        d = self.config.data
        if d.folds < 2 or not 1 <= d.fold <= d.folds:
            raise ConfigError(f"cross-fitting: data.fold {d.fold} of data.folds {d.folds}; need folds >= 2 and "
                              "1 <= fold <= folds (train-evaluator --fold k/K)")
        data = train_set.dir
        if not data.has("utt2spk"):
            raise ConfigError(f"{data.path}: no utt2spk; cross-fitting splits the data by speaker or utterance")
        utt2spk = {u: s for u, s in data.get("utt2spk").items() if u in set(train_set.utts)}
        fold_of, by = assign_folds(utt2spk, data.get("utt2emo"), d.folds, d.fold_by)
        held = {u for u, f in fold_of.items() if f == d.fold}
        trained = set(fold_of) - held
        train_set.restrict(trained)
        log.info("cross-fitting fold %d/%d by %s: training on %d utterances, %d held out", d.fold, d.folds, by,
                 len(trained), len(held))
        return fold_record(trained, held, d.fold, d.folds, by)

    def provenance(self) -> dict[str, Any]:
        return dict(self.records)

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        labels = batch["labels"]
        out = ctx.wrapped["evaluator"](batch["mel"], batch["mel_lens"])
        logits = out["logits"].float()
        loss = F.cross_entropy(logits, labels, label_smoothing=self.config.loss.label_smoothing)
        if "arousal_valence" in out:
            loss = loss + self.config.loss.arousal_valence * F.mse_loss(out["arousal_valence"].float(),
                                                                        self.av_targets[labels])
        ctx.backward("evaluator", loss)
        return {"loss": loss.detach(), "accuracy": (logits.detach().argmax(-1) == labels).float().mean()}

    def validate(self, env: Env, step: int) -> dict[str, float]:
        if self.valid_set is None:
            return {}
        res = evaluate(self.model, self.valid_set, env.device)
        save_confusion(env.exp_dir, res["confusion"], step)
        return {"loss": res["loss"], "accuracy": res["accuracy"], "uar": res["uar"]}

    def finish(self, env: Env, step: int) -> None:
        if self.valid_set is None:  # still show what it learned: the training data's confusion matrix
            res = evaluate(self.model, MelDataset(self.data_dir), env.device)
            save_confusion(env.exp_dir, res["confusion"], step, title="training data (no --valid-data)")
            if env.experiment is not None:
                env.experiment.log_metrics(step, {"accuracy": res["accuracy"], "uar": res["uar"]}, split="train_full")

    @classmethod
    def release(cls, config: EvaluatorExperimentConfig, payload: dict[str, Any], exp_dir: Path) -> ReleaseContents:
        from promptevc.release import load_state_strict

        state = payload["models"].get("evaluator")
        if state is None:
            raise ModelLoadError(f"{exp_dir}: the checkpoint holds no evaluator")
        model = EmotionEvaluator.from_config(config.model, config.audio.n_mels)
        load_state_strict(model, state, name=f"{exp_dir} evaluator")
        release_config = {"model": to_dict(config.model), "audio": to_dict(config.audio)}
        from_dict(EvaluatorConfig, release_config["model"])  # fail now, not at load time
        from promptevc.train.experiment import read_experiment_info

        info = read_experiment_info(exp_dir)
        meta = {"labels": list(EMOTIONS), "audio": to_dict(config.audio), "embed_dim": model.embed_dim,
                "best_valid": payload.get("extra", {}).get("loop", {}).get("best"),
                "seed": config.train.seed, "training_utterances": info.get("training_utterances"),
                "fold": info.get("fold")}
        return ReleaseContents(config=release_config, tensors=model.state_dict(), meta=meta)
