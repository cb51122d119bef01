"""``promptevc train``: train the PromptEVC acoustic model (recipe stage 6)."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import add_device_argument, add_set_argument

NAME = "train"
HELP = "train the neural PromptEVC acoustic model + prompt mapper on a dumped data dir"
DESCRIPTION = """Train the PromptEVC acoustic model (content units + speaker + emotion -> mel).

Needs a data dir with feats.scp (promptevc dump-features), units.scp (promptevc fit-units),
utt2emo, utt2spk and optionally utt2intensity (promptevc label-intensity). Re-running with the
same --exp resumes from its latest checkpoint. Multi-GPU: torchrun --nproc_per_node N
$(which promptevc) train ... . At the end the release is written to EXP/release.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML config (e.g. promptevc/configs/acoustic_base.yaml)")
    parser.add_argument("--data", required=True, help="training data dir")
    parser.add_argument("--valid-data", default=None, help="validation data dir")
    parser.add_argument("--exp", required=True, help="experiment dir (created; resumed when it exists)")
    parser.add_argument("--units", default=None, help="units dir from promptevc fit-units (stored in the release)")
    parser.add_argument("--evaluator", default=None,
                        help="emotion evaluator release (folder or repo id): e_ref and the emotion loss")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: train.seed of the config)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_set_argument(parser)
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from promptevc.config import apply_overrides, load_yaml
    from promptevc.models.config import ExperimentConfig
    from promptevc.train.acoustic import train

    cfg = load_yaml(ExperimentConfig, args.config, args.overrides)
    if args.seed is not None:
        cfg = apply_overrides(cfg, [f"train.seed={args.seed}"])
    # "auto" is resolved per process by init_distributed (cuda:LOCAL_RANK under torchrun).
    release = train(cfg, args.data, args.exp, valid_dir=args.valid_data, units_dir=args.units,
                    evaluator=args.evaluator, device=args.device, argv=["promptevc", *sys.argv[1:]],
                    progress=args.progress)
    print(release)
    return 0
