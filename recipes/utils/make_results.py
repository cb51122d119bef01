#!/usr/bin/env python
"""Stage 9: turn ``promptevc evaluate`` outputs into the recipe's RESULTS.md.

  make_results.py --exp EXP --eval EXP/eval [--oracle EXP/eval_oracle] [--prompts conf/convert_prompts.tsv] \
      [--system neural=EXP/eval --system prosody=EXP/eval_prosody ...] --corpus mini --tag T --out EXP/RESULTS.md

Reads ``utterances.csv`` (one row per converted file; ``utt`` = ``<source utt>-<emotion>-<key>``
as stage 8 names them, the key being the level of a plain prompt or the condition name of a
hint or mixed one, see ``conversion_pairs.py``) and writes tables per emotion x intensity level,
the stage timings, and the direction check: does the model move a neutral utterance the way
ESD's emotions differ (``../shared/docs/papers.md`` §3.4)? Each emotion's strongest prompt is
compared with the "neutral" control prompt on the same source utterance, so whatever
resynthesis itself does to F0, tempo or energy cancels out; the oracle column shows the same
measure for the real emotional recordings of the corpus.

With ``--system`` (one per system of stage 8) it also writes the control table, in the form of
PromptEVC's Table 2 (intensity, mixed, pitch, speed, volume control; objective shares defined in
:func:`control_scores`) and the direction check of every system (the ablation table).
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
# The cue of each emotion for the control table: its first direction above.
CUES = {e: (metric, how) for e, _, metric, how, _, _ in reversed(DIRECTIONS)}
# Just-noticeable differences a hint or mixture must move its cue by, against its baseline
# (issue 11 / PromptEVC's objective form: 0.5 st F0, 3 % tempo, 1 dB level).
JND = {"f0_shift_st": 0.5, "energy_change_db": 1.0, "tempo_ratio": 1.03}
# (metric, sign) a hint asks for; tempo_ratio > 1 is slower speech.
HINTS = {"pitch+": ("f0_shift_st", 1), "pitch-": ("f0_shift_st", -1), "speed+": ("tempo_ratio", -1),
         "speed-": ("tempo_ratio", 1), "volume+": ("energy_change_db", 1), "volume-": ("energy_change_db", -1)}
HINT_COLUMNS = {"pitch": ("pitch+", "pitch-"), "speed": ("speed+", "speed-"), "volume": ("volume+", "volume-")}
# PromptEVC (Table 2): listener judgements on ESD, in %.
PAPER_TABLE2 = {"intensity": 77.6, "mixed": 61.3, "pitch": 86.4, "speed": 89.7, "volume": 91.5}
# Columns of the control table: (key, header, the paper's figure it stands beside or None).
CONTROL_COLUMNS = [
    ("emotion", "emotion acc", None),
    ("intensity", "intensity (pairs)", "intensity"),
    ("intensity3", "intensity (3-way)", None),
    ("mixed", "mixed (posteriors)", "mixed"),
    ("mixed_cue", "mixed (cue)", None),
    ("pitch", "pitch", "pitch"),
    ("speed", "speed", "speed"),
    ("volume", "volume", "volume"),
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


def read_prompt_meta(path: str | Path | None) -> dict[tuple[str, str], dict]:
    """(emotion, key) -> the prompt list row (conversion_pairs.read_prompts) of that condition."""
    if not path:
        return {}
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conversion_pairs import PromptListError, read_prompts

    try:
        return {(r["emotion"], r["key"]): r for r in read_prompts(path, heldout=False)}
    except PromptListError as err:
        sys.exit(f"error: {err}")


def read_rows(eval_dir: Path, meta: dict[tuple[str, str], dict] | None = None) -> list[dict]:
    """The rows of ``utterances.csv`` without errors, with ``_src``, ``_level``, ``_cond`` (the
    condition, "" when unknown), ``_hint``, ``_second``, ``_baseline`` and ``_plain``."""
    path = eval_dir / "utterances.csv"
    if not path.is_file():
        sys.exit(f"{path}: not found; did `promptevc evaluate` run?")
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r.get("error")]
    for r in rows:
        src, _, key = r["utt"].rpartition("-")
        m = (meta or {}).get((r["emotion"], key))
        r["_src"], r["_level"] = src.rpartition("-")[0], m["level"] if m else key
        r["_cond"] = m["condition"] if m else ""
        r["_hint"], r["_second"], r["_baseline"] = (m["hint"], m["second"], m["baseline"]) if m else ("", "", "")
        r["_plain"] = not (r["_hint"] or r["_second"])
    return rows


def _share(ok: int, n: int) -> str:
    return f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "–"


def moves(metric: str, value: float, base: float, sign: int) -> bool:
    """Does ``value`` move from ``base`` in direction ``sign`` by more than the JND of ``metric``?"""
    band = JND[metric]
    if metric.endswith("_ratio"):
        if not base or math.isnan(base) or math.isnan(value):
            return False
        r = value / base
        return r > band if sign > 0 else r < 1 / band
    d = value - base
    return d > band if sign > 0 else d < -band


def _posteriors(row: dict) -> dict[str, float]:
    return {k[2:]: _float(v) for k, v in row.items() if k.startswith("p_") and not math.isnan(_float(v))}


def control_scores(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """(successes, trials) per column of the control table (PromptEVC's Table 2, objective form).

    - emotion: plain non-neutral conversions the grading classifier labels with the target
      emotion (``emo_correct``).
    - intensity (pairs): for every (source, emotion) with low, mid and high prompts, each of the
      three pairs (low, mid), (mid, high), (low, high) whose emotion cue (:data:`CUES`: F0 for
      happy and surprise, energy for angry, tempo for sad) is ordered the way the levels are
      (strictly); intensity (3-way): the (source, emotion) triples ordered completely.
    - mixed (posteriors): mixed conversions where the grading classifier's posteriors of both
      named emotions are above every other emotion's; mixed (cue): the second emotion's cue moves
      toward it against the baseline (the first emotion's pure medium prompt, same source) by
      more than its :data:`JND`.
    - pitch / speed / volume: hint conversions whose F0 / tempo / energy moves the asked way
      against the baseline (the same prompt without the hint, same source) by more than the
      :data:`JND` (0.5 st, 3 %, 1 dB).
    """
    out = {k: [0, 0] for k, _, _ in CONTROL_COLUMNS}
    order = ("low", "mid", "high")
    by: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        if r["_plain"] and r["_level"] in order:
            by.setdefault((r["_src"], r["emotion"]), {})[r["_level"]] = r
        if r["_plain"] and r["emotion"] != "neutral" and not math.isnan(_float(r.get("emo_correct", ""))):
            out["emotion"][0] += _float(r["emo_correct"]) > 0.5
            out["emotion"][1] += 1
    for (_src, emotion), levels in by.items():
        if emotion not in CUES or len(levels) < 3:
            continue
        metric = CUES[emotion][0]
        vals = [_float(levels[lv][metric]) for lv in order]
        if any(math.isnan(v) for v in vals):
            continue
        for a, b in ((0, 1), (1, 2), (0, 2)):
            out["intensity"][0] += vals[a] < vals[b]
            out["intensity"][1] += 1
        out["intensity3"][0] += vals[0] < vals[1] < vals[2]
        out["intensity3"][1] += 1
    cond = {(r["_src"], r["_cond"]): r for r in rows if r["_cond"]}
    for r in rows:
        if r["_second"]:
            post = _posteriors(r)
            named = {r["emotion"], r["_second"]}
            if post and named <= set(post):
                rest = [v for k, v in post.items() if k not in named]
                out["mixed"][0] += min(post[e] for e in named) > max(rest, default=-1.0)
                out["mixed"][1] += 1
        if r["_plain"] or (r["_src"], r["_baseline"]) not in cond:
            continue
        base = cond[(r["_src"], r["_baseline"])]
        if r["_second"]:
            if r["_second"] not in CUES:
                continue
            metric, sign, col = CUES[r["_second"]][0], 1, "mixed_cue"
        else:
            (metric, sign), col = HINTS[r["_hint"]], r["_hint"][:-1]
        x, b = _float(r[metric]), _float(base[metric])
        if math.isnan(x) or math.isnan(b):
            continue
        out[col][0] += moves(metric, x, b, sign)
        out[col][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def control_table(systems: list[tuple[str, list[dict]]]) -> list[str]:
    lines = ["| system | " + " | ".join(h for _, h, _ in CONTROL_COLUMNS) + " |",
             "|---|" + "---|" * len(CONTROL_COLUMNS)]
    for name, rows in systems:
        sc = control_scores(rows)
        lines.append(f"| {name} | " + " | ".join(_share(*sc[k]) for k, _, _ in CONTROL_COLUMNS) + " |")
    lines.append("| PromptEVC paper, Table 2 (listeners, ESD; not comparable) | "
                 + " | ".join(f"{PAPER_TABLE2[p]:.1f} %" if p else "–" for _, _, p in CONTROL_COLUMNS) + " |")
    return lines


def direction_cells(rows: list[dict]) -> tuple[list[str], int]:
    """The direction check of ``rows`` (plain prompts): one cell per direction, and the passes."""
    control = {r["_src"]: r for r in rows if r["emotion"] == "neutral" and r["_plain"]}
    plain = [r for r in rows if r["_plain"]]
    cells, n_pass = [], 0
    for emotion, _, metric, how, thr, unit in DIRECTIONS:
        value, n = direction_value(plain, control, emotion, metric, how)
        ok = not math.isnan(value) and value > thr
        n_pass += ok
        shown = "–" if math.isnan(value) else (f"x{value:.3f}" if unit == "x" else f"{value:+.2f} {unit}")
        cells.append(f"{shown} {'PASS' if ok else 'FAIL'}")
    return cells, n_pass


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
    p.add_argument("--vocoder", default="", help="the vocoder stage 8 rendered with (named in the text)")
    p.add_argument("--prompts", default=None, help="stage 8's prompt list (conditions of hint and mixed prompts)")
    p.add_argument("--system", action="append", default=[], metavar="NAME=EVAL_DIR",
                   help="a system of stage 8 and its evaluation (repeatable; the control and ablation tables)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    meta = read_prompt_meta(args.prompts)
    all_rows = read_rows(Path(args.eval), meta)
    rows = [r for r in all_rows if r["_plain"]]
    oracle = read_rows(Path(args.oracle)) if args.oracle else []
    systems = []
    for spec in args.system:
        name, sep, where = spec.partition("=")
        if not sep or not name:
            sys.exit(f"error: --system {spec!r}: give NAME=EVAL_DIR")
        systems.append((name, all_rows if Path(where) == Path(args.eval) else read_rows(Path(where), meta)))
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
        "(`convert_prompts.tsv`: per emotion a weak, a medium and a strong phrasing, plus a `neutral` "
        "control prompt" + ("; hint and mixed prompts for the control table" if len(rows) < len(all_rows) else "")
        + "; held-out phrasings the training prompt generator cannot produce) using the acoustic release of "
        "stage 6, rendered by " + (f"`{args.vocoder}`" if args.vocoder else "the stage 7 (or pretrained) vocoder")
        + (f", by {len(systems)} systems ({', '.join(f'`{n}`' for n, _ in systems)}); the tables below "
           f"are those of `{systems[0][0]}`, the control and ablation tables compare them." if systems else "."),
        "- Stage 9 ran `promptevc evaluate` on every (converted, source, reference) pair; the reference is the "
        "same sentence read by the same speaker in the target emotion. Changes are output against source: "
        "F0 shift in semitones, F0 range ratio, tempo ratio (speech time; > 1 = slower), energy change in dB. "
        "Full per-utterance numbers: `eval/utterances.csv`, report and plots: `eval/report.md`.",
        "- Emotion accuracy (`emo acc`) is graded by "
        + ("a second emotion evaluator trained with another seed (`eval_classifier/`), which no training "
           "stage uses (it is not the emotion-loss critic, the intensity labeller or the source of e_ref)."
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
    if systems:
        lines += ["## Control (the form of PromptEVC's Table 2; objective shares on held-out phrasings)", "",
                  "Per system, on held-out phrasings only, the share of conversions that do what the prompt asks, "
                  "graded by the emotion classifier named above and by acoustics on the output (against the same "
                  "source's other conversions, so resynthesis cancels out). **emotion acc**: plain emotional "
                  "prompts the classifier labels with the target emotion. **intensity (pairs)**: for every "
                  "(source, emotion), the three pairs of its low / mid / high prompts, counted right when the "
                  "emotion's cue (happy, surprise: F0 shift; angry: energy; sad: tempo ratio, the first "
                  "direction above) is strictly ordered; **intensity (3-way)**: the triples ordered low < mid < "
                  "high completely. **mixed (posteriors)**: every mixed prompt (a medium prompt of the first "
                  "emotion with a clause for a second one) whose output the classifier gives both named emotions "
                  "a higher posterior than every other emotion; **mixed (cue)**: its second emotion's cue moves "
                  "toward it against the first emotion's pure medium prompt by more than a just-noticeable "
                  "difference. **pitch / speed / volume**: every hint prompt (a medium prompt with a pitch, "
                  "tempo or volume clause, both directions) whose F0 / tempo / energy moves the asked way "
                  "against the same prompt without the clause by more than a just-noticeable difference "
                  "(0.5 st, 3 %, 1 dB). "
                  "The paper row is PromptEVC's Table 2: listener judgements on ESD, not comparable to "
                  "these objective shares" + (" on a synthetic corpus." if args.corpus == "mini" else "."), ""]
        lines += control_table(systems)
        lines += ["", "## Direction check per system (ablation)", "",
                  "The direction check above for every system: strongest prompt vs the system's own neutral-"
                  "prompt output. `neural`: learned control (the default); `neural_parser`: the zero-shot "
                  "parser's control (`--control parser`); `neural_projection`: the linear projection head "
                  "instead of the diffusion prompt mapper (`--prompt-mapper projection`, PromptEVC without "
                  "its prompt mapper); `prosody`: the embedded prosody engine. `emo acc`: the evaluator's "
                  "accuracy over the plain emotional prompts.", "",
                  "| ESD direction | measure | " + " | ".join(n for n, _ in systems) + " |",
                  "|---|---|" + "---|" * len(systems)]
        per = [direction_cells(r) for _, r in systems]
        for k, (emotion, expect, metric, *_rest) in enumerate(DIRECTIONS):
            lines.append(f"| {emotion}: {expect} | {metric} | " + " | ".join(c[k] for c, _ in per) + " |")
        lines.append("| passes | | " + " | ".join(f"{n} of {len(DIRECTIONS)}" for _, n in per) + " |")
        accs = [mean([_float(x.get("emo_correct")) for x in r if x["_plain"] and x["emotion"] != "neutral"])
                for _, r in systems]
        lines.append("| emo acc | emo_correct | " + " | ".join(fmt(a) for a in accs) + " |")
        lines.append("")

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
