"""``promptevc train-evaluator``: train the speech emotion evaluator (recipe stage 3)."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import TRAINING_HELP, add_training_arguments

NAME = "train-evaluator"
HELP = "train the emotion evaluator (SER classifier, e_ref embedding) on a dumped data dir"
DESCRIPTION = """Train the emotion evaluator on dumped log-mels (feats.scp) and utt2emo labels.

Validation accuracy, UAR and EXP/confusion_matrix.png come from --valid-data; the checkpoint
with the best validation accuracy is kept (promptevc export --checkpoint best). The mel
settings (AudioConfig) are taken from the dumped features.

Cross-fitting of the intensity pseudo-labels (recipe stage 3): --fold k/K trains on every fold
of --data but fold k (folds by speaker when the data has at least K speakers, else by utterance
inside each speaker x emotion group; --fold-by to choose) and records the held-out fold in its
release, so that `promptevc label-intensity --cross-fit` labels fold k with it and never lets an
evaluator label an utterance it trained on.

Example:
  promptevc train-evaluator --config base --data data/train --valid-data data/valid --exp exp/evaluator
  promptevc train-evaluator --config base --data data/train --fold 2/4 --exp exp/evaluator_folds/fold2
"""
DESCRIPTION += "\n" + TRAINING_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training data dir (feats.scp, utt2emo)")
    parser.add_argument("--valid-data", default=None, help="validation data dir")
    parser.add_argument("--fold", type=_fold, default=None, metavar="K/N",
                        help="cross-fitting: train on every fold of --data but fold K of N (default: all of it)")
    parser.add_argument("--fold-by", choices=("auto", "speaker", "utterance"), default=None,
                        help="how --fold splits the data (default: auto = by speaker when there are N speakers)")
    add_training_arguments(parser, "tiny, base")


def _fold(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        fold, folds = int(k), int(n)
    except ValueError:
        fold = folds = 0
    if not sep or folds < 2 or not 1 <= fold <= folds:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: give K/N with N >= 2 and 1 <= K <= N, e.g. 2/4")
    return fold, folds


def run(args: argparse.Namespace) -> int:
    from promptevc.commands._common import check_dirs, load_training_config, print_result
    from promptevc.train.evaluator import EvaluatorExperimentConfig, EvaluatorTask
    from promptevc.train.loop import fit

    check_dirs(data=args.data, valid_data=args.valid_data)
    if args.fold is not None:
        args.overrides = [*args.overrides, f"data.fold={args.fold[0]}", f"data.folds={args.fold[1]}"]
    if args.fold_by is not None:
        if args.fold is None:
            from promptevc.errors import ConfigError

            raise ConfigError("--fold-by needs --fold K/N")
        args.overrides = [*args.overrides, f"data.fold_by={args.fold_by}"]
    cfg = load_training_config(args, EvaluatorExperimentConfig, "evaluator")
    print_result(fit(EvaluatorTask(cfg, args.data, valid_dir=args.valid_data), args.exp, device=args.device,
                     precision=args.precision, argv=["promptevc", *sys.argv[1:]], progress=args.progress))
    return 0
