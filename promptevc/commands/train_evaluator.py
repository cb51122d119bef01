"""``promptevc train-evaluator``: train the speech emotion evaluator (recipe stage 3)."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import add_device_argument, add_set_argument, resolve_device

NAME = "train-evaluator"
HELP = "train the emotion evaluator (SER classifier, e_ref embedding) on a dumped data dir"
DESCRIPTION = """Train the emotion evaluator on dumped log-mels (feats.scp) and utt2emo labels.

--config takes a YAML file or a packaged name (tiny, base). Re-running with the same --exp
resumes from its latest checkpoint. At the end the release is written to EXP/release (or run
promptevc export --exp EXP --out DIR). Validation accuracy, UAR and EXP/confusion_matrix.png
come from --valid-data.

Example:
  promptevc train-evaluator --config base --data data/train --valid-data data/valid --exp exp/evaluator
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML config or packaged name: tiny, base")
    parser.add_argument("--data", required=True, help="training data dir (feats.scp, utt2emo)")
    parser.add_argument("--valid-data", default=None, help="validation data dir")
    parser.add_argument("--exp", required=True, help="experiment dir (created; resumed when it exists)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: train.seed of the config)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    add_set_argument(parser)
    add_device_argument(parser)


def resolve_config_path(name: str) -> str:
    """A packaged config name (tiny, base) -> its path; anything else is returned as is."""
    from pathlib import Path

    packaged = Path(__file__).resolve().parents[1] / "configs" / f"evaluator_{name}.yaml"
    if "/" not in name and not name.endswith((".yaml", ".yml")) and packaged.is_file():
        return str(packaged)
    return name


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.config import apply_overrides
    from promptevc.errors import ConfigError
    from promptevc.train.evaluator import load_config, train_evaluator

    for flag, d in (("--data", args.data), ("--valid-data", args.valid_data)):
        if d is not None and not Path(d).is_dir():
            raise ConfigError(f"{flag} {d}: no such directory")
    cfg = load_config(resolve_config_path(args.config), args.overrides)
    if args.seed is not None:
        cfg = apply_overrides(cfg, [f"train.seed={args.seed}"])
    release = train_evaluator(cfg, args.data, args.exp, valid_dir=args.valid_data, device=resolve_device(args.device),
                              argv=["promptevc", *sys.argv[1:]], progress=args.progress)
    print(release)
    return 0
