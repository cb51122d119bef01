"""``promptevc export``: turn a training experiment into a release folder."""

from __future__ import annotations

import argparse
import logging

NAME = "export"
HELP = "write a release (config.yaml, model.safetensors, meta.json) from a training experiment"
DESCRIPTION = """Export the latest (or a chosen) checkpoint of an experiment as a release.

The experiment kind (acoustic, evaluator, vocoder) is read from EXP/experiment.json. A release
holds only what inference needs (architecture config, AudioConfig, labels, encoder ids with
revisions, weights), nothing of training; load it with Converter.load(model=RELEASE) or
--model RELEASE.
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exp", required=True, help="experiment dir of a training run")
    parser.add_argument("--out", required=True, help="release folder to write")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint file, 'best' (best validation result) or 'latest' (default)")


def run(args: argparse.Namespace) -> int:
    from promptevc.train.loop import export_release

    print(export_release(args.exp, args.out, args.checkpoint))
    return 0
