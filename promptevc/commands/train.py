"""``promptevc train``: train the PromptEVC acoustic model (recipe stage 6)."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import TRAINING_HELP, add_training_arguments

NAME = "train"
HELP = "train the neural PromptEVC acoustic model + prompt mapper on a dumped data dir"
DESCRIPTION = """Train the PromptEVC acoustic model (content units + speaker + emotion -> mel).

Needs a data dir with feats.scp (promptevc dump-features), units.scp (promptevc fit-units),
utt2emo, utt2spk and optionally utt2intensity (promptevc label-intensity). The AudioConfig, the
speaker backbone and embedding size, the number of units (--units) and the evaluator's
embedding size (--evaluator) are taken from the data.

Example:
  promptevc train --config acoustic_base --data data/train --valid-data data/dev --exp exp/acoustic \\
      --units exp/units --evaluator exp/evaluator/release
"""
DESCRIPTION += "\n" + TRAINING_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training data dir")
    parser.add_argument("--valid-data", default=None, help="validation data dir")
    parser.add_argument("--units", default=None, help="units dir from promptevc fit-units (stored in the release)")
    parser.add_argument("--evaluator", default=None,
                        help="emotion evaluator release (folder or repo id): e_ref and the emotion loss")
    add_training_arguments(parser, "acoustic_tiny, acoustic_base")


def run(args: argparse.Namespace) -> int:
    from promptevc.commands._common import check_dirs, load_training_config, print_result
    from promptevc.train.acoustic import AcousticExperimentConfig, AcousticTask
    from promptevc.train.loop import fit

    check_dirs(data=args.data, valid_data=args.valid_data, units=args.units)
    cfg = load_training_config(args, AcousticExperimentConfig, "acoustic")
    task = AcousticTask(cfg, args.data, valid_dir=args.valid_data, units_dir=args.units, evaluator=args.evaluator)
    print_result(fit(task, args.exp, device=args.device, precision=args.precision,
                     argv=["promptevc", *sys.argv[1:]], progress=args.progress))
    return 0
