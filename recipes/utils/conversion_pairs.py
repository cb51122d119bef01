#!/usr/bin/env python
"""Stage 8 helpers: pick the neutral test utterances to convert, then list what stage 9 evaluates.

  conversion_pairs.py select --data data/test --max-utts 8 --out EXP/convert/src.scp
  conversion_pairs.py pairs --convert-dir EXP/convert --prompts conf/convert_prompts.tsv \
      --src EXP/convert/src.scp --text data/test/text --data-dirs data/train data/dev data/test \
      --out EXP/convert/pairs.csv --oracle-out EXP/convert/oracle_pairs.csv

The prompt list is a TSV ``emotion<TAB>intensity<TAB>level<TAB>prompt`` ('#' starts a comment);
conversions of condition ``<emotion>_<level>`` are in ``EXP/convert/<emotion>_<level>/<utt>.wav``
(``promptevc convert`` names outputs after the wav.scp keys). Each pair's reference is the same
sentence by the same speaker in the target emotion, which ESD (and the mini corpus) recorded:
ESD utterance ``<spk>_<k + 350 * block>``. The oracle pairs put those real recordings in place
of the conversions, so stage 9 also measures how far the corpus itself moves from neutral.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from promptevc.data.corpora.esd import parallel_utt
from promptevc.data.kaldi import read_scp, write_scp


def read_prompts(path: str | Path) -> list[tuple[str, float, str, str]]:
    """(emotion, intensity, level, prompt) rows of a prompt list TSV."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            sys.exit(f"{path}:{n}: need 4 tab-separated fields (emotion intensity level prompt), got {len(parts)}")
        rows.append((parts[0].strip(), float(parts[1]), parts[2].strip(), parts[3].strip()))
    return rows


def select(args: argparse.Namespace) -> int:
    """Neutral test utterances, balanced over speakers (round robin), at most --max-utts."""
    data = Path(args.data)
    wav, emo, spk = (read_scp(data / n) for n in ("wav.scp", "utt2emo", "utt2spk"))
    by_spk: dict[str, list[str]] = {}
    for utt in sorted(wav):
        if emo.get(utt) == "neutral":
            by_spk.setdefault(spk[utt], []).append(utt)
    chosen: list[str] = []
    limit = args.max_utts if args.max_utts > 0 else sum(len(v) for v in by_spk.values())
    rank = 0
    while len(chosen) < limit and any(rank < len(v) for v in by_spk.values()):
        for s in sorted(by_spk):
            if rank < len(by_spk[s]) and len(chosen) < limit:
                chosen.append(by_spk[s][rank])
        rank += 1
    if not chosen:
        sys.exit(f"{data}: no neutral utterances to convert")
    write_scp(args.out, {u: wav[u] for u in chosen})
    print(f"{args.out}: {len(chosen)} neutral utterances from {len(by_spk)} speakers")
    return 0


def pairs(args: argparse.Namespace) -> int:
    """Write the pairs CSV (conversions) and the oracle pairs CSV (real emotional recordings)."""
    src = read_scp(args.src)
    text = read_scp(args.text) if args.text else {}
    all_wavs: dict[str, str] = {}
    for d in args.data_dirs:
        all_wavs.update(read_scp(Path(d) / "wav.scp"))
    conv_dir = Path(args.convert_dir)
    fields = ["utt", "converted", "source", "reference", "emotion", "intensity", "text"]
    rows, oracle, missing = [], {}, []
    for emotion, intensity, level, _prompt in read_prompts(args.prompts):
        for utt, src_path in src.items():
            conv = conv_dir / f"{emotion}_{level}" / f"{utt}.wav"
            if not conv.is_file():
                missing.append(str(conv))
                continue
            ref_utt = utt if emotion == "neutral" else parallel_utt(utt, emotion)
            ref = all_wavs.get(ref_utt, "")
            row = {"utt": f"{utt}-{emotion}-{level}", "converted": str(conv.resolve()), "source": src_path,
                   "reference": ref, "emotion": emotion, "intensity": f"{intensity:g}", "text": text.get(utt, "")}
            rows.append(row)
            if emotion != "neutral" and ref:
                oracle[(utt, emotion)] = {**row, "utt": f"{utt}-{emotion}-oracle", "converted": ref,
                                          "intensity": "1"}
    if missing:
        print(f"warning: {len(missing)} conversions missing, e.g. {missing[0]}", file=sys.stderr)
    if not rows:
        sys.exit(f"{conv_dir}: no converted files found")
    for path, content in ((args.out, rows), (args.oracle_out, list(oracle.values()))):
        if not path:
            continue
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(content)
    print(f"{args.out}: {len(rows)} pairs; {args.oracle_out}: {len(oracle)} oracle pairs")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("select")
    p.add_argument("--data", required=True)
    p.add_argument("--max-utts", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=select)
    p = sub.add_parser("pairs")
    p.add_argument("--convert-dir", required=True)
    p.add_argument("--prompts", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--text", default=None)
    p.add_argument("--data-dirs", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--oracle-out", default=None)
    p.set_defaults(func=pairs)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
