"""``promptevc make-prompts``: write a Kaldi-style ``utt2prompt`` for training the neural model."""

from __future__ import annotations

import argparse
import logging
import random
from pathlib import Path

from promptevc.errors import ConfigError

NAME = "make-prompts"
HELP = "generate text prompts per utterance from utt2emo (+ utt2intensity) into utt2prompt"
DESCRIPTION = """Generate one training prompt per utterance from its emotion label (utt2emo) and, when
present, its intensity pseudo-label (utt2intensity, bucketed 30/40/30 into low/medium/high by the
corpus's own 30 % and 70 % quantiles unless --low/--high are given). Missing intensity = medium;
neutral utterances always get neutral prompts. Writes a sorted 'utt prompt text' file.

examples:
  promptevc make-prompts --data data/train
  promptevc make-prompts --data data/test --split heldout --seed 3 --out data/test/utt2prompt_heldout
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="Kaldi-style data dir with utt2emo")
    parser.add_argument("--split", choices=("train", "heldout"), default="train",
                        help="template set: train (>= 200 frames) or heldout (disjoint wording)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same prompts)")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: DATA/utt2prompt)")
    parser.add_argument("--low", type=float, default=None,
                        help="intensity below this is 'low' (default: 30 %% quantile of the data)")
    parser.add_argument("--high", type=float, default=None,
                        help="intensity at or above this is 'high' (default: 70 %% quantile of the data)")


def bucket_thresholds(values: list[float], low: float | None, high: float | None) -> tuple[float, float]:
    """30/70 % quantiles of ``values`` (0.3/0.7 with fewer than 10 values), unless given."""
    import numpy as np

    if len(values) >= 10:
        q_low, q_high = (float(v) for v in np.quantile(np.asarray(values, dtype=float), [0.3, 0.7]))
    else:
        q_low, q_high = 0.3, 0.7
    low = q_low if low is None else low
    high = q_high if high is None else high
    if not 0.0 <= low <= high <= 1.0:
        raise ConfigError(f"--low {low} / --high {high}: need 0 <= low <= high <= 1")
    return low, high


def run(args: argparse.Namespace) -> int:
    from promptevc.data.kaldi import read_scp, write_scp
    from promptevc.errors import PromptError
    from promptevc.prompt.control import normalise_label
    from promptevc.prompt.templates import bucket_for_intensity, generate_prompt

    data: Path = args.data
    if not data.is_dir():
        raise ConfigError(f"{data}: not a directory; give a Kaldi-style data dir with utt2emo")
    if not (data / "utt2emo").exists():
        raise ConfigError(f"{data}/utt2emo: missing; create it first (data preparation writes it)")
    utt2emo = read_scp(data / "utt2emo")
    if not utt2emo:
        raise ConfigError(f"{data}/utt2emo: empty")
    emotions: dict[str, str] = {}
    for utt, label in utt2emo.items():
        try:
            emotions[utt] = normalise_label(label)
        except PromptError as err:
            raise ConfigError(f"{data}/utt2emo: utterance {utt}: {err}") from None

    intensities: dict[str, float] = {}
    if (data / "utt2intensity").exists():
        for utt, value in read_scp(data / "utt2intensity").items():
            try:
                x = float(value)
            except ValueError:
                raise ConfigError(f"{data}/utt2intensity: utterance {utt}: {value!r} is not a number") from None
            if not 0.0 <= x <= 1.0:
                raise ConfigError(f"{data}/utt2intensity: utterance {utt}: {x} is outside [0, 1]")
            intensities[utt] = x
    else:
        log.info("%s/utt2intensity not found: every prompt uses the medium bucket", data)
    emotional = [intensities[u] for u in emotions if u in intensities and emotions[u] != "neutral"]
    low, high = bucket_thresholds(emotional, args.low, args.high)

    rng = random.Random(args.seed)
    prompts: dict[str, str] = {}
    counts: dict[str, int] = {}
    missing = 0
    for utt in sorted(emotions):  # sorted: the same seed gives the same file whatever the input order
        emotion = emotions[utt]
        if utt in intensities:
            bucket = bucket_for_intensity(intensities[utt], low, high)
        else:
            bucket = "medium"
            missing += emotion != "neutral"
        prompts[utt] = generate_prompt(emotion, bucket, rng, split=args.split)
        key = "neutral" if emotion == "neutral" else f"{emotion}/{bucket}"
        counts[key] = counts.get(key, 0) + 1
    out = args.out or data / "utt2prompt"
    write_scp(out, prompts)
    if intensities and missing:
        log.warning("%d emotional utterances have no intensity in utt2intensity; used 'medium'", missing)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"wrote {len(prompts)} prompts ({args.split} templates, buckets at {low:.2f}/{high:.2f}) to {out}: {summary}")
    return 0
