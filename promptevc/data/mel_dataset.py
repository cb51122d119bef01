"""Log-mels and emotion labels of a dumped data dir: the emotion evaluator's data.

:class:`MelDataset` reads ``feats.scp`` (the ``mel`` of each npz, lazily) and ``utt2emo``.
Training items are ``(index, seed)`` pairs from :mod:`promptevc.data.sampler`: a random crop
of at most ``crop_frames`` frames and light SpecAugment (one frequency and one time mask, filled
with the per-bin input mean) are drawn from the seed. A plain index gives the whole utterance,
unaugmented (validation, intensity labelling, e_ref).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from promptevc.data.kaldi import DataDir
from promptevc.data.sampler import split_item
from promptevc.errors import ConfigError
from promptevc.prompt.control import EMOTIONS


@dataclasses.dataclass
class SpecAugment:
    """One frequency mask of up to ``freq_mask`` bins and one time mask of up to ``time_mask``
    frames (at most a fifth of the utterance), filled with ``fill (n_mels,)``."""

    freq_mask: int
    time_mask: int
    fill: np.ndarray

    def __call__(self, mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mel = mel.copy()
        n_mels, frames = mel.shape
        if self.freq_mask > 0:
            w = int(rng.integers(0, self.freq_mask + 1))
            f0 = int(rng.integers(0, max(1, n_mels - w)))
            mel[f0 : f0 + w] = self.fill[f0 : f0 + w, None]
        if self.time_mask > 0:
            w = min(int(rng.integers(0, self.time_mask + 1)), frames // 5)
            t0 = int(rng.integers(0, max(1, frames - w)))
            mel[:, t0 : t0 + w] = self.fill[:, None]
        return mel


class MelDataset(torch.utils.data.Dataset):
    """Log-mels and emotion ids of a dumped data dir; items are read from the npz lazily."""

    def __init__(self, data_dir: str | Path, require_labels: bool = True, crop_frames: int = 0,
                 augment: SpecAugment | None = None) -> None:
        from promptevc.data.dump import NUM_FRAMES, read_feats_config

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
        self.crop_frames = crop_frames
        self.augment = augment
        self._num_frames = None
        if self.dir.has(NUM_FRAMES):
            counts = self.dir.get(NUM_FRAMES)
            if all(u in counts for u in self.utts):
                self._num_frames = [int(counts[u]) for u in self.utts]

    def __len__(self) -> int:
        return len(self.utts)

    def restrict(self, keep: set[str] | frozenset[str]) -> "MelDataset":
        """Keep only the utterances in ``keep`` (in place; e.g. the training folds of a cross-fit)."""
        idx = [i for i, u in enumerate(self.utts) if u in keep]
        if not idx:
            raise ConfigError(f"{self.dir.path}: none of its utterances is left after the selection")
        self.utts = [self.utts[i] for i in idx]
        self.paths = [self.paths[i] for i in idx]
        self.labels = self.labels[idx]
        if self._num_frames is not None:
            self._num_frames = [self._num_frames[i] for i in idx]
        return self

    @property
    def num_frames(self) -> list[int]:
        """Frames of each utterance (utt2num_frames, or read from the features once)."""
        if self._num_frames is None:
            self._num_frames = [self.mel(i).shape[1] for i in range(len(self))]
        return self._num_frames

    def batch_lengths(self) -> list[int]:
        """Frames each training item has in a batch (after the crop): what length bucketing sorts by."""
        return [min(n, self.crop_frames) if self.crop_frames else n for n in self.num_frames]

    def mel(self, i: int) -> np.ndarray:
        try:
            with np.load(self.paths[i]) as z:
                return z["mel"].astype(np.float32)
        except (OSError, KeyError, ValueError) as err:
            raise ConfigError(f"{self.paths[i]}: cannot read the dumped mel ({err}); dump features again") from None

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[np.ndarray, int]:
        i, seed = split_item(item)
        mel = self.mel(i)
        if isinstance(item, tuple):  # a training item: crop and augment
            rng = np.random.default_rng(seed)
            if self.crop_frames and mel.shape[1] > self.crop_frames:
                start = int(rng.integers(0, mel.shape[1] - self.crop_frames + 1))
                mel = mel[:, start : start + self.crop_frames]
            if self.augment is not None:
                mel = self.augment(mel, rng)
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
