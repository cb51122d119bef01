"""``promptevc train-vocoder``: train or fine-tune a HiFi-GAN or Vocos vocoder on a Kaldi data dir."""

from __future__ import annotations

import argparse
import sys

from promptevc.commands._common import TRAINING_HELP, add_training_arguments

NAME = "train-vocoder"
HELP = "train or fine-tune a HiFi-GAN or Vocos vocoder (MPD + MSD, mel + feature-matching + GAN losses)"
DESCRIPTION = """\
Train a vocoder generator (the config's architecture: hifigan, or vocos = ConvNeXt + inverse-STFT
head, the fast CPU choice) on the recordings of a Kaldi data dir (wav.scp), or fine-tune a
pretrained vocoder with --init (a promptevc vocoder release, hifigan-universal, an official
HiFi-GAN checkpoint or a transformers SpeechT5HifiGan, by path or Hugging Face repo id). Input mels are computed from the
audio, or read from --mels-from DIR/<utt>.npy (teacher-forced acoustic-model mels).
EXP/release/ holds a generator-only release usable as --vocoder EXP/release.

examples:
  promptevc train-vocoder --config vocoder_tiny --data data/train --exp exp/voc_tiny
  promptevc train-vocoder --config vocoder_vocos --data data/train --exp exp/vocos
  promptevc train-vocoder --config vocoder_v1 --data data/train --exp exp/voc_ft \\
      --init microsoft/speecht5_hifigan --mels-from dump/mels --set train.max_steps=20000
"""
DESCRIPTION += "\n" + TRAINING_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="Kaldi data dir with wav.scp")
    parser.add_argument("--init", default=None, metavar="NAME_OR_PATH",
                        help="pretrained vocoder to fine-tune (folder, file or Hugging Face repo id)")
    parser.add_argument("--mels-from", default=None, metavar="DIR",
                        help="folder of model-generated mels <utt>.npy to train on instead of ground-truth mels")
    add_training_arguments(parser, "vocoder_tiny, vocoder_v1")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from promptevc.commands._common import load_training_config, print_result
    from promptevc.train.loop import fit
    from promptevc.train.vocoder import VocoderExperimentConfig, VocoderTask

    config = load_training_config(args, VocoderExperimentConfig, "vocoder")
    if args.init:
        config = dataclasses.replace(config, init=args.init)
    if args.mels_from:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, mels_from=args.mels_from))
    print_result(fit(VocoderTask(config, args.data), args.exp, device=args.device, precision=args.precision,
                     argv=["promptevc", *sys.argv[1:]], progress=args.progress))
    return 0
