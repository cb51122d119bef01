"""``promptevc convert``: convert files, folders or a Kaldi wav.scp with a text prompt."""

from __future__ import annotations

import argparse
import logging

NAME = "convert"
HELP = "convert speech to the emotion a text prompt describes"
DESCRIPTION = """Convert recordings so they sound the way a prompt describes, keeping words and speaker.

  promptevc convert in.wav -o out.wav --prompt "slightly sad"
  promptevc convert recordings/ --out-dir converted/ --prompt "very happy"
  promptevc convert data/test/wav.scp --out-dir out/ --emotion angry --intensity 0.7

INPUT may be audio files, folders (searched recursively for audio files; an --out-dir inside
the folder is never searched) or a Kaldi wav.scp (outputs named UTT.wav). One input takes
-o OUT (any of .wav .flac .ogg .mp3 .aiff .au .caf .w64 .rf64: the format follows the name);
several need --out-dir DIR (outputs DIR/NAME.wav, sub-folders kept). The output keeps the
input's sample rate, channel count and sample format unless --sample-rate, --mono or --subtype
say otherwise. Every output path is checked before the first conversion: none may be an input,
leave --out-dir or be shared by two inputs. Existing outputs are kept (skipped in a batch)
unless --overwrite. The default engine (prosody) needs no model: it renders the emotion by
changing pitch, tempo, loudness, spectral tilt, pauses, voice quality and contour
shape (--profile esd: ESD's own sad F0). --engine neural --model RELEASE uses
a trained release (its output is resampled from the model's rate): the model itself reads the
prompt (--control learned), or a reference recording (--ref REF.wav, without a prompt) gives
the emotion; --ref with a prompt or --emotion is an error. The neural engine runs on torch's CPU
threads (all cores by default; set --threads N or OMP_NUM_THREADS).
Exit status: 0 when every input was converted or skipped, 1 when some failed, 2 on a usage error.
"""

log = logging.getLogger(__name__)



def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.commands._common import (
        add_device_argument,
        positive_float,
        sample_rate_int,
        seed_int,
        unit_float,
    )

    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file(s), folder(s) or a Kaldi wav.scp")
    parser.add_argument("-p", "--prompt", default=None, help='emotion description, e.g. "slightly sad"')
    parser.add_argument("-o", "--output", default=None, metavar="OUT", help="output file (one input only)")
    parser.add_argument("--out-dir", default=None, metavar="DIR", help="output folder (several inputs)")
    parser.add_argument(
        "--emotion", default=None,
        help="neutral, angry, happy, sad or surprise; the prosody engine also fear, disgust, boredom, tenderness, "
        "elation (overrides the prompt's emotion)"
    )
    parser.add_argument("--intensity", type=unit_float, default=None,
                        help="0..1 (overrides the prompt's intensity; 0 returns the input unchanged)")
    parser.add_argument("--engine", choices=("prosody", "neural"), default="prosody",
                        help="conversion engine (default: prosody)")
    parser.add_argument("--model", default=None, metavar="RELEASE", help="release folder or repo id (neural)")
    parser.add_argument("--vocoder", default=None, metavar="NAME", help="vocoder folder or repo id (neural)")
    parser.add_argument(
        "--ref", default=None, metavar="REF.wav",
        help="emotion reference recording (neural): replaces the prompt; embedding, emotion mixture and "
             "intensity come from the release's evaluator; --intensity sets the strength instead",
    )
    parser.add_argument(
        "--control", choices=("learned", "parser"), default=None,
        help="neural only: who reads the prompt. learned (default): the trained model (emotion descriptor and "
             "prompt mapper); parser: the zero-shot parser, for comparison. With --emotion, the emotion replaces "
             "the prompt's emotion everywhere (mixture and embedding: --prompt \"very happy\" --emotion sad "
             "renders \"very sad\"); the prompt keeps setting the intensity (unless --intensity) and the "
             "tempo/pitch/volume hints, which are always read by the parser",
    )
    parser.add_argument(
        "--prompt-mapper", choices=("diffusion", "projection"), default=None,
        help="neural only: how the model turns the prompt's text embedding into the emotion embedding. diffusion "
             "(default): sampled by the diffusion prompt mapper (seeded by --seed); projection: the release's linear "
             "e_txt -> e_ref head, the 'w/o prompt mapper' ablation",
    )
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="neural only: torch CPU threads (default: torch's default, all cores; OMP_NUM_THREADS also works)",
    )
    add_device_argument(parser)
    parser.add_argument(
        "--overwrite", action=argparse.BooleanOptionalAction, default=False,
        help="replace existing outputs (default: keep them; a batch skips them)"
    )
    parser.add_argument("--seed", type=seed_int, default=None,
                        help="random seed, 0..4294967295 (neural sampling; default 0)")
    # --profile (prosody engine): which per-emotion profile set; see promptevc/engines/profiles.py.
    parser.add_argument(
        "--profile", choices=("literature", "esd"), default=None,
        help="prosody engine profile set: 'literature' (default; sad lowers F0, as the cross-corpus studies "
        "report) or 'esd' (ESD's own statistics: sad raises F0 slightly)",
    )
    parser.add_argument(
        "--max-seconds", type=positive_float, default=None, help="refuse inputs longer than this (default 600)"
    )
    parser.add_argument("--sample-rate", type=sample_rate_int, default=None, metavar="HZ",
                        help="output sample rate (default: the input's)")
    parser.add_argument("--mono", action=argparse.BooleanOptionalAction, default=False,
                        help="write mono output (default: the input's channel count)")
    parser.add_argument("--subtype", default=None, metavar="SUBTYPE",
                        help="output sample format: PCM_16, PCM_24, FLOAT ... (default: the input's when the "
                             "output format can store it)")


