"""``promptevc make-mini-corpus``: synthesise the espeak-ng mini corpus in ESD's layout."""

from __future__ import annotations

import argparse

NAME = "make-mini-corpus"
HELP = "synthesise the small espeak-ng corpus in ESD's layout (a pipeline check, not a model)"
DESCRIPTION = """\
Writes OUT/<spk>/<Emotion>/<spk>_<index>.wav (16 kHz) and OUT/<spk>/<spk>.txt as ESD does, with
four espeak-ng voices and five emotions that differ by prosody in the directions of ESD's English
statistics (happy/surprise higher and wider F0, angry higher and louder, sad slower and quieter).
Needs espeak-ng (apt-get install espeak-ng). Prepare it with:
  promptevc prepare-data --corpus mini --root OUT --out data
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="corpus folder to create")
    parser.add_argument("--speakers", nargs="+", metavar="SPK", help="subset of 0011 0012 0015 0016")
    parser.add_argument("--n-dev", type=int, default=2, help="sentences per speaker x emotion in dev")
    parser.add_argument("--n-test", type=int, default=4, help="... in test")
    parser.add_argument("--n-train", type=int, default=18, help="... in train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nj", type=int, default=2, help="parallel espeak-ng processes")
    parser.add_argument("--overwrite", action=argparse.BooleanOptionalAction, default=False)


def run(args: argparse.Namespace) -> int:
    from promptevc.data.corpora.mini import make_mini_corpus

    info = make_mini_corpus(
        args.out,
        speakers=args.speakers,
        n_dev=args.n_dev,
        n_test=args.n_test,
        n_train=args.n_train,
        seed=args.seed,
        nj=args.nj,
        overwrite=args.overwrite,
    )
    print(f"{args.out}: {info['utterances']} utterances from {info['speakers']} speakers")
    return 0
