"""``promptevc train-vocoder``: train or fine-tune a HiFi-GAN or Vocos vocoder on a Kaldi data dir."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import add_device_argument, add_set_argument, resolve_device

NAME = "train-vocoder"
HELP = "train or fine-tune a HiFi-GAN or Vocos vocoder (MPD + MSD, mel + feature-matching + GAN losses)"
DESCRIPTION = """\
Train a vocoder generator (the config's architecture: hifigan, or vocos = ConvNeXt + inverse-STFT
head, the fast CPU choice) on the recordings of a Kaldi data dir (wav.scp), or fine-tune a
pretrained vocoder with --init (a promptevc vocoder release, hifigan-universal, an official
HiFi-GAN checkpoint or a transformers SpeechT5HifiGan, by path or Hugging Face repo id). Input mels are computed from the
audio, or read from --mels-from DIR/<utt>.npy (teacher-forced acoustic-model mels).

Training resumes from the latest checkpoint in --exp. When it ends, EXP/release/ holds a
generator-only release usable as --vocoder EXP/release. Multi-GPU: run under torchrun.

examples:
  promptevc train-vocoder --config vocoder_tiny --data data/train --exp exp/voc_tiny
  promptevc train-vocoder --config vocoder_vocos --data data/train --exp exp/vocos
  promptevc train-vocoder --config vocoder_v1 --data data/train --exp exp/voc_ft \\
      --init microsoft/speecht5_hifigan --mels-from dump/mels --set train.max_steps=20000
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True,
                        help="training config YAML, or a packaged name: vocoder_tiny, vocoder_v1, vocoder_vocos, "
                             "vocoder_vocos_tiny")
    parser.add_argument("--data", required=True, help="Kaldi data dir with wav.scp")
    parser.add_argument("--exp", required=True, help="experiment dir (checkpoints, logs, release/)")
    parser.add_argument("--init", default=None, metavar="NAME_OR_PATH",
                        help="pretrained vocoder to fine-tune (folder, file or Hugging Face repo id)")
    parser.add_argument("--mels-from", default=None, metavar="DIR",
                        help="folder of model-generated mels <utt>.npy to train on instead of ground-truth mels")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help="show a progress bar")
    add_set_argument(parser)
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import os

    from promptevc.train.vocoder import load_training_config, train_vocoder

    config = load_training_config(args.config, args.overrides)
    if args.init:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, init=args.init))
    if args.mels_from:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, mels_from=args.mels_from))
    device = args.device if args.device != "auto" else resolve_device("auto")
    release = train_vocoder(config, args.data, args.exp, device=device, argv=["promptevc"] + sys.argv[1:],
                            progress=args.progress)
    if int(os.environ.get("RANK", "0")) == 0:  # one line, not one per torchrun process
        print(release)
    return 0
