"""Training the emotion evaluator (``promptevc train-evaluator``, recipe stage 3).

Plain PyTorch loop over dumped log-mels (``feats.scp``) and labels (``utt2emo``):
class-balanced batches (every class equally likely, whatever the corpus balance), random crops
of at most ``train.max_frames`` frames, light SpecAugment (one frequency and one time mask),
AdamW with linear warm-up and cosine decay, label smoothing, gradient clipping, bf16 autocast
on GPU. Validation (``--valid-data``) reports accuracy, unweighted average recall and a
confusion matrix (``EXP/confusion_matrix.png`` / ``.json``). Resumes from the latest checkpoint
in ``EXP/checkpoints``; ``EXP/release/`` is written when training ends (also
``promptevc export --exp EXP --out DIR``).

Batches are drawn from ``(seed, step)`` alone, so a resumed run sees the same batches as an
uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from promptevc.config import AudioConfig, from_dict, load_yaml, to_dict
from promptevc.data.kaldi import DataDir
from promptevc.errors import ConfigError, ModelLoadError
from promptevc.models.evaluator import AROUSAL_VALENCE, EmotionEvaluator, EvaluatorConfig
from promptevc.prompt.control import EMOTIONS

log = logging.getLogger(__name__)

KIND = "evaluator"


@dataclasses.dataclass
class EvaluatorTrainConfig:
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 500
    max_steps: int = 20000
    min_lr_ratio: float = 0.05
    max_frames: int = 400  # training crop (about 6.4 s at hop 256 / 16 kHz)
    label_smoothing: float = 0.05
    grad_clip: float = 5.0
    freq_mask: int = 8  # max bins of the SpecAugment frequency mask (0 = off)
    time_mask: int = 20  # max frames of the time mask (0 = off)
    av_weight: float = 0.5  # arousal/valence loss weight when the head is enabled
    log_every: int = 50
    valid_every: int = 1000
    save_every: int = 1000
    keep_checkpoints: int = 3
    stats_utts: int = 500  # utterances used for the input mean/std
    num_workers: int = 0
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    seed: int = 0


@dataclasses.dataclass
class EvaluatorExperimentConfig:
    """Top level of ``evaluator_*.yaml``."""

    model: EvaluatorConfig = dataclasses.field(default_factory=EvaluatorConfig)
    train: EvaluatorTrainConfig = dataclasses.field(default_factory=EvaluatorTrainConfig)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> EvaluatorExperimentConfig:
    return load_yaml(EvaluatorExperimentConfig, path, overrides)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


class MelDataset(torch.utils.data.Dataset):
    """Log-mels and emotion ids of a dumped data dir; items are read from the npz lazily."""

    def __init__(self, data_dir: str | Path, require_labels: bool = True) -> None:
        from promptevc.data.dump import read_feats_config

        self.dir = DataDir(data_dir)
        if not self.dir.has("feats.scp"):
            raise ConfigError(f"{self.dir.path}: no feats.scp; run promptevc dump-features --data {self.dir.path}")
        self.audio, _, _ = read_feats_config(self.dir.path)
        feats = self.dir.get("feats.scp")
        labels: dict[str, str] = {}
        if require_labels:
            if not self.dir.has("utt2emo"):
                raise ConfigError(f"{self.dir.path}: no utt2emo; the evaluator needs an emotion label per utterance")
            labels = self.dir.get("utt2emo")
            bad = sorted({e for e in labels.values() if e not in EMOTIONS})
            if bad:
                raise ConfigError(
                    f"{self.dir.path / 'utt2emo'}: unknown emotion {bad[0]!r}; expected one of {', '.join(EMOTIONS)}"
                )
        self.utts = [u for u in feats if not require_labels or u in labels]
        if not self.utts:
            raise ConfigError(f"{self.dir.path}: no utterance has both features and an emotion label")
        self.paths = [feats[u] for u in self.utts]
        self.labels = np.array([EMOTIONS.index(labels[u]) if require_labels else -1 for u in self.utts])

    def __len__(self) -> int:
        return len(self.utts)

    def mel(self, i: int) -> np.ndarray:
        try:
            with np.load(self.paths[i]) as z:
                return z["mel"].astype(np.float32)
        except (OSError, KeyError, ValueError) as err:
            raise ConfigError(f"{self.paths[i]}: cannot read the dumped mel ({err}); dump features again") from None

    def __getitem__(self, item: int | tuple[int, int, int]) -> tuple[np.ndarray, int]:
        # (index, crop_frames, crop_seed) from the batch sampler, or a plain index (whole utterance).
        if isinstance(item, tuple):
            i, crop, seed = item
        else:
            i, crop, seed = item, 0, 0
        mel = self.mel(i)
        if crop and mel.shape[1] > crop:
            start = int(np.random.default_rng(seed).integers(0, mel.shape[1] - crop + 1))
            mel = mel[:, start : start + crop]
        return mel, int(self.labels[i])


def collate_mels(items: list[tuple[np.ndarray, int]]) -> dict[str, torch.Tensor]:
    """``mel (B, n_mels, F_max)`` zero-padded, ``mel_lens (B,)``, ``labels (B,)``."""
    lens = [m.shape[1] for m, _ in items]
    mel = torch.zeros(len(items), items[0][0].shape[0], max(lens))
    for j, (m, _) in enumerate(items):
        mel[j, :, : m.shape[1]] = torch.from_numpy(m)
    return {
        "mel": mel,
        "mel_lens": torch.tensor(lens, dtype=torch.long),
        "labels": torch.tensor([lab for _, lab in items], dtype=torch.long),
    }


class BalancedBatches(torch.utils.data.Sampler):
    """Batches of (index, crop, seed): a class drawn uniformly, then an utterance of it, per slot.

    Depends only on ``(seed, step)``, so resuming at ``start_step`` reproduces the same batches.
    """

    def __init__(self, labels: np.ndarray, batch_size: int, seed: int, start_step: int, end_step: int,
                 crop: int) -> None:
        self.by_class = [np.flatnonzero(labels == c) for c in range(len(EMOTIONS))]
        self.classes = [c for c, idx in enumerate(self.by_class) if len(idx)]
        self.batch_size, self.seed, self.crop = batch_size, seed, crop
        self.start_step, self.end_step = start_step, end_step

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self):
        for step in range(self.start_step, self.end_step):
            rng = np.random.default_rng([self.seed, step])
            classes = rng.choice(self.classes, self.batch_size)
            batch = []
            for c in classes:
                idx = self.by_class[c]
                batch.append((int(idx[rng.integers(len(idx))]), self.crop, int(rng.integers(2**31))))
            yield batch


def spec_augment(mel: torch.Tensor, mel_lens: torch.Tensor, fill: torch.Tensor, freq_mask: int, time_mask: int,
                 gen: torch.Generator) -> torch.Tensor:
    """One frequency and one time mask per utterance, filled with ``fill (n_mels,)`` (the input mean)."""
    mel = mel.clone()
    b, n_mels, _ = mel.shape
    for i in range(b):
        if freq_mask > 0:
            w = int(torch.randint(0, freq_mask + 1, (1,), generator=gen))
            f0 = int(torch.randint(0, max(1, n_mels - w), (1,), generator=gen))
            mel[i, f0 : f0 + w, : mel_lens[i]] = fill[f0 : f0 + w, None]
        if time_mask > 0:
            length = int(mel_lens[i])
            w = min(int(torch.randint(0, time_mask + 1, (1,), generator=gen)), length // 5)
            t0 = int(torch.randint(0, max(1, length - w), (1,), generator=gen))
            mel[i, :, t0 : t0 + w] = fill[:, None]
    return mel


def input_stats(dataset: MelDataset, max_utts: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and std ``(n_mels,)`` of log-mel frames over up to ``max_utts`` utterances."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(dataset))[:max_utts]
    total, total_sq, count = 0.0, 0.0, 0
    for i in idx:
        m = dataset.mel(int(i)).astype(np.float64)
        total = total + m.sum(1)
        total_sq = total_sq + (m**2).sum(1)
        count += m.shape[1]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-6))
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: EmotionEvaluator, dataset: MelDataset, device: torch.device, batch_size: int = 16) -> dict[str, Any]:
    """Loss, accuracy, unweighted average recall and confusion matrix (rows = true class) on whole utterances."""
    was_training = model.training
    model.eval()
    order = list(range(len(dataset)))
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    loss_sum, n = 0.0, 0
    for s in range(0, len(order), batch_size):
        batch = collate_mels([dataset[i] for i in order[s : s + batch_size]])
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
# Training
# --------------------------------------------------------------------------------------------


def _lr_lambda(cfg: EvaluatorTrainConfig):
    def fn(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / max(1, cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return fn


def train_evaluator(
    config: EvaluatorExperimentConfig,
    data_dir: str | Path,
    exp_dir: str | Path,
    valid_dir: str | Path | None = None,
    device: str = "cpu",
    argv: Sequence[str] | None = None,
    progress: bool = True,
) -> Path:
    """Train (or resume) an evaluator in ``exp_dir``; returns the release path ``EXP/release``."""
    from tqdm import tqdm

    from promptevc.train.checkpoint import (
        checkpoint_path,
        latest_checkpoint,
        load_checkpoint,
        prune_checkpoints,
        save_checkpoint,
    )
    from promptevc.train.experiment import Experiment

    cfg = config.train
    exp_dir = Path(exp_dir)
    dev = torch.device(device)
    torch.manual_seed(cfg.seed)
    train_set = MelDataset(data_dir)
    valid_set = MelDataset(valid_dir) if valid_dir else None
    if valid_set is not None and valid_set.audio != train_set.audio:
        raise ConfigError(
            f"{valid_dir}: audio settings differ from {data_dir} "
            f"({train_set.audio.describe_difference(valid_set.audio)}); dump both with the same settings"
        )
    counts = np.bincount(train_set.labels, minlength=len(EMOTIONS))
    missing = [EMOTIONS[c] for c in range(len(EMOTIONS)) if counts[c] == 0]
    if missing:
        log.warning("%s: no training utterances for %s; the evaluator cannot learn them", data_dir, ", ".join(missing))
    log.info("train utterances per class: %s", dict(zip(EMOTIONS, counts.tolist(), strict=True)))

    model = EmotionEvaluator.from_config(config.model, train_set.audio.n_mels).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    exp = Experiment(exp_dir, KIND, config, argv=argv)
    # The data's AudioConfig is part of what the release needs; keep it beside config.yaml.
    from promptevc.config import save_yaml

    save_yaml(train_set.audio, exp_dir / "audio.yaml")
    step, best = 0, {"accuracy": -1.0, "step": 0}
    ckpt = latest_checkpoint(exp_dir)
    if ckpt is not None:
        step, extra = load_checkpoint(ckpt, models={"evaluator": model}, optimizers={"opt": opt},
                                      schedulers={"sched": sched}, map_location=dev)
        best = extra.get("best", best)
        log.info("resumed from %s at step %d", ckpt, step)
    else:
        mean, std = input_stats(train_set, cfg.stats_utts, cfg.seed)
        model.set_input_stats(mean.to(dev), std.to(dev))
    amp = cfg.amp and dev.type == "cuda"
    av_targets = torch.tensor([AROUSAL_VALENCE[e] for e in EMOTIONS], device=dev)

    loader = torch.utils.data.DataLoader(
        train_set,
        batch_sampler=BalancedBatches(train_set.labels, cfg.batch_size, cfg.seed, step, cfg.max_steps, cfg.max_frames),
        collate_fn=collate_mels,
        num_workers=cfg.num_workers,
        pin_memory=dev.type == "cuda",
    )
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + step)
    model.train()
    bar = tqdm(total=cfg.max_steps, initial=step, desc="train-evaluator", unit="step", disable=not progress)
    run_loss, run_acc, run_n, t0 = 0.0, 0.0, 0, time.time()
    try:
        for batch in loader:
            mel, lens, labels = batch["mel"], batch["mel_lens"], batch["labels"].to(dev)
            mel = spec_augment(mel, lens, model.mel_mean.cpu(), cfg.freq_mask, cfg.time_mask, gen)
            mel, lens = mel.to(dev, non_blocking=True), lens.to(dev)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                out = model(mel, lens)
            logits = out["logits"].float()
            loss = F.cross_entropy(logits, labels, label_smoothing=cfg.label_smoothing)
            if "arousal_valence" in out:
                loss = loss + cfg.av_weight * F.mse_loss(out["arousal_valence"].float(), av_targets[labels])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            run_loss += loss.item()
            run_acc += float((logits.argmax(-1) == labels).float().mean())
            run_n += 1
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                metrics = {"loss": run_loss / run_n, "accuracy": run_acc / run_n, "lr": sched.get_last_lr()[0],
                           "grad_norm": float(grad_norm), "steps_per_s": run_n / max(time.time() - t0, 1e-6)}
                exp.log_metrics(step, metrics, split="train")
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.2f}")
                run_loss, run_acc, run_n, t0 = 0.0, 0.0, 0, time.time()
            if valid_set is not None and (step % cfg.valid_every == 0 or step == cfg.max_steps):
                res = evaluate(model, valid_set, dev)
                exp.log_metrics(step, {"loss": res["loss"], "accuracy": res["accuracy"], "uar": res["uar"]},
                                split="valid")
                save_confusion(exp_dir, res["confusion"], step)
                log.info("step %d: valid accuracy %.3f, UAR %.3f", step, res["accuracy"], res["uar"])
                if res["accuracy"] > best["accuracy"]:
                    best = {"accuracy": res["accuracy"], "uar": res["uar"], "step": step}
            if step % cfg.save_every == 0 or step == cfg.max_steps:
                save_checkpoint(checkpoint_path(exp_dir, step), step=step, models={"evaluator": model},
                                optimizers={"opt": opt}, schedulers={"sched": sched}, extra={"best": best})
                prune_checkpoints(exp_dir, cfg.keep_checkpoints)
    finally:
        bar.close()
    if valid_set is None:
        res = evaluate(model, train_set, dev)
        save_confusion(exp_dir, res["confusion"], step, title="training data (no --valid-data)")
        exp.log_metrics(step, {"accuracy": res["accuracy"], "uar": res["uar"]}, split="train_full")
    exp.close()
    if latest_checkpoint(exp_dir) is None:  # max_steps reached before: nothing was trained
        save_checkpoint(checkpoint_path(exp_dir, step), step=step, models={"evaluator": model},
                        optimizers={"opt": opt}, schedulers={"sched": sched}, extra={"best": best})
    return export_release(exp_dir, exp_dir / "release")


def _read_experiment(exp_dir: Path) -> tuple[EvaluatorExperimentConfig, AudioConfig]:
    if not (exp_dir / "config.yaml").is_file():
        raise ConfigError(f"{exp_dir}: no config.yaml; is this an evaluator experiment dir?")
    config = load_yaml(EvaluatorExperimentConfig, exp_dir / "config.yaml")
    if not (exp_dir / "audio.yaml").is_file():
        raise ConfigError(f"{exp_dir}: no audio.yaml (written when training starts)")
    audio = load_yaml(AudioConfig, exp_dir / "audio.yaml")
    return config, audio


def export_release(exp_dir: Path, out_dir: Path, checkpoint: Path | None = None) -> Path:
    """Write the evaluator release (config.yaml: model + audio; model.safetensors; meta.json)."""
    from promptevc.release import write_release
    from promptevc.train.checkpoint import latest_checkpoint, load_checkpoint

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    config, audio = _read_experiment(exp_dir)
    ckpt = Path(checkpoint) if checkpoint else latest_checkpoint(exp_dir)
    if ckpt is None or not ckpt.is_file():
        raise ModelLoadError(f"{exp_dir}: no checkpoint to export ({ckpt or 'checkpoints/ is empty'}); train first")
    model = EmotionEvaluator.from_config(config.model, audio.n_mels)
    step, extra = load_checkpoint(ckpt, models={"evaluator": model}, restore_rng=False)
    release_config = {"model": to_dict(config.model), "audio": to_dict(audio)}
    # Fail now, not at load time, if the config cannot rebuild this model.
    from_dict(EvaluatorConfig, release_config["model"])
    meta = {
        "labels": list(EMOTIONS),
        "audio": to_dict(audio),
        "step": step,
        "checkpoint": ckpt.name,
        "embed_dim": model.embed_dim,
        "best_valid": extra.get("best"),
    }
    out = write_release(out_dir, kind=KIND, config=release_config, tensors=model.state_dict(), meta=meta)
    log.info("wrote evaluator release %s (step %d)", out, step)
    return out
