#!/usr/bin/env python
"""A synthetic stand-in for ESD in the real corpus's layout and with its quirks (tests, benchmarks).

  python local/make_synthetic_esd.py OUT [--language english|mandarin|both] [--speakers 10]
         [--per-block 70] [--seconds 3.0] [--nj 2] [--seed 0]

Writes ``OUT/Emotion Speech Dataset/<spk>/...`` with everything the ESD data prep must cope with
(papers.md §3.3, promptevc/data/corpora/esd.py): a root folder name with spaces; per speaker,
in turn, the flat ``<spk>/<Emotion>/`` layout, ``train/evaluation/test`` subfolders and the
paper's "Training Set/Evaluation Set/Test Set" folders; transcripts ``<spk>/<spk>.txt`` in UTF-8,
UTF-16 LE with and without BOM, Latin-1 (accented text) and GB2312 (Mandarin), with CRLF line ends
and some lines separated by spaces instead of tabs. File names and the split follow ESD: sentence
``k`` of emotion block ``b`` is ``<spk>_<b * 350 + k:06d>``; ``--per-block N`` takes N positions
per speaker x emotion in ESD's 20/30/300 dev/test/train proportions (at least one each).

The audio is not speech: a glottal source through vowel formants (promptevc.utils.synth) with a
per-speaker F0 and the emotion differences ESD shows (papers.md §3.4: happy/surprise higher and
wider F0, angry louder, sad slower), 16 kHz PCM_16, durations drawn around ``--seconds`` (ESD
averages about 3.0 s: 29 h over 35 000 files). It exercises the recipe's data handling, timings
and sizes; it says nothing about model quality.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT_NAME = "Emotion Speech Dataset"
EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")  # ESD's block order
# (F0 shift in semitones, F0 range in semitones, level dB, syllable seconds) per emotion.
STYLE = {"Neutral": (0.0, 2.0, -22.0, 0.20), "Angry": (2.0, 3.0, -16.0, 0.19), "Happy": (4.5, 4.5, -19.0, 0.19),
         "Sad": (-1.5, 1.2, -25.0, 0.24), "Surprise": (5.5, 5.0, -19.0, 0.20)}
# Per speaker in turn: (layout, transcript encoding, separator).
QUIRKS = [("flat", "utf-8", "\t"), ("split-lower", "utf-16-bom", "\t"), ("split-paper", "latin-1", " "),
          ("flat", "utf-16-nobom", " ")]
SPLIT_FOLDERS = {"split-lower": {"dev": "evaluation", "test": "test", "train": "train"},
                 "split-paper": {"dev": "Evaluation Set", "test": "Test Set", "train": "Training Set"}}
ENGLISH_TEXT = ["Sentence {k} at the café, I keep.", "The nine eggs, {k} of them, naïvely kept.",
                "Her résumé had {k} pages.", "A quick word number {k}."]
MANDARIN_TEXT = ["我们明天见，第{k}句。", "今天天气很好，第{k}句。"]


def positions(per_block: int) -> list[int]:
    """Sentence positions 1-350 of one speaker x emotion, in ESD's 20/30/300 proportions."""
    n_dev = max(1, round(per_block * 20 / 350))
    n_test = max(1, round(per_block * 30 / 350))
    n_train = max(1, per_block - n_dev - n_test)
    return [*range(1, 1 + n_dev), *range(21, 21 + n_test), *range(51, 51 + min(n_train, 300))]


def split_of(k: int) -> str:
    return "dev" if k <= 20 else "test" if k <= 50 else "train"


def speakers_for(language: str, n: int) -> list[str]:
    english = [f"{i:04d}" for i in range(11, 21)][:n]
    mandarin = [f"{i:04d}" for i in range(1, 11)][:n]
    return {"english": english, "mandarin": mandarin, "both": mandarin + english}[language]


def _synth(job: tuple[str, float, float, float, float, float, int]) -> None:
    import soundfile as sf

    from promptevc.utils.synth import synth_speech

    path, f0, rng_st, level, syl, seconds, seed = job
    wav = synth_speech(f0_hz=f0, seconds=seconds, sample_rate=16000, syllable_seconds=syl, f0_range_st=rng_st,
                       level_db=level, seed=seed)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, 16000, subtype="PCM_16")


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-nobom":
        return text.encode("utf-16-le")
    return text.encode(encoding)


def make_synthetic_esd(out: str | Path, language: str = "english", n_speakers: int = 10, per_block: int = 70,
                       seconds: float = 3.0, nj: int = 1, seed: int = 0) -> Path:
    """Write the tree (see module doc); returns the ``Emotion Speech Dataset`` folder."""
    root = Path(out) / ROOT_NAME
    rng = np.random.default_rng(seed)
    jobs = []
    for s, spk in enumerate(speakers_for(language, n_speakers)):
        mandarin = int(spk) <= 10
        layout, encoding, sep = ("flat", "gb2312", "\t") if mandarin else QUIRKS[s % len(QUIRKS)]
        base_f0 = 110.0 + 90.0 * (s % 2) + 8.0 * s  # male-like and female-like voices in turn
        lines = []
        for block, emotion in enumerate(EMOTIONS):
            shift, rng_st, level, syl = STYLE[emotion]
            for k in positions(per_block):
                utt = f"{spk}_{block * 350 + k:06d}"
                folder = root / spk / emotion
                if layout in SPLIT_FOLDERS:
                    folder = folder / SPLIT_FOLDERS[layout][split_of(k)]
                dur = float(np.clip(rng.normal(seconds, 0.25 * seconds), max(0.6 * seconds, 0.8), 1.6 * seconds))
                f0 = base_f0 * 2 ** ((shift + rng.normal(0, 0.5)) / 12)
                jobs.append((str(folder / f"{utt}.wav"), f0, rng_st, level, syl, dur, int(rng.integers(1 << 30))))
                text = (MANDARIN_TEXT if mandarin else ENGLISH_TEXT)[k % 2 if mandarin else k % 4].format(k=k)
                label = "惊喜" if mandarin and emotion == "Surprise" else emotion
                lines.append(f"{utt}{sep}{text}{sep}{label}")
        (root / spk).mkdir(parents=True, exist_ok=True)
        (root / spk / f"{spk}.txt").write_bytes(_encode("\r\n".join(lines) + "\r\n", encoding))
    if nj > 1:
        with ProcessPoolExecutor(nj) as pool:
            list(pool.map(_synth, jobs, chunksize=16))
    else:
        for job in jobs:
            _synth(job)
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output folder (gets 'Emotion Speech Dataset/' inside)")
    p.add_argument("--language", choices=("english", "mandarin", "both"), default="english")
    p.add_argument("--speakers", type=int, default=10, help="speakers per language (default: %(default)s)")
    p.add_argument("--per-block", type=int, default=70, help="utterances per speaker x emotion (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=3.0, help="mean duration (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    root = make_synthetic_esd(args.out, args.language, args.speakers, args.per_block, args.seconds, args.nj, args.seed)
    n = sum(1 for _ in root.rglob("*.wav"))
    print(f"{root}: {n} utterances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
