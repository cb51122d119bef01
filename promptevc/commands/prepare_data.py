"""``promptevc prepare-data``: a corpus copy -> Kaldi-style train/dev/test data dirs (recipe stage 1)."""

from __future__ import annotations

import argparse

NAME = "prepare-data"
HELP = "prepare Kaldi-style train/dev/test data dirs from ESD (or the synthetic mini corpus)"
DESCRIPTION = """\
Scan a corpus copy and write DATA_ROOT/{train,dev,test}/ with sorted wav.scp, utt2spk, spk2utt,
text and utt2emo, then validate them.

ESD: files are found recursively (flat per-emotion folders or train/evaluation/test subfolders);
the split comes from the utterance index, as ESD defines it per speaker x emotion: sentences
1-20 dev (ESD's "evaluation"), 21-50 test, 51-350 train. Transcripts in ASCII, Latin-1, UTF-8,
UTF-16 (with or without BOM) or GB2312, with tabs or spaces, are all read. English speakers
0011-0020 by default; --language mandarin for 0001-0010; --speakers for any subset.
ESD is licence-gated: request it from https://github.com/HLTSingapore/Emotional-Speech-Data.

mini: the espeak-ng corpus in ESD's layout (a pipeline check, not a model); --make-corpus
synthesises it into --root first when it is not there yet.

examples:
  promptevc prepare-data --corpus esd --root "/data/Emotion Speech Dataset" --out data
  promptevc prepare-data --corpus mini --root corpus/mini --make-corpus --out data
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", choices=["esd", "mini"], default="esd", help="corpus type (default: esd)")
    parser.add_argument("--root", required=True, help="corpus folder (any folder above the speaker folders)")
    parser.add_argument("--out", required=True, help="data root; train/, dev/ and test/ are written below it")
    parser.add_argument(
        "--language",
        choices=["english", "mandarin"],
        default="english",
        help="ESD speakers: english 0011-0020 (default) or mandarin 0001-0010",
    )
    parser.add_argument("--speakers", nargs="+", metavar="SPK", help="explicit speaker ids, e.g. 0011 0015")
    parser.add_argument(
        "--make-corpus",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="mini only: synthesise the corpus into --root first if it is not complete there",
    )
    parser.add_argument("--nj", type=int, default=2, help="parallel espeak-ng jobs for --make-corpus")
    parser.add_argument("--seed", type=int, default=0, help="mini corpus random seed")


def run(args: argparse.Namespace) -> int:
    import logging

    from promptevc.data.corpora import esd, mini
    from promptevc.data.validate import validate_data_dir
    from promptevc.errors import PromptEVCError

    log = logging.getLogger("promptevc.prepare_data")
    speakers = args.speakers
    if args.corpus == "mini":
        if args.make_corpus and not mini.is_complete(args.root):
            mini.make_mini_corpus(args.root, speakers=speakers, seed=args.seed, nj=args.nj, overwrite=True)
        elif not mini.is_complete(args.root):
            raise PromptEVCError(
                f"{args.root}: no complete mini corpus; add --make-corpus or run promptevc make-mini-corpus"
            )
        speakers = speakers or list(mini.VOICES)
    elif args.make_corpus:
        raise PromptEVCError("--make-corpus is for --corpus mini; ESD cannot be synthesised or downloaded")

    report = esd.prepare_esd(args.root, args.out, language=args.language, speakers=speakers)
    print(report.table())
    if report.warnings:
        print(f"{len(report.warnings)} warnings ({report.skipped} files skipped); first: {report.warnings[0]}")
    problems = []
    for split in esd.SPLITS:
        d = f"{args.out}/{split}"
        problems += [f"{d}: {p}" for p in validate_data_dir(d)]
    if problems:
        for p in problems:
            log.error("%s", p)
        raise PromptEVCError(f"prepared data dirs under {args.out} failed validation ({len(problems)} problems)")
    return 0
