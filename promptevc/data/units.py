"""Content units for data dirs (recipe stage 5, ``promptevc fit-units``).

:func:`fit_units` samples frames of the dumped ``content`` features of a training dir, fits
standardisation stats and k-means, saves a units dir (:meth:`UnitExtractor.save`), and
:func:`apply_units` writes ``DATADIR/units/<utt>.npy`` (int64, one unit per mel frame) and
``DATADIR/units.scp`` for any dumped data dir with the same content settings.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path

import numpy as np
import torch

from promptevc.config import AudioConfig
from promptevc.data.dump import FEATS_SCP, read_feats_config
from promptevc.data.kaldi import read_scp, write_scp
from promptevc.errors import ConfigError
from promptevc.features.content import ContentConfig, KMeans, UnitExtractor

log = logging.getLogger(__name__)

UNITS_DIR = "units"
UNITS_SCP = "units.scp"


def _feats_scp(data_dir: Path) -> dict[str, str]:
    path = data_dir / FEATS_SCP
    if not path.is_file():
        raise ConfigError(f"{data_dir}: no {FEATS_SCP}; run promptevc dump-features --data {data_dir} first")
    scp = read_scp(path)
    if not scp:
        raise ConfigError(f"{path}: is empty")
    return scp


def _same_content(a: ContentConfig, b: ContentConfig) -> bool:
    # k is decided by fit-units, not by the dump.
    return dataclasses.replace(a, k=2) == dataclasses.replace(b, k=2)


def fit_units(
    train_dir: str | Path,
    out_dir: str | Path,
    k: int = 100,
    *,
    max_frames: int = 200_000,
    n_iter: int = 50,
    seed: int = 0,
    minibatch_size: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> UnitExtractor:
    """Fit standardisation + k-means on (at most ``max_frames``) content frames of ``train_dir``.

    ``minibatch_size=None`` picks full Lloyd iterations up to 100k frames and mini-batches of
    10k frames above. Saves the units dir and returns the :class:`UnitExtractor`.
    """
    from tqdm import tqdm

    train = Path(train_dir)
    audio, content, _ = read_feats_config(train)
    try:
        cfg = dataclasses.replace(content, k=k)
    except ValueError as err:
        raise ConfigError(f"--k {k}: {err}") from None
    scp = _feats_scp(train)
    rng = np.random.default_rng(seed)
    per_utt = max(1, math.ceil(max_frames / len(scp)))
    chunks = []
    for utt, path in tqdm(scp.items(), desc="read content", unit="utt", disable=not progress):
        feats = _load_content(path, utt)
        if len(feats) > per_utt:
            feats = feats[np.sort(rng.choice(len(feats), per_utt, replace=False))]
        chunks.append(feats)
    frames = np.concatenate(chunks, axis=0)
    if len(frames) > max_frames:
        frames = frames[rng.choice(len(frames), max_frames, replace=False)]
    if len(frames) < k:
        raise ConfigError(f"{train}: only {len(frames)} content frames for k={k} units; lower --k or add data")
    x = torch.from_numpy(frames.astype(np.float32))
    mean = x.mean(0)
    std = x.std(0).clamp_min(1e-5)
    if minibatch_size is None and len(x) > 100_000:
        minibatch_size = 10_000
    km = KMeans(k, n_iter=n_iter, seed=seed, minibatch_size=minibatch_size, device=device)
    km.fit((x - mean) / std)
    extractor = UnitExtractor(cfg, km.centroids.cpu(), mean, std, audio=audio, device=device)
    extractor.save(out_dir)
    log.info(
        "fitted %d units on %d frames of %s (%s): mean squared distance %.3f, %d iterations",
        k, len(x), train, cfg.describe(), km.inertia_, km.n_iter_,
    )
    return extractor


def _load_content(path: str, utt: str) -> np.ndarray:
    try:
        with np.load(path) as z:
            return z["content"]
    except (OSError, KeyError, ValueError) as err:
        raise ConfigError(f"{path} ({utt}): cannot read dumped content features ({err}); dump again") from None


def apply_units(
    extractor: UnitExtractor, data_dir: str | Path, *, progress: bool = True
) -> dict[str, int]:
    """Write ``DATADIR/units/<utt>.npy`` and ``units.scp`` for every dumped utterance.

    Returns a histogram {unit: count}. The data dir must be dumped with the same content and
    audio settings as the units.
    """
    from tqdm import tqdm

    data = Path(data_dir)
    audio, content, _ = read_feats_config(data)
    if not _same_content(content, extractor.cfg):
        raise ConfigError(
            f"{data}: features were dumped with content '{content.describe()}' but the units use "
            f"'{extractor.cfg.describe()}'; dump it again with the same --content options"
        )
    if audio != extractor.audio:
        raise ConfigError(
            f"{data}: audio settings differ from the units' ({AudioConfig.describe_difference(audio, extractor.audio)}); "
            "dump it again with the same audio preset"
        )
    scp = _feats_scp(data)
    out_dir = data / UNITS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, str] = {}
    counts = np.zeros(extractor.k, dtype=np.int64)
    for utt, path in tqdm(scp.items(), desc=f"units {data.name}", unit="utt", disable=not progress):
        with np.load(path) as z:
            feats, n_frames = z["content"], int(z["mel"].shape[1])
        units = extractor.units_from_features(feats, n_frames)
        out = (out_dir / f"{utt}.npy").resolve()
        tmp = out.with_name(f".{out.name}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, units.astype(np.int64))
        os.replace(tmp, out)
        entries[utt] = str(out)
        counts += np.bincount(units, minlength=extractor.k)
    write_scp(data / UNITS_SCP, entries)
    used = int((counts > 0).sum())
    log.info("%s: wrote units for %d utterances (%d of %d units used)", data, len(entries), used, extractor.k)
    return {i: int(c) for i, c in enumerate(counts)}
