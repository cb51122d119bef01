"""``promptevc export``: turn a training experiment into a release folder."""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

NAME = "export"
HELP = "write a release (config.yaml, model.safetensors, meta.json) from a training experiment"
DESCRIPTION = """Export the latest (or a chosen) checkpoint of an experiment as a release.

The experiment kind (acoustic, evaluator, vocoder) is read from EXP/experiment.json. A release
holds only what inference needs; load it with Converter.load(model=RELEASE) or --model RELEASE.
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exp", required=True, help="experiment dir of a training run")
    parser.add_argument("--out", required=True, help="release folder to write")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: the latest in EXP/checkpoints)")


def run(args: argparse.Namespace) -> int:
    from promptevc.errors import ConfigError
    from promptevc.train import TRAINERS
    from promptevc.train.experiment import read_experiment_kind

    kind = read_experiment_kind(args.exp)
    if kind not in TRAINERS:
        raise ConfigError(f"{args.exp}: unknown experiment kind {kind!r}")
    module = importlib.import_module(TRAINERS[kind])
    out = module.export_release(Path(args.exp), Path(args.out), Path(args.checkpoint) if args.checkpoint else None)
    log.info("exported %s release to %s", kind, out)
    print(out)
    return 0
