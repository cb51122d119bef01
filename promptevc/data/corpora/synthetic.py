"""A synthetic emotional corpus made with numpy alone, in seconds: for smoke checks and benchmarks.

Not speech and not a model's training data: syllabic harmonic signals
(:func:`promptevc.utils.synth.synth_speech`) whose F0 level and range, syllable rate and level
follow coarse per-emotion profiles in the directions of ESD's categories (happy and surprise
higher and wider, angry louder and faster, sad lower, slower and quieter). No espeak-ng, no
download. ``write_synthetic_corpus`` writes Kaldi data dirs (``wav.scp``, ``utt2spk``,
``spk2utt``, ``utt2emo``, ``text``), the input of ``promptevc dump-features``; utterance lengths
vary so length bucketing has something to do.

    python -m promptevc.data.corpora.synthetic OUT [--train-per-class 2] [--dev-per-class 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from promptevc.prompt.control import EMOTIONS

# emotion: (F0 ratio, F0 range in semitones, syllable seconds, level dB)
PROFILES = {
    "neutral": (1.0, 2.0, 0.22, -20.0),
    "angry": (1.2, 4.0, 0.17, -12.0),
    "happy": (1.4, 6.0, 0.19, -16.0),
    "sad": (0.9, 1.2, 0.32, -26.0),
    "surprise": (1.6, 8.0, 0.20, -15.0),
}
SPEAKERS = {"spk1": 120.0, "spk2": 210.0}


def write_synthetic_corpus(root: str | Path, sets: dict[str, int] | None = None,
                           speakers: dict[str, float] | None = None, seconds: tuple[float, float] = (1.5, 3.5),
                           seed: int = 0) -> dict[str, Path]:
    """Write ``root/wav/*.wav`` and one data dir per set (``{name: utterances per speaker and emotion}``)."""
    import soundfile as sf

    from promptevc.data.kaldi import spk2utt_from_utt2spk, write_scp
    from promptevc.utils.synth import synth_speech

    root = Path(root)
    sets = sets or {"train": 2, "dev": 1}
    speakers = speakers or SPEAKERS
    rng = np.random.default_rng(seed)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    dirs = {}
    for name, per_class in sets.items():
        wav_scp, utt2spk, utt2emo, text = {}, {}, {}, {}
        for spk, base_f0 in speakers.items():
            for emotion in EMOTIONS:
                ratio, f0_range, syllable, level = PROFILES[emotion]
                for i in range(per_class):
                    utt = f"{spk}_{emotion}_{name}{i:02d}"
                    wav = synth_speech(f0_hz=base_f0 * ratio, seconds=float(rng.uniform(*seconds)),
                                       syllable_seconds=syllable, f0_range_st=f0_range, level_db=level,
                                       vowels="aieou"[i % 5:] + "aieou"[: i % 5], seed=int(rng.integers(2**31)))
                    path = root / "wav" / f"{utt}.wav"
                    sf.write(path, wav, 16000, subtype="PCM_16")
                    wav_scp[utt], utt2spk[utt], utt2emo[utt], text[utt] = str(path.resolve()), spk, emotion, "la la"
        data = root / name
        write_scp(data / "wav.scp", wav_scp)
        write_scp(data / "utt2spk", utt2spk)
        write_scp(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
        write_scp(data / "utt2emo", utt2emo)
        write_scp(data / "text", text)
        dirs[name] = data
    return dirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output folder (data dirs OUT/train, OUT/dev; audio in OUT/wav)")
    parser.add_argument("--train-per-class", type=int, default=2, help="utterances per speaker and emotion (train)")
    parser.add_argument("--dev-per-class", type=int, default=1, help="utterances per speaker and emotion (dev)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, path in write_synthetic_corpus(args.out, {"train": args.train_per_class, "dev": args.dev_per_class},
                                             seed=args.seed).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
