"""Training data for the acoustic model: a Kaldi-style data dir with dumped features and units.

Reads (NEURAL_CONTRACT.md): ``feats.scp`` (utt -> .npz with mel, f0, energy, spk_emb),
``units.scp`` (utt -> .npy, one k-means unit per mel frame), ``utt2emo``, ``utt2spk`` and, when
present, ``utt2intensity`` (else neutral = 0 and other emotions ``default_intensity``).

Each item gives the de-duplicated units with their run lengths (the duration targets), the mel,
speaker-normalised log-F0 / voicing / energy (statistics of the speaker's neutral speech, see
:mod:`promptevc.models.prosody`), the speaker embedding and the speaker's real log-F0 mean/std
(target of the F0 constraint), the emotion id and intensity, and a prompt generated on the fly
from the training templates for the emotion and its intensity bucket.

Items are addressed by ``(index, seed)`` pairs from :mod:`promptevc.data.sampler` (a plain index
works too): the crop and the prompt phrasing are drawn from the seed alone, so a batch is the
same whatever the DataLoader workers and whether training was resumed.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from promptevc.data.kaldi import DataDir
from promptevc.data.sampler import split_item
from promptevc.errors import ConfigError
from promptevc.models.prosody import ProsodyStats, normalise_prosody
from promptevc.prompt.control import EMOTIONS, normalise_label

log = logging.getLogger(__name__)

_DEGREE = {"low": "slightly", "medium": "", "high": "very"}


def make_training_prompt(emotion: str, intensity: float, rng: random.Random, split: str = "train") -> str:
    """A prompt for (emotion, intensity) from the training templates (a minimal fallback without them)."""
    try:
        from promptevc.prompt.templates import bucket_for_intensity, generate_prompt
    except ImportError:  # templates not installed: degree word + label
        bucket = "low" if intensity < 0.3 else "high" if intensity > 0.7 else "medium"
        if emotion == "neutral":
            return "neutral"
        return f"{_DEGREE[bucket]} {emotion}".strip()
    return generate_prompt(emotion, bucket_for_intensity(intensity), rng, split=split)


class AcousticDataset(torch.utils.data.Dataset):
    """Items of one data dir; see the module docstring. ``e_ref``: utt -> raw evaluator embedding."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        energy_scale_db: float = 10.0,
        max_frames: int = 1000,
        default_intensity: float = 0.5,
        heldout_prompt_fraction: float = 0.0,
        e_ref: dict[str, np.ndarray] | None = None,
        crop: bool = True,
    ) -> None:
        self.dir = DataDir(data_dir)
        self.energy_scale_db = energy_scale_db
        self.max_frames = max_frames
        self.heldout_prompt_fraction = heldout_prompt_fraction
        self.e_ref = e_ref
        self.crop = crop
        for name, fix in (
            ("feats.scp", "run promptevc dump-features --data DIR"),
            ("units.scp", "run promptevc fit-units (with --apply for this dir)"),
            ("utt2emo", "prepare the data dir with an utt2emo file"),
            ("utt2spk", "prepare the data dir with an utt2spk file"),
        ):
            if not self.dir.has(name):
                raise ConfigError(f"{self.dir.path}: no {name}; {fix}")
        feats, units = self.dir.get("feats.scp"), self.dir.get("units.scp")
        utt2emo, utt2spk = self.dir.get("utt2emo"), self.dir.get("utt2spk")
        utts = [u for u in feats if u in units and u in utt2emo and u in utt2spk]
        dropped = len(feats) - len(utts)
        if dropped:
            log.warning("%s: %d utterance(s) in feats.scp lack units, utt2emo or utt2spk; skipped", self.dir.path, dropped)
        if not utts:
            raise ConfigError(f"{self.dir.path}: no utterance has features, units, emotion and speaker")
        if e_ref is not None:
            missing = [u for u in utts if u not in e_ref]
            if missing:
                raise ConfigError(f"{self.dir.path}: no reference embedding for {missing[0]}")
        self.utts = utts
        self.feats = {u: self._path(feats[u]) for u in utts}
        self.units = {u: self._path(units[u]) for u in utts}
        try:
            self.emotion = {u: EMOTIONS.index(normalise_label(utt2emo[u])) for u in utts}
        except Exception as err:  # PromptError from normalise_label
            raise ConfigError(f"{self.dir.path / 'utt2emo'}: {err}") from None
        self.spk = {u: utt2spk[u] for u in utts}
        if self.dir.has("utt2intensity"):
            raw = self.dir.get("utt2intensity")
            try:
                self.intensity = {u: float(raw[u]) if u in raw else self._default(u, default_intensity) for u in utts}
            except ValueError as err:
                raise ConfigError(f"{self.dir.path / 'utt2intensity'}: {err}") from None
        else:
            log.warning("%s: no utt2intensity; using neutral 0 and %.2f for other emotions", self.dir.path,
                        default_intensity)
            self.intensity = {u: self._default(u, default_intensity) for u in utts}
        self.intensity = {u: (0.0 if self.emotion[u] == 0 else min(max(x, 0.0), 1.0)) for u, x in self.intensity.items()}
        self.speaker_stats = self._speaker_stats()

    def _default(self, utt: str, default: float) -> float:
        return 0.0 if self.emotion[utt] == 0 else default

    def _path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else self.dir.path / p

    def _speaker_stats(self) -> dict[str, np.ndarray]:
        """Per speaker :class:`ProsodyStats` (log-F0 centre, spread, voiced energy) of its neutral speech
        (all of its speech when it has no neutral utterance): the definition the engine uses.

        Also records every utterance's frame count (``num_frames``) for length bucketing.
        """
        by_spk: dict[str, dict[str, ProsodyStats]] = {}
        self.num_frames: list[int] = []
        for u in self.utts:
            with np.load(self.feats[u]) as z:
                f0, energy = z["f0"], z["energy"]
            self.num_frames.append(min(len(f0), len(energy)))
            slot = by_spk.setdefault(self.spk[u], {"neutral": ProsodyStats(), "all": ProsodyStats()})
            slot["all"].add(f0, energy)
            if self.emotion[u] == 0:
                slot["neutral"].add(f0, energy)
        return {spk: (slot["neutral"] if slot["neutral"].n_frames else slot["all"]).result()
                for spk, slot in by_spk.items()}

    def __len__(self) -> int:
        return len(self.utts)

    def batch_lengths(self) -> list[int]:
        """Frames each item has in a batch (after the crop): what length bucketing sorts by."""
        return [min(n, self.max_frames) if self.crop else n for n in self.num_frames]

    def load_mel(self, idx: int) -> np.ndarray:
        with np.load(self.feats[self.utts[idx]]) as z:
            return z["mel"]

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, Any]:
        from promptevc.features.content import collapse_runs

        idx, seed = split_item(item)
        utt = self.utts[idx]
        with np.load(self.feats[utt]) as z:
            mel, f0, energy, spk_emb = z["mel"], z["f0"], z["energy"], z["spk_emb"]
        units = np.load(self.units[utt])
        n = min(mel.shape[1], len(f0), len(energy), len(units))
        mel, f0, energy, units = mel[:, :n], f0[:n], energy[:n], units[:n]
        ids, runs = collapse_runs(units)
        rng = random.Random(seed)
        if self.crop and n > self.max_frames:
            # Crop whole runs so durations stay exact.
            ends = np.cumsum(runs)
            starts = ends - runs
            first = rng.randrange(0, max(1, int(np.searchsorted(ends, n - self.max_frames)) + 1))
            last = int(np.searchsorted(ends, starts[first] + self.max_frames, side="right"))
            last = max(last, first + 1)
            lo, hi = int(starts[first]), int(ends[last - 1])
            ids, runs = ids[first:last], runs[first:last]
            mel, f0, energy = mel[:, lo:hi], f0[lo:hi], energy[lo:hi]
        stats = self.speaker_stats[self.spk[utt]]
        lf0, voiced, energy_n = normalise_prosody(f0, energy, stats, self.energy_scale_db)
        emotion = EMOTIONS[self.emotion[utt]]
        split = "heldout" if self.heldout_prompt_fraction > 0 and rng.random() < self.heldout_prompt_fraction else "train"
        item = {
            "utt": utt,
            "units": ids.astype(np.int64),
            "durations": runs.astype(np.int64),
            "mel": mel.astype(np.float32),
            "lf0": lf0,
            "voiced": voiced,
            "energy": energy_n,
            "spk_emb": spk_emb.astype(np.float32),
            "spk_f0_stats": stats[:2].copy(),
            "emotion": self.emotion[utt],
            "intensity": self.intensity[utt],
            "prompt": make_training_prompt(emotion, self.intensity[utt], rng, split=split),
        }
        if self.e_ref is not None:
            item["e_ref"] = np.asarray(self.e_ref[utt], dtype=np.float32)
        return item


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Pad a list of items into a batch.

    units / durations (B, N) zero-padded with unit_lens (B,); mel (B, n_mels, F) padded with the
    utterance minimum; lf0 / voiced / energy (B, F) zero-padded; mel_lens (B,); spk_emb (B, D);
    spk_f0_stats (B, 2); emotion (B,) long; intensity (B,); prompts list[str]; utts list[str];
    e_ref (B, E) when present.
    """
    b = len(items)
    n_max = max(len(it["units"]) for it in items)
    f_max = max(it["mel"].shape[1] for it in items)
    n_mels = items[0]["mel"].shape[0]
    units = torch.zeros(b, n_max, dtype=torch.long)
    durations = torch.zeros(b, n_max, dtype=torch.long)
    mel = torch.zeros(b, n_mels, f_max)
    lf0 = torch.zeros(b, f_max)
    voiced = torch.zeros(b, f_max)
    energy = torch.zeros(b, f_max)
    for i, it in enumerate(items):
        n, f = len(it["units"]), it["mel"].shape[1]
        units[i, :n] = torch.from_numpy(it["units"])
        durations[i, :n] = torch.from_numpy(it["durations"])
        mel[i] = float(it["mel"].min())
        mel[i, :, :f] = torch.from_numpy(it["mel"])
        lf0[i, :f] = torch.from_numpy(it["lf0"])
        voiced[i, :f] = torch.from_numpy(it["voiced"])
        energy[i, :f] = torch.from_numpy(it["energy"])
    batch = {
        "units": units,
        "durations": durations,
        "unit_lens": torch.tensor([len(it["units"]) for it in items]),
        "mel": mel,
        "mel_lens": torch.tensor([it["mel"].shape[1] for it in items]),
        "lf0": lf0,
        "voiced": voiced,
        "energy": energy,
        "spk_emb": torch.from_numpy(np.stack([it["spk_emb"] for it in items])),
        "spk_f0_stats": torch.from_numpy(np.stack([it["spk_f0_stats"] for it in items])),
        "emotion": torch.tensor([it["emotion"] for it in items], dtype=torch.long),
        "intensity": torch.tensor([it["intensity"] for it in items], dtype=torch.float32),
        "prompts": [it["prompt"] for it in items],
        "utts": [it["utt"] for it in items],
    }
    if "e_ref" in items[0]:
        batch["e_ref"] = torch.from_numpy(np.stack([it["e_ref"] for it in items]))
    return batch


def mel_stats(dataset: AcousticDataset, max_utts: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and std (n_mels,) of the log-mel over up to ``max_utts`` utterances."""
    idx = list(range(len(dataset)))
    random.Random(seed).shuffle(idx)
    total, total_sq, count = None, None, 0
    for i in idx[:max_utts]:
        mel = dataset.load_mel(i).astype(np.float64)
        total = mel.sum(1) if total is None else total + mel.sum(1)
        total_sq = (mel**2).sum(1) if total_sq is None else total_sq + (mel**2).sum(1)
        count += mel.shape[1]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-6))
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()