def run(args: argparse.Namespace) -> int:
    from promptevc.api import Converter
    from promptevc.batch import collect_jobs, plan_jobs
    from promptevc.config import InputConfig
    from promptevc.errors import ConfigError
    from promptevc.outputs import choose_subtype, output_format

    jobs = collect_jobs(args.inputs, args.output, args.out_dir)
    # Outputs, formats and --subtype are checked before the engine is loaded or anything converted.
    planned = plan_jobs(jobs, out_dir=args.out_dir, overwrite=args.overwrite, skip_existing=len(jobs) > 1)
    if args.subtype:
        for fmt in sorted({output_format(p.job.output) for p in planned}):
            choose_subtype(fmt, args.subtype, None)
    policy = InputConfig() if args.max_seconds is None else InputConfig(max_seconds=args.max_seconds)
    if args.engine != "neural":
        for flag, value in (("--control", args.control), ("--threads", args.threads),
                            ("--prompt-mapper", args.prompt_mapper)):
            if value is not None:
                raise ConfigError(f"{flag} is an option of the neural engine; add --engine neural --model RELEASE")
    converter = Converter.load(
        engine=args.engine, model=args.model, vocoder=args.vocoder, device=args.device, policy=policy,
        profile=args.profile,
    )
    if args.engine == "neural":
        converter.engine.set_control_mode(args.control or "learned")
        converter.engine.set_prompt_mapper(args.prompt_mapper or "diffusion")
        if args.threads is not None:
            import torch

            if args.threads < 1:
                raise ConfigError(f"--threads {args.threads}: need at least 1")
            torch.set_num_threads(args.threads)
    # --ref alone: the reference gives the emotion (the engine reads it); only --intensity may be set.
    control = converter.control(args.prompt, emotion=args.emotion, intensity=args.intensity,
                                reference=args.engine == "neural" and args.ref is not None)
    if args.engine == "neural" and converter.engine.control_mode == "learned":
        log.info("parser's reading (the neural engine takes only its hints; the model reads the prompt): %s",
                 control.summary())
    else:
        log.info("prompt understood as: %s", control.summary())
    for warning in control.warnings:
        log.warning("%s", warning)
    options = dict(control=control, ref_path=args.ref, seed=args.seed, overwrite=args.overwrite,
                   out_sample_rate=args.sample_rate, mono=args.mono, subtype=args.subtype)

    if len(jobs) == 1:
        # A single conversion fails loudly: its error is the command's error (exit 2).
        converter.convert_file(jobs[0].source, jobs[0].output, **options)
        log.info("wrote %s", jobs[0].output)
        return 0

    result = converter.convert_many(jobs, out_dir=args.out_dir, **options)
    print(result.summary())
    for job, reason in result.failed:
        print(f"  failed: {reason if reason.startswith(job.source) else f'{job.source}: {reason}'}")
    return 0 if result.ok else 1
