"""``promptevc evaluate``: objective metrics for converted speech, with a report."""

from __future__ import annotations

import argparse
import logging
import math

NAME = "evaluate"
HELP = "measure converted speech against its source (and a target): prosody change, MCD, speaker, WER, DNSMOS"
DESCRIPTION = """Measure converted speech: per utterance, per emotion and per intensity.

  promptevc evaluate --conv-dir converted/ --src-dir inputs/ --emotion sad --intensity 0.7 --out eval/
  promptevc evaluate --pairs pairs.csv --out eval/ --classifier exp/evaluator/release
  promptevc evaluate --pairs data/pairs_dir/ --out eval/ --no-asr --no-dnsmos

PAIRS is a CSV with a header (converted, source, and optional reference, emotion, intensity,
utt, text; paths relative to the CSV) or a folder with conv.scp and src.scp (optional ref.scp,
utt2emo, utt2intensity, text). --conv-dir/--src-dir pair files by name instead.

Writes DIR/utterances.csv (one row per converted file), DIR/summary.json (aggregates per emotion
and intensity, intensity monotonicity, failed pairs), DIR/report.md and PNG plots. Metrics:
change against the source (median F0 shift in semitones, F0 range ratio, tempo ratio = output
speech time / source speech time, energy change in dB), speaker similarity (GE2E cosine),
WER/CER of an offline recogniser (pocketsphinx by default) against --transcripts or the
source's own recognition, DNSMOS SIG/BAK/OVRL, and, with a target reference, MCD (WORLD
mel-cepstra c1..c24, DTW), F0 RMSE (Hz and log-F0 cents), V/UV agreement and duration
difference. --classifier adds emotion accuracy and posteriors. A pair that fails is reported
and skipped. Exit status: 0 when every pair was evaluated, 1 when some failed, 2 on a usage error.
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.commands._common import add_device_argument, unit_float

    src = parser.add_argument_group("what to evaluate (give --pairs, or --conv-dir with --src-dir)")
    src.add_argument("--pairs", default=None, metavar="PAIRS", help="CSV file or folder with conv.scp/src.scp")
    src.add_argument("--conv-dir", default=None, metavar="DIR", help="folder of converted files")
    src.add_argument("--src-dir", default=None, metavar="DIR", help="folder of source files with the same names")
    src.add_argument("--ref-dir", default=None, metavar="DIR",
                     help="folder of target reference files with the same names (enables MCD, F0 RMSE, DDUR)")
    src.add_argument("--emotion", default=None,
                     help="requested emotion for pairs that do not state one (neutral, angry, happy, sad, surprise)")
    src.add_argument("--intensity", type=unit_float, default=None,
                     help="requested intensity (0..1) for pairs that do not state one")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--transcripts", default=None, metavar="TEXTFILE",
                        help="Kaldi-style text file 'UTT words...' (key: utt or source file name without extension)")
    parser.add_argument("--asr", default="pocketsphinx", metavar="NAME",
                        help="recogniser for WER/CER: pocketsphinx (default, English, offline) or a transformers "
                             "ASR model id / folder")
    parser.add_argument("--no-asr", dest="asr", action="store_const", const=None, help="skip WER/CER")
    parser.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=True,
                        help="DNSMOS quality scores (speechmos)")
    parser.add_argument("--speaker-sim", action=argparse.BooleanOptionalAction, default=True,
                        help="GE2E speaker similarity (resemblyzer weights)")
    parser.add_argument("--classifier", default=None, metavar="RELEASE",
                        help="emotion evaluator release (kind 'evaluator') for accuracy and posteriors")
    parser.add_argument("--f0-method", choices=("dio", "harvest"), default="dio",
                        help="WORLD F0 estimator (harvest: more robust, ~10x slower)")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True, help="write PNG plots")
    parser.add_argument("--overwrite", action=argparse.BooleanOptionalAction, default=False,
                        help="replace the results of an earlier run in --out")
    add_device_argument(parser)


def _collect_pairs(args: argparse.Namespace):
    from promptevc.errors import ConfigError
    from promptevc.eval.pairs import check_emotion, pairs_from_dirs, read_pairs

    if args.intensity is not None and not (math.isfinite(args.intensity) and 0.0 <= args.intensity <= 1.0):
        raise ConfigError(f"--intensity {args.intensity}: must be a finite number in [0, 1]")
    emotion = check_emotion(args.emotion or "", "--emotion")
    if args.pairs:
        if args.conv_dir or args.src_dir or args.ref_dir:
            raise ConfigError("give either --pairs or --conv-dir/--src-dir, not both")
        pairs = read_pairs(args.pairs)
        for p in pairs:  # command-line emotion/intensity fill rows that do not state their own
            p.emotion = p.emotion or emotion
            if not math.isfinite(p.intensity) and args.intensity is not None:
                p.intensity = args.intensity
        return pairs
    if not (args.conv_dir and args.src_dir):
        raise ConfigError("nothing to evaluate: give --pairs PAIRS, or --conv-dir DIR and --src-dir DIR")
    return pairs_from_dirs(args.conv_dir, args.src_dir, args.ref_dir, emotion=emotion,
                           intensity=math.nan if args.intensity is None else args.intensity)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.commands._common import resolve_device
    from promptevc.errors import OutputExistsError
    from promptevc.eval.pairs import read_transcripts
    from promptevc.eval.runner import EvalOptions, evaluate
    from promptevc.outputs import inspect_output

    pairs = _collect_pairs(args)
    out = Path(args.out)
    if (out / "utterances.csv").exists() and not args.overwrite:
        raise OutputExistsError(f"{out}: holds results of an earlier run; pass --overwrite or choose another --out")
    inspect_output(out / "utterances.csv")  # a read-only or unwritable --out fails now, not after the metrics
    options = EvalOptions(
        asr=args.asr,
        dnsmos=args.dnsmos,
        speaker=args.speaker_sim,
        classifier=args.classifier,
        transcripts=read_transcripts(args.transcripts) if args.transcripts else {},
        f0_method=args.f0_method,
        device=resolve_device(args.device),
        plots=args.plots,
    )
    summary = evaluate(pairs, out, options)
    log.info("evaluated %d of %d pairs -> %s (report.md, utterances.csv, summary.json)",
             summary["n_ok"], summary["n_pairs"], out)
    print(f"{out / 'report.md'}: {summary['n_ok']} of {summary['n_pairs']} pairs evaluated"
          + (f", {summary['n_failed']} failed" if summary["n_failed"] else ""))
    return 1 if summary["n_failed"] else 0
