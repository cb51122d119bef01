"""``promptevc vocode``: copy synthesis (wav -> mel -> vocoder -> wav) to hear a vocoder."""

from __future__ import annotations

import argparse

from promptevc.commands._common import add_device_argument, resolve_device

NAME = "vocode"
HELP = "copy synthesis: resynthesise a recording through a vocoder (wav -> mel -> vocoder -> wav)"
DESCRIPTION = """\
Compute the mel spectrogram of IN.wav with the vocoder's own audio settings and turn it back into
audio with the vocoder, so you can hear what a vocoder does to a voice before converting with it.

--vocoder takes a Hugging Face repo id (default microsoft/speecht5_hifigan), a local vocoder
release (e.g. EXP/release from train-vocoder), an official HiFi-GAN folder or generator file, a
transformers SpeechT5HifiGan folder, or "griffin-lim" (a weightless vocoder for debugging only).

example:
  promptevc vocode in.wav -o resynth.wav --vocoder microsoft/speecht5_hifigan
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.models.vocoder import DEFAULT_VOCODER

    parser.add_argument("input", metavar="IN", help="input audio file (any format libsndfile reads)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output audio file (.wav, .flac)")
    parser.add_argument("--vocoder", default=DEFAULT_VOCODER, metavar="NAME",
                        help=f"vocoder repo id or path, or griffin-lim (default: {DEFAULT_VOCODER})")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --vocoder")
    parser.add_argument("--overwrite", action=argparse.BooleanOptionalAction, default=False,
                        help="replace OUT if it exists")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    import logging

    import numpy as np
    import torch

    from promptevc.audio import check_output_path, load_audio, process_in_chunks, write_audio
    from promptevc.config import InputConfig
    from promptevc.features.mel import MelSpectrogram
    from promptevc.models.vocoder import load_vocoder

    log = logging.getLogger(__name__)
    from pathlib import Path

    from promptevc.errors import AudioError

    # Cheap checks first: loading a vocoder can take seconds (or a download).
    if not Path(args.input).is_file():
        raise AudioError(f"{args.input}: no such file")
    out = check_output_path(args.output, [args.input], args.overwrite)
    device = resolve_device(args.device)
    vocoder = load_vocoder(args.vocoder, revision=args.revision, device=device)
    audio = vocoder.audio_config
    policy = InputConfig()
    wav = load_audio(args.input, audio, policy)
    mel_fn = MelSpectrogram(audio).to(device)

    def resynthesise(chunk: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            mel = mel_fn(torch.from_numpy(chunk).to(device).unsqueeze(0))
            out = vocoder(mel)[0, : len(chunk)].cpu().numpy()
        # An uncentred (HiFi-GAN preset) mel covers whole hops only: pad the tail back.
        return np.pad(out, (0, len(chunk) - len(out)))

    result = process_in_chunks(wav, audio.sample_rate, resynthesise, policy)
    write_audio(out, result, audio.sample_rate, overwrite=args.overwrite)
    log.info("vocoded %s with %s -> %s (%.2f s)", args.input, vocoder.name, out, len(result) / audio.sample_rate)
    print(out)
    return 0
