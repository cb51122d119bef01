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

Cross-fitting (recipe stage 4 for the training set): --cross-fit takes the K fold evaluators of
`promptevc train-evaluator --fold k/K`; each labels only the fold it did not train on (checked
against the digests its release records), ranked within fold x speaker x emotion. Use it for the
data the evaluators were trained on; dev/test sets, which no evaluator trained on, take --evaluator.

Example:
  promptevc label-intensity --data data/train --cross-fit exp/evaluator_folds/fold{1,2,3,4}/release
  promptevc label-intensity --data data/test --evaluator exp/evaluator/release --reference-data data/train
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="data dir with feats.scp, utt2spk, utt2emo")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--evaluator", help="evaluator release (folder or Hugging Face repo id)")
    who.add_argument("--cross-fit", nargs="+", metavar="RELEASE",
                     help="the fold evaluators of train-evaluator --fold k/K (one per fold)")
    parser.add_argument("--reference-data", default=None, help="data dir giving the neutral/emotion centroids")
    parser.add_argument("--method", choices=("projection", "logodds"), default="projection",
                        help="distance from neutral (default: %(default)s)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.data.intensity import cross_fit_labels, label_intensity
    from promptevc.errors import ConfigError

    for flag, d in (("--data", args.data), ("--reference-data", args.reference_data)):
        if d is not None and not Path(d).is_dir():
            raise ConfigError(f"{flag} {d}: no such directory")
    if args.cross_fit:
        if args.reference_data:
            raise ConfigError("--reference-data does not apply to --cross-fit (centroids come from each fold)")
        labels, labeller = cross_fit_labels(args.data, args.cross_fit, method=args.method,
                                            device=resolve_device(args.device), progress=args.progress)
        by = {}
        for name in labeller.values():
            by[name] = by.get(name, 0) + 1
        print(f"{Path(args.data) / 'utt2intensity'}: {len(labels)} utterances, cross-fitted: "
              + ", ".join(f"{n} by {name}" for name, n in by.items()))
        return 0
    labels = label_intensity(args.data, args.evaluator, reference_dir=args.reference_data, method=args.method,
                             device=resolve_device(args.device), progress=args.progress)
    print(f"{Path(args.data) / 'utt2intensity'}: {len(labels)} utterances")
    return 0
