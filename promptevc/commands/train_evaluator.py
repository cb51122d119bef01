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

Example:
  promptevc train-evaluator --config base --data data/train --valid-data data/valid --exp exp/evaluator
"""
DESCRIPTION += "\n" + TRAINING_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training data dir (feats.scp, utt2emo)")
    parser.add_argument("--valid-data", default=None, help="validation data dir")
    add_training_arguments(parser, "tiny, base")


def run(args: argparse.Namespace) -> int:
    from promptevc.commands._common import check_dirs, load_training_config, print_result
    from promptevc.train.evaluator import EvaluatorExperimentConfig, EvaluatorTask
    from promptevc.train.loop import fit

    check_dirs(data=args.data, valid_data=args.valid_data)
    cfg = load_training_config(args, EvaluatorExperimentConfig, "evaluator")
    print_result(fit(EvaluatorTask(cfg, args.data, valid_dir=args.valid_data), args.exp, device=args.device,
                     precision=args.precision, argv=["promptevc", *sys.argv[1:]], progress=args.progress))
    return 0
