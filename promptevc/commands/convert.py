"""``promptevc convert``: convert files, folders or a Kaldi wav.scp with a text prompt."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

NAME = "convert"
HELP = "convert speech to the emotion a text prompt describes"
DESCRIPTION = """Convert recordings so they sound the way a prompt describes, keeping words and speaker.

  promptevc convert in.wav -o out.wav --prompt "slightly sad"
  promptevc convert recordings/ --out-dir converted/ --prompt "very happy"
  promptevc convert data/test/wav.scp --out-dir out/ --emotion angry --intensity 0.7

INPUT may be audio files, folders (searched recursively for .wav/.flac/.ogg/.mp3) or a Kaldi
wav.scp (outputs named UTT.wav). One input takes -o OUT; several need --out-dir DIR. Existing
outputs are kept (skipped in a batch) unless --overwrite; an output may never replace its input.
The default engine (prosody) needs no model: it renders the emotion by changing pitch, tempo,
loudness, spectral tilt and pauses. --engine neural --model RELEASE uses a trained release: the
model itself reads the prompt (--control learned), or a reference recording (--ref REF.wav,
without a prompt) gives the emotion; --ref with a prompt or --emotion is an error. The neural
engine runs on torch's CPU threads (all cores by default; set --threads N or OMP_NUM_THREADS).
Exit status: 0 when every input was converted or skipped, 1 when some failed, 2 on a usage error.
"""

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass
class Job:
    """One conversion: ``source`` (path text as given) -> ``output``."""

    source: str
    output: Path | None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.commands._common import add_device_argument

    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file(s), folder(s) or a Kaldi wav.scp")
    parser.add_argument("-p", "--prompt", default=None, help='emotion description, e.g. "slightly sad"')
    parser.add_argument("-o", "--output", default=None, metavar="OUT", help="output file (one input only)")
    parser.add_argument("--out-dir", default=None, metavar="DIR", help="output folder (several inputs)")
    parser.add_argument(
        "--emotion", default=None, help="neutral, angry, happy, sad or surprise (overrides the prompt's emotion)"
    )
    parser.add_argument("--intensity", type=float, default=None, help="0..1 (overrides the prompt's intensity)")
    parser.add_argument("--engine", choices=("prosody", "neural"), default="prosody", help="conversion engine")
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
        "--threads", type=int, default=None, metavar="N",
        help="neural only: torch CPU threads (default: torch's default, all cores; OMP_NUM_THREADS also works)",
    )
    add_device_argument(parser)
    parser.add_argument(
        "--overwrite", action=argparse.BooleanOptionalAction, default=False, help="replace existing outputs"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (neural sampling)")
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="refuse inputs longer than this (default 600)"
    )


def _scan_dir(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def collect_jobs(inputs: list[str], output: str | None, out_dir: str | None) -> list[Job]:
    """Expand INPUT arguments into jobs and decide output paths (one rule per input kind)."""
    from promptevc.data.kaldi import read_scp
    from promptevc.errors import AudioError, ConfigError

    if output and out_dir:
        raise ConfigError("give either -o OUT (one input) or --out-dir DIR, not both")
    entries: list[tuple[str, str]] = []  # (source, output name relative to out_dir)
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _scan_dir(path)
            if not found:
                raise AudioError(f"{path}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            entries += [(str(p), str(p.relative_to(path).with_suffix(".wav"))) for p in found]
        elif path.suffix == ".scp" and path.is_file():
            try:
                scp = read_scp(path)
            except (OSError, UnicodeDecodeError) as err:
                raise AudioError(f"{path}: cannot read the scp file ({err})") from None
            if not scp:
                raise AudioError(f"{path}: the scp file lists no utterances")
            entries += [(value, f"{utt}.wav") for utt, value in scp.items()]
        else:
            entries.append((item, path.with_suffix(".wav").name))
    if output:
        if len(entries) != 1:
            raise ConfigError(f"-o takes one input but {len(entries)} were given; use --out-dir DIR")
        return [Job(entries[0][0], Path(output))]
    if not out_dir:
        raise ConfigError("no output given; use -o OUT for one input or --out-dir DIR")
    names = [name for _, name in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"several inputs would be written to {Path(out_dir) / dupes[0]}; convert them separately")
    return [Job(src, Path(out_dir) / name) for src, name in entries]


def _same_file(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve() or (b.exists() and Path(a).exists() and b.samefile(a))
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    from promptevc.api import Converter
    from promptevc.config import InputConfig
    from promptevc.errors import ConfigError, PromptEVCError

    jobs = collect_jobs(args.inputs, args.output, args.out_dir)
    policy = InputConfig() if args.max_seconds is None else InputConfig(max_seconds=args.max_seconds)
    if args.engine != "neural":
        for flag, value in (("--control", args.control), ("--threads", args.threads)):
            if value is not None:
                raise ConfigError(f"{flag} is an option of the neural engine; add --engine neural --model RELEASE")
    converter = Converter.load(
        engine=args.engine, model=args.model, vocoder=args.vocoder, device=args.device, policy=policy
    )
    if args.engine == "neural":
        converter.engine.set_control_mode(args.control or "learned")
        if args.threads is not None:
            import torch

            if args.threads < 1:
                raise ConfigError(f"--threads {args.threads}: need at least 1")
            torch.set_num_threads(args.threads)
    if args.engine == "neural" and args.ref is not None and args.prompt is None and args.emotion is None:
        # --ref alone: the reference gives the emotion (the engine reads it); only --intensity may be set.
        from promptevc.prompt.control import EmotionControl

        control = EmotionControl.from_label("neutral").with_overrides(intensity=args.intensity)
    else:
        control = converter.control(args.prompt, emotion=args.emotion, intensity=args.intensity)
    if args.engine == "neural" and converter.engine.control_mode == "learned":
        log.info("parser's reading (the neural engine takes only its hints; the model reads the prompt): %s",
                 control.summary())
    else:
        log.info("prompt understood as: %s", control.summary())
    for warning in control.warnings:
        log.warning("%s", warning)

    def convert_one(job: Job) -> None:
        converter.convert_file(
            job.source, job.output, control=control, ref_path=args.ref, seed=args.seed, overwrite=args.overwrite
        )

    if len(jobs) == 1:
        # A single conversion fails loudly: its error is the command's error (exit 2).
        convert_one(jobs[0])
        log.info("wrote %s", jobs[0].output)
        return 0

    from tqdm import tqdm

    converted, skipped, failed = 0, 0, []
    for job in tqdm(jobs, desc="converting", unit="file", disable=None):
        if _same_file(job.source, job.output):
            failed.append((job.source, f"{job.output}: output would overwrite the input; choose another --out-dir"))
            continue
        if job.output.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            convert_one(job)
            converted += 1
        except PromptEVCError as err:
            failed.append((job.source, str(err)))
        except Exception as err:  # one broken file must not stop a batch; keep the reason
            log.debug("unexpected error on %s", job.source, exc_info=True)
            failed.append((job.source, f"{type(err).__name__}: {err}"))
    log.info("converted %d, skipped %d (exists), failed %d", converted, skipped, len(failed))
    print(f"converted {converted}, skipped {skipped} (exists), failed {len(failed)}")
    for source, reason in failed:
        print(f"  failed: {reason if reason.startswith(source) else f'{source}: {reason}'}")
    return 0 if not failed else 1
