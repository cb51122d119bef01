#!/usr/bin/env python
"""Stage 8 helpers: check the prompt list, pick the neutral test utterances to convert, give each
system's convert options, then list what stage 9 evaluates.

  conversion_pairs.py check --prompts conf/convert_prompts.tsv
  conversion_pairs.py select --data data/test --max-utts 8 --out EXP/convert/src.scp
  conversion_pairs.py system-args neural_parser          # the `promptevc convert` options of a system
  conversion_pairs.py pairs --convert-dir EXP/convert --prompts conf/convert_prompts.tsv \
      --src EXP/convert/src.scp --text data/test/text --data-dirs data/train data/dev data/test \
      --out EXP/convert/pairs.csv --oracle-out EXP/convert/oracle_pairs.csv

The prompt list is a TSV ``emotion<TAB>intensity<TAB>level<TAB>prompt`` ('#' starts a comment)
with four optional columns ``condition<TAB>hint<TAB>baseline<TAB>second`` ("-" or absent = none):
``condition`` names the output folder (default ``<emotion>_<level>``), ``hint`` (pitch+ pitch-
speed+ speed- volume+ volume-) marks a prompt with a hint clause measured against its
``baseline`` condition, ``second`` the second emotion of a mixed prompt (measured against its
baseline, the first emotion's pure prompt). Every prompt must be a held-out phrasing: a list with
a prompt that the training prompt generator can produce
(:func:`promptevc.prompt.templates.occurs_in_training`) is refused, so stage 8 measures
phrasings the model never saw.

Conversions of a condition are in ``CONVERT_DIR/<condition>/<utt>.wav`` (``promptevc convert``
names outputs after the wav.scp keys). A pair's ``utt`` is ``<utt>-<emotion>-<key>``, the key
being the level for a plain condition and the condition name for a hint or mixed one. Each
pair's reference is the same sentence by the same speaker in the target emotion, which ESD (and
the mini corpus) recorded: ESD utterance ``<spk>_<k + 350 * block>``. The oracle pairs put those
real recordings in place of the conversions, so stage 9 also measures how far the corpus itself
moves from neutral.

Systems (``system-args``; the ablation of recipes' ``--convert_systems``): ``neural`` (the
learned control, the default), ``neural_parser`` (``--control parser``), ``neural_projection``
(``--prompt-mapper projection``: PromptEVC without its diffusion prompt mapper) and ``prosody``
(the embedded prosody engine).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from promptevc.data.corpora.esd import parallel_utt
from promptevc.data.kaldi import read_scp, write_scp

LEVELS = ("control", "low", "mid", "high")
# Hint kinds (what each one measures: make_results.HINTS).
HINTS = ("pitch+", "pitch-", "speed+", "speed-", "volume+", "volume-")
SYSTEMS = ("neural", "neural_parser", "neural_projection", "prosody")
PROMPT_FIELDS = ("emotion", "intensity", "level", "prompt", "condition", "hint", "baseline", "second")


class PromptListError(Exception):
    """A prompt list that stage 8 cannot use (the message names the file and line)."""


def _row(parts: list[str], where: str) -> dict:
    from promptevc.prompt.control import EMOTIONS

    if not 4 <= len(parts) <= len(PROMPT_FIELDS):
        raise PromptListError(f"{where}: need 4 to 8 tab-separated fields (emotion intensity level prompt "
                              f"[condition hint baseline second]), got {len(parts)}")
    row = dict(zip(PROMPT_FIELDS, (p.strip() for p in parts), strict=False))
    for k in PROMPT_FIELDS[4:]:
        row[k] = "" if row.get(k, "-") in ("-", "") else row[k]
    try:
        row["intensity"] = float(row["intensity"])
    except ValueError:
        raise PromptListError(f"{where}: intensity {row['intensity']!r} is not a number") from None
    for e in (row["emotion"], row["second"]):
        if e and e not in EMOTIONS:
            raise PromptListError(f"{where}: emotion {e!r}: choose {', '.join(EMOTIONS)}")
    if row["hint"] and row["hint"] not in HINTS:
        raise PromptListError(f"{where}: hint {row['hint']!r}: choose {', '.join(HINTS)}")
    if (row["hint"] or row["second"]) and not (row["baseline"] and row["condition"]):
        raise PromptListError(f"{where}: a hint or mixed line needs a condition name and a baseline condition")
    if row["hint"] and row["second"]:
        raise PromptListError(f"{where}: a line is a hint or a mixed prompt, not both")
    row["condition"] = row["condition"] or f"{row['emotion']}_{row['level']}"
    if not row["condition"].replace("_", "").replace(".", "").isalnum():
        raise PromptListError(f"{where}: condition {row['condition']!r}: letters, digits, '_' and '.' only "
                              "(it names a folder and a part of the utterance ids)")
    row["plain"] = not (row["hint"] or row["second"])
    # The last part of a pair's utt: the level for plain conditions (as before hints and mixtures).
    row["key"] = row["level"] if row["plain"] else row["condition"]
    if "-" in row["key"]:
        raise PromptListError(f"{where}: level {row['level']!r}: no '-' (it is a part of the utterance ids)")
    return row


def read_prompts(path: str | Path, *, heldout: bool = True) -> list[dict]:
    """The rows of a prompt list TSV (see the module docstring) as dicts with the fields of
    :data:`PROMPT_FIELDS` plus ``plain`` and ``key``. ``heldout``: refuse a prompt the training
    prompt generator can produce. Raises :class:`PromptListError`."""
    from promptevc.prompt.templates import occurs_in_training

    rows: list[dict] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PromptListError(f"{path}: cannot read the prompt list ({err})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        row = _row(line.split("\t"), where)
        if heldout and occurs_in_training(row["prompt"]):
            raise PromptListError(f"{where}: {row['prompt']!r} is a phrasing of the training prompt generator; "
                                  "stage 8 measures held-out phrasings (promptevc.prompt.templates.heldout_frames)")
        for other in rows:
            if other["condition"] == row["condition"]:
                raise PromptListError(f"{where}: condition {row['condition']!r} given twice")
            if (other["emotion"], other["key"]) == (row["emotion"], row["key"]):
                raise PromptListError(f"{where}: {row['emotion']} {row['key']} given twice")
        rows.append(row)
    names = {r["condition"]: r for r in rows}
    for r in rows:
        base = names.get(r["baseline"]) if r["baseline"] else None
        if r["baseline"] and (base is None or not base["plain"]):
            raise PromptListError(f"{path}: condition {r['condition']}: baseline {r['baseline']!r} is not a plain "
                                  "condition of the list")
    if not rows:
        raise PromptListError(f"{path}: no prompts")
    return rows


def load_prompts(path: str | Path) -> list[dict]:
    """:func:`read_prompts`, exiting with one line (status 1) on a bad list."""
    try:
        return read_prompts(path)
    except PromptListError as err:
        sys.exit(f"error: {err}")


def check(args: argparse.Namespace) -> int:
    rows = load_prompts(args.prompts)
    n_hint = sum(bool(r["hint"]) for r in rows)
    n_mix = sum(bool(r["second"]) for r in rows)
    print(f"{args.prompts}: {len(rows)} held-out prompts ({len(rows) - n_hint - n_mix} plain, {n_hint} hint, "
          f"{n_mix} mixed)")
    return 0


def list_prompts(args: argparse.Namespace) -> int:
    """condition<TAB>prompt, one line per prompt of the list (for one ``promptevc convert`` each)."""
    for r in load_prompts(args.prompts):
        print(f"{r['condition']}\t{r['prompt']}")
    return 0


def system_args(system: str) -> list[str]:
    """The ``promptevc convert`` options of a system (see the module docstring)."""
    if system not in SYSTEMS:
        sys.exit(f"error: system {system!r}: choose {', '.join(SYSTEMS)}")
    if system == "prosody":
        return ["--engine", "prosody"]
    return ["--engine", "neural"] + {"neural": [], "neural_parser": ["--control", "parser"],
                                     "neural_projection": ["--prompt-mapper", "projection"]}[system]


def print_system_args(args: argparse.Namespace) -> int:
    print("\n".join(system_args(args.system)))
    return 0


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
    prompts = load_prompts(args.prompts)
    src = read_scp(args.src)
    text = read_scp(args.text) if args.text else {}
    all_wavs: dict[str, str] = {}
    for d in args.data_dirs:
        all_wavs.update(read_scp(Path(d) / "wav.scp"))
    conv_dir = Path(args.convert_dir)
    fields = ["utt", "converted", "source", "reference", "emotion", "intensity", "text"]
    rows, oracle, missing = [], {}, []
    for p in prompts:
        emotion, intensity = p["emotion"], p["intensity"]
        for utt, src_path in src.items():
            conv = conv_dir / p["condition"] / f"{utt}.wav"
            if not conv.is_file():
                missing.append(str(conv))
                continue
            ref_utt = utt if emotion == "neutral" else parallel_utt(utt, emotion)
            ref = all_wavs.get(ref_utt, "")
            row = {"utt": f"{utt}-{emotion}-{p['key']}", "converted": str(conv.resolve()), "source": src_path,
                   "reference": ref, "emotion": emotion, "intensity": f"{intensity:g}", "text": text.get(utt, "")}
            rows.append(row)
            if emotion != "neutral" and ref and p["plain"]:
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
    print(f"{args.out}: {len(rows)} pairs" + (f"; {args.oracle_out}: {len(oracle)} oracle pairs" if args.oracle_out else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", help="refuse a prompt list with a training phrasing")
    p.add_argument("--prompts", required=True)
    p.set_defaults(func=check)
    p = sub.add_parser("list", help="condition TAB prompt per line of a prompt list")
    p.add_argument("--prompts", required=True)
    p.set_defaults(func=list_prompts)
    p = sub.add_parser("system-args", help="the promptevc convert options of a system")
    p.add_argument("system")
    p.set_defaults(func=print_system_args)
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
