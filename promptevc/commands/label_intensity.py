"""``promptevc label-intensity``: emotion-intensity pseudo-labels from the evaluator (recipe stage 4)."""

from __future__ import annotations

import argparse

from promptevc.commands._common import add_device_argument, resolve_device

NAME = "label-intensity"
HELP = "write DATADIR/utt2intensity: per speaker x emotion rank of the distance from neutral, in [0, 1]"
DESCRIPTION = """Pseudo-label emotion intensity with a trained emotion evaluator (EINet/Emovox style).

Each utterance is scored by how far the evaluator places it from its speaker's neutral speech
(projection on the neutral -> emotion direction of the evaluator embedding, or the log-odds of
its emotion against neutral with --method logodds); scores are ranked within speaker x emotion
and scaled to [0, 1]; neutral utterances get 0. --reference-data takes the centroids from
another dir (e.g. the training set) for small dev/test sets.

Example:
  promptevc label-intensity --data data/train --evaluator exp/evaluator/release
  promptevc label-intensity --data data/test --evaluator exp/evaluator/release --reference-data data/train
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="data dir with feats.scp, utt2spk, utt2emo")
    parser.add_argument("--evaluator", required=True, help="evaluator release (folder or Hugging Face repo id)")
    parser.add_argument("--reference-data", default=None, help="data dir giving the neutral/emotion centroids")
    parser.add_argument("--method", choices=("projection", "logodds"), default="projection",
                        help="distance from neutral (default: %(default)s)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.data.intensity import label_intensity
    from promptevc.errors import ConfigError

    for flag, d in (("--data", args.data), ("--reference-data", args.reference_data)):
        if d is not None and not Path(d).is_dir():
            raise ConfigError(f"{flag} {d}: no such directory")
    labels = label_intensity(args.data, args.evaluator, reference_dir=args.reference_data, method=args.method,
                             device=resolve_device(args.device), progress=args.progress)
    print(f"{Path(args.data) / 'utt2intensity'}: {len(labels)} utterances")
    return 0
