#!/usr/bin/env python
"""Stage 9: turn ``promptevc evaluate`` outputs into the recipe's RESULTS.md.

  make_results.py --exp EXP --eval EXP/eval [--oracle EXP/eval_oracle] --corpus mini --tag T --out EXP/RESULTS.md

Reads ``utterances.csv`` (one row per converted file; ``utt`` = ``<source utt>-<emotion>-<level>``
as stage 8 names them) and writes tables per emotion x intensity level, the stage timings, and
the direction check: does the model move a neutral utterance the way ESD's emotions differ
(``../shared/docs/papers.md`` §3.4)? Each emotion's strongest prompt is compared with the
"neutral" control prompt on the same source utterance, so whatever resynthesis itself does to
F0, tempo or energy cancels out; the oracle column shows the same measure for the real
emotional recordings of the corpus.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

# (emotion, what ESD shows, metric, combine, threshold, unit): a direction passes when the mean
# over utterances of (emotion - control) (or emotion / control for ratios) is beyond threshold.
DIRECTIONS = [
    ("happy", "higher F0", "f0_shift_st", "diff", 0.5, "st"),
    ("surprise", "higher F0", "f0_shift_st", "diff", 0.5, "st"),
    ("angry", "louder", "energy_change_db", "diff", 0.5, "dB"),
    ("sad", "slower", "tempo_ratio", "ratio", 1.02, "x"),
    ("happy", "wider F0 range", "f0_range_ratio", "ratio", 1.05, "x"),
    ("surprise", "wider F0 range", "f0_range_ratio", "ratio", 1.05, "x"),
]
TABLE_METRICS = [
    ("f0_shift_st", "F0 shift (st)"),
    ("f0_range_ratio", "F0 range x"),
    ("tempo_ratio", "tempo x"),
    ("energy_change_db", "energy (dB)"),
    ("mcd_db", "MCD (dB)"),
    ("speaker_sim", "spk sim"),
    ("wer", "WER"),
    ("dnsmos_ovrl", "DNSMOS"),
    ("emo_correct", "emo acc"),
]


def _float(v: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def read_rows(eval_dir: Path) -> list[dict]:
    path = eval_dir / "utterances.csv"
    if not path.is_file():
        sys.exit(f"{path}: not found; did `promptevc evaluate` run?")
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r.get("error")]
    for r in rows:
        src, _, level = r["utt"].rpartition("-")
        r["_src"], r["_level"] = src.rpartition("-")[0], level
    return rows


def mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.fmean(vals) if vals else math.nan


def fmt(x: float, digits: int = 2, sign: bool = False) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def direction_value(rows: list[dict], control: dict[str, dict], emotion: str, metric: str, how: str) -> tuple:
    """Mean change of the strongest prompt of ``emotion`` against the control, and n."""
    cand = [r for r in rows if r["emotion"] == emotion]
    if not cand:
        return math.nan, 0
    top = max(_float(r["intensity"]) for r in cand)
    vals = []
    for r in cand:
        if _float(r["intensity"]) != top:
            continue
        x = _float(r[metric])
        base = control.get(r["_src"])
        if base is not None:
            b = _float(base[metric])
            x = x - b if how == "diff" else (x / b if b and not math.isnan(b) else math.nan)
        vals.append(x)
    return mean(vals), len(vals)


def oracle_value(rows: list[dict], emotion: str, metric: str) -> float:
    return mean([_float(r[metric]) for r in rows if r["emotion"] == emotion])


def timings(*dirs: Path) -> list[tuple[str, str]]:
    out = []
    for d in dirs:
        for m in sorted(d.glob("stage*")) if d.is_dir() else []:
            secs = next((line.split("=", 1)[1] for line in m.read_text().splitlines() if line.startswith("seconds=")), "")
            out.append((m.name, secs))
    return sorted(out, key=lambda t: int(t[0][5:]) if t[0][5:].isdigit() else 99)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--oracle", default=None)
    p.add_argument("--corpus", default="esd")
    p.add_argument("--tag", default="")
    p.add_argument("--timings", default=None, help="EXP/.done (stage markers with seconds=)")
    p.add_argument("--data-timings", default=None, help="the data prep's .done folder")
    p.add_argument("--language", default="english", help="corpus language (Mandarin tables show CER, not WER)")
    p.add_argument("--note", action="append", default=[], help="a line for the top of the file (repeatable)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    rows = read_rows(Path(args.eval))
    oracle = read_rows(Path(args.oracle)) if args.oracle else []
    control = {r["_src"]: r for r in rows if r["emotion"] == "neutral"}
    n_src = len({r["_src"] for r in rows})
    lines = [
        f"# Results: {args.corpus} ({args.tag})",
        "",
        f"Written by `recipes/pipeline.sh` stage 9 on {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} "
        f"(git {git_commit()}), experiment `{args.exp}`, language {args.language}.",
    ]
    lines += [f"\n**{note}**" for note in args.note]
    metrics = [("cer", "CER") if m == "wer" and args.language != "english" else (m, h) for m, h in TABLE_METRICS]
    if args.corpus == "mini":
        lines += ["", "**The mini corpus is synthetic (espeak-ng): this is a pipeline check, not a model.** "
                  "The numbers say the stages ran end to end and whether the tiny model picked up the "
                  "prosody directions the corpus was built with; they say nothing about real speech."]
    lines += [
        "",
        "## How these numbers are produced",
        "",
        f"- Stage 8 converted {n_src} neutral test utterances with each prompt of the prompt list "
        "(`conf/convert_prompts.tsv`: per emotion a weak, a medium and a strong phrasing, plus a `neutral` "
        "control prompt) using the acoustic release of stage 6 and the stage 7 (or pretrained) vocoder.",
        "- Stage 9 ran `promptevc evaluate` on every (converted, source, reference) pair; the reference is the "
        "same sentence read by the same speaker in the target emotion. Changes are output against source: "
        "F0 shift in semitones, F0 range ratio, tempo ratio (speech time; > 1 = slower), energy change in dB. "
        "Full per-utterance numbers: `eval/utterances.csv`, report and plots: `eval/report.md`.",
        "- Emotion accuracy (`emo acc`) is graded by "
        + ("a second emotion evaluator trained with another seed (`eval_classifier/`)."
           if (Path(args.exp) / "eval_classifier/release/meta.json").is_file() else
           "the stage 3 evaluator, which is also the training critic of the emotion loss: read it as an "
           "optimistic number (set `eval_classifier_seed` to grade with a separate one)."),
        "- Direction check: the strongest prompt of each emotion against the `neutral` prompt on the same source "
        "utterance (differences for F0/energy, ratios for tempo/range), averaged over utterances. It passes "
        "beyond +0.5 st, +0.5 dB, x1.02 tempo or x1.05 range. The corpus column measures the real emotional "
        "recordings against the neutral source the same way (the direction the model should learn); "
        "`vs source` is the plain change of the strongest prompt's output against its neutral input, which "
        "includes whatever resynthesis itself does.",
        "",
        "## Direction check (neutral test utterance -> emotion)",
        "",
        "| emotion | ESD direction | measure | model: strongest prompt vs neutral prompt | model: vs source | "
        "corpus: recording vs neutral | n | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    n_pass = 0
    for emotion, expect, metric, how, thr, unit in DIRECTIONS:
        value, n = direction_value(rows, control, emotion, metric, how)
        raw, _ = direction_value(rows, {}, emotion, metric, how)
        ref = oracle_value(oracle, emotion, metric) if oracle else math.nan
        ok = not math.isnan(value) and value > thr
        n_pass += ok
        shown = fmt(value, sign=True) + (f" {unit}" if not math.isnan(value) and unit != "x" else "")
        if unit == "x" and not math.isnan(value):
            shown = f"x{value:.3f}"
        ref_shown = "–" if math.isnan(ref) else (f"x{ref:.3f}" if unit == "x" else f"{ref:+.2f} {unit}")
        raw_shown = "–" if math.isnan(raw) else (f"x{raw:.3f}" if unit == "x" else f"{raw:+.2f} {unit}")
        lines.append(f"| {emotion} | {expect} | {metric} | {shown} | {raw_shown} | {ref_shown} | {n} | "
                     f"{'PASS' if ok else 'FAIL'} |")
    lines += ["", f"{n_pass} of {len(DIRECTIONS)} directions pass.", ""]

    levels = sorted({(r["emotion"], _float(r["intensity"]), r["_level"]) for r in rows},
                    key=lambda t: (t[0] != "neutral", t[0], t[1]))
    header = "| emotion | level | intensity | n | " + " | ".join(h for _, h in metrics) + " |"
    lines += ["## Conversions per emotion and intensity (output vs source, means)", "", header,
              "|" + "---|" * (4 + len(metrics))]
    for emotion, intensity, level in levels:
        sel = [r for r in rows if r["emotion"] == emotion and r["_level"] == level]
        cells = [fmt(mean([_float(r.get(m)) for r in sel]), 3 if m.endswith("ratio") else 2) for m, _ in metrics]
        lines.append(f"| {emotion} | {level} | {intensity:g} | {len(sel)} | " + " | ".join(cells) + " |")
    if oracle:
        lines += ["", "## Real emotional recordings vs the neutral source (oracle)", "",
                  "| emotion | n | " + " | ".join(h for _, h in metrics) + " |",
                  "|" + "---|" * (2 + len(metrics))]
        for emotion in sorted({r["emotion"] for r in oracle}):
            sel = [r for r in oracle if r["emotion"] == emotion]
            cells = [fmt(mean([_float(r.get(m)) for r in sel]), 3 if m.endswith("ratio") else 2)
                     for m, _ in metrics]
            lines.append(f"| {emotion} | {len(sel)} | " + " | ".join(cells) + " |")
    marks = timings(*(Path(d) for d in (args.data_timings, args.timings) if d))
    if marks:
        lines += ["", "## Stage timings (seconds, this run or the run that made the stage's outputs)", "",
                  "| stage | seconds |", "|---|---|"] + [f"| {s} | {t} |" for s, t in marks]
    lines.append("")
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"{args.out}: {n_pass} of {len(DIRECTIONS)} directions pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
