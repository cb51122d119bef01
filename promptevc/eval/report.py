"""Aggregate per-utterance rows into summary.json and a Markdown report; compare two runs.

Aggregates: mean, std, median and count of every numeric metric over all utterances, per
requested emotion, and per (emotion, intensity); emotion accuracy is the mean of
``emo_correct``. The report answers, in this order: did each emotion move the prosody cues the
expected way (:mod:`promptevc.eval.directions`, PASS/FAIL with the measured value); what the
conversion did against its source baseline (DNSMOS, WER, emotion posterior, F0, speech time,
level, each as source -> converted per emotion and intensity); the full metric tables;
intensity monotonicity, the Spearman correlation per emotion between the requested intensity
and each measured change (+1: stronger requests always changed the voice more); the neural
engine's control metrics when given (rows of ``{"metric", "value"}``).

:func:`compare_runs` puts two evaluation folders side by side (``evaluate --compare A B``):
overall metrics with paired Wilcoxon signed-rank tests on the utterances both runs share
(Holm-corrected over the metrics), the direction verdicts, the baselines, the monotonicity and
the control metrics of each.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from promptevc.eval.metrics import spearman
from promptevc.eval.runner import BASELINES, MONOTONIC, NUMERIC

# Columns of the Markdown tables: (metric, header, better direction).
TABLE = [
    ("mcd_db", "MCD dB ↓", "lower"),
    ("f0_rmse", "F0 RMSE Hz ↓", "lower"),
    ("log_f0_rmse_cents", "logF0 RMSE cents ↓", "lower"),
    ("dur_diff_s", "DDUR s ↓", "lower"),
    ("f0_shift_st", "F0 shift st", ""),
    ("f0_range_ratio", "F0 range ×", ""),
    ("tempo_ratio", "tempo ×", ""),
    ("energy_change_db", "energy dB", ""),
    ("tilt_change_db", "tilt dB", ""),
    ("pause_stretch", "pauses ×", ""),
    ("speaker_sim", "spk sim ↑", "higher"),
    ("wer", "WER ↓", "lower"),
    ("cer", "CER ↓", "lower"),
    ("dnsmos_ovrl", "DNSMOS OVRL ↑", "higher"),
    ("emo_correct", "emotion acc ↑", "higher"),
]
HEADERS = {k: h for k, h, _ in TABLE}
BASELINE_LABELS = {
    "dnsmos_ovrl": "DNSMOS OVRL", "wer": "WER", "cer": "CER", "emo_posterior": "P(emotion)",
    "emo_correct": "emotion acc", "f0_median_hz": "F0 median Hz", "f0_span_st": "F0 span st",
    "speech_s": "speech s", "level_db": "level dB", "spectral_balance_db": "balance dB",
}


def _num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _stats(values: list[float]) -> dict | None:
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return None
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "median": float(np.median(x)), "n": int(x.size)}


def _aggregate(rows: list[dict]) -> dict:
    out: dict = {"n": len(rows)}
    for key in NUMERIC + sorted({k for r in rows for k in r if k.startswith("p_")}):
        s = _stats([_num(r.get(key)) for r in rows])
        if s is not None:
            out[key] = s
    return out


def _intensity_key(x: float) -> str:
    return "none" if not math.isfinite(x) else f"{x:g}"


def summarize(rows: list[dict], settings: dict, control_rows: list[dict] | None = None) -> dict:
    """Summary dict from per-utterance rows (rows with an ``error`` are counted as failed).

    ``control_rows``: the neural engine's control metrics, ``[{"metric": name, "value": x, ...}]``
    (extra keys such as ``emotion`` are kept), stored as ``control_metrics``.
    """
    from promptevc.eval.directions import direction_table

    ok = [r for r in rows if not r.get("error")]
    failed = [{"utt": r["utt"], "converted": r.get("converted", ""), "error": r["error"]}
              for r in rows if r.get("error")]
    per_emotion: dict[str, dict] = {}
    per_ei: dict[str, dict] = {}
    monotonic: dict[str, dict] = {}
    emotions = sorted({r.get("emotion") or "unspecified" for r in ok})
    for emo in emotions:
        sub = [r for r in ok if (r.get("emotion") or "unspecified") == emo]
        per_emotion[emo] = _aggregate(sub)
        levels = sorted({_num(r.get("intensity")) for r in sub}, key=lambda v: (not math.isfinite(v), v))
        per_ei[emo] = {
            _intensity_key(lv): _aggregate([r for r in sub if _intensity_key(_num(r.get("intensity")))
                                            == _intensity_key(lv)])
            for lv in levels
        }
        intensity = [_num(r.get("intensity")) for r in sub]
        rho = {m: spearman(intensity, [_num(r.get(m)) for r in sub]) for m in MONOTONIC}
        rho = {m: v for m, v in rho.items() if math.isfinite(v)}
        if rho:
            monotonic[emo] = rho
    return {
        "n_pairs": len(rows),
        "n_ok": len(ok),
        "n_failed": len(failed),
        "failed": failed,
        "settings": settings,
        "overall": _aggregate(ok),
        "per_emotion": per_emotion,
        "per_emotion_intensity": per_ei,
        "monotonicity_spearman": monotonic,
        "directions": direction_table(ok),
        "control_metrics": check_control_rows(control_rows or []),
    }


def check_control_rows(rows: list[dict]) -> list[dict]:
    """Validate control-metric rows: each a dict with a ``metric`` name and a numeric ``value``."""
    from promptevc.errors import ConfigError

    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not str(r.get("metric", "")).strip():
            raise ConfigError(f"control metrics row {i + 1}: needs a 'metric' name and a 'value'")
        value = _num(r.get("value"))
        if not math.isfinite(value):
            raise ConfigError(f"control metrics row {i + 1} ({r['metric']}): 'value' {r.get('value')!r} is not a number")
        out.append({**{k: v for k, v in r.items() if k not in ("metric", "value")},
                    "metric": str(r["metric"]), "value": value})
    return out


def read_control_rows(path: str | Path) -> list[dict]:
    """Control-metric rows from a JSON list (or ``{"rows": [...]}``) or a CSV with metric,value columns."""
    from promptevc.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such control-metrics file (JSON list of {{metric, value}} or CSV)")
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data.get("rows") if isinstance(data, dict) else data
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read control metrics ({str(exc).splitlines()[0][:200]})") from None
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: control metrics must be a list of {{metric, value}} rows")
    return check_control_rows(rows)


def _clean(obj):
    """JSON-safe copy: NaN/inf become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_summary(summary: dict, path: str | Path) -> None:
    """summary.json (atomic)."""
    _write_text(Path(path), json.dumps(_clean(summary), indent=2, sort_keys=False) + "\n")


def _cell(agg: dict, key: str) -> str:
    s = agg.get(key)
    if not s:
        return "–"
    if s["n"] > 1:
        return f"{s['mean']:.3g} ± {s['std']:.2g}"
    return f"{s['mean']:.3g}"


def _mean(agg: dict, key: str) -> float:
    s = agg.get(key)
    return s["mean"] if s else math.nan


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _signed(x: float, unit: str) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if unit == "×":
        return f"×{x:.3f}"
    return f"{x:+.2f} {unit}"


def _direction_arrow(entry: dict) -> str:
    if entry.get("expected_text"):
        return entry["expected_text"]
    return {1: "↑ more", -1: "↓ less", 0: "= unchanged"}.get(entry.get("expected"), "?")


def direction_lines(directions: list[dict]) -> list[str]:
    """The expected-direction table (one row per emotion and cue, a column per intensity)."""
    if not directions:
        return ["No emotional pairs with measured cues (neutral or unlabelled pairs only)."]
    levels = sorted({e["intensity"] for d in directions for e in d["levels"]
                     if e["intensity"] is not None and math.isfinite(e["intensity"])})
    pooled = any(e["intensity"] is None or not math.isfinite(e["intensity"]) for d in directions for e in d["levels"])
    heads = [f"at {lv:g}" for lv in levels] + (["all"] if pooled else [])
    rows = []
    for d in directions:
        cells = []
        by_level = {(e["intensity"] if e["intensity"] is not None and math.isfinite(e["intensity"]) else "all"): e
                    for e in d["levels"]}
        for key in levels + (["all"] if pooled else []):
            e = by_level.get(key)
            if e is None or not e["n"]:
                cells.append("–")
                continue
            text = _signed(e["measured"], d["unit"])
            if e.get("planned") is not None and math.isfinite(e["planned"]):
                text += f" (plan {_signed(e['planned'], d['unit'])})"
            cells.append(f"{text} {e['verdict']}".strip())
        rows.append([d["emotion"], d["cue"], _direction_arrow(d)] + cells + [d["verdict"] or "–"])
    checked = [d for d in directions if d["verdict"]]
    passed = sum(d["verdict"] == "PASS" for d in checked)
    lines = [f"**{passed} of {len(checked)} cue checks pass.** Measured: median over the utterances of each "
             "emotion and intensity (change against the source); plan: what the prosody engine's profile "
             "asks for at that intensity. A cue passes when the change has the expected sign and is beyond "
             "its dead band (0.1 st, 1 % for ratios (2 % pauses), 0.2 dB); where the plan itself asks for "
             "less than the dead band, the level is shown without a verdict.", ""]
    return lines + _table(["emotion", "cue", "expected"] + heads + ["verdict"], rows)


def baseline_lines(summary: dict) -> list[str]:
    """Per emotion and intensity: source baseline -> converted, for the absolute measures."""
    per_ei = summary["per_emotion_intensity"]
    present = [(m, s) for m, s in BASELINES
               if any(m in agg or s in agg for levels in per_ei.values() for agg in levels.values())]
    if not present:
        return ["No absolute measures were computed."]
    rows = []
    for emo, levels in per_ei.items():
        for level, agg in levels.items():
            cells = []
            for m, s in present:
                a, b = _mean(agg, s), _mean(agg, m)
                if not math.isfinite(b):
                    cells.append("–")
                elif math.isfinite(a):
                    cells.append(f"{a:.3g} → {b:.3g}")
                else:
                    cells.append(f"{b:.3g}")
            rows.append([emo, level, str(agg["n"])] + cells)
    return (["Each cell: source → converted (means over the utterances). WER/CER of the source are against the "
             "transcript (only when transcripts are given); P(emotion) is the classifier's posterior of the "
             "requested emotion.", ""]
            + _table(["emotion", "intensity", "n"] + [BASELINE_LABELS[m] for m, _ in present], rows))


def control_lines(rows: list[dict]) -> list[str]:
    """The neural engine's control metrics: one row per metric (extra keys become columns)."""
    extra = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in ("metric", "value")]
    return _table(["metric"] + extra + ["value"],
                  [[r["metric"]] + [str(r.get(k, "")) for k in extra] + [f"{r['value']:.4g}"] for r in rows])


def format_report(summary: dict) -> str:
    """The Markdown report text."""
    settings = summary["settings"]
    overall = summary["overall"]
    cols = [(k, h) for k, h, _ in TABLE if any(k in agg for agg in summary["per_emotion"].values()) or k in overall]
    lines = [
        "# PromptEVC evaluation report",
        "",
        f"{summary['n_ok']} of {summary['n_pairs']} pairs evaluated"
        + (f"; {summary['n_failed']} failed (listed below)." if summary["n_failed"] else "."),
        "",
        "## Expected directions (cues of the prosody profile table)",
        "",
    ]
    lines += direction_lines(summary.get("directions", []))
    lines += ["", "## Source baseline beside the conversion", ""]
    lines += baseline_lines(summary)
    lines += ["", "## Settings", ""]
    lines += [f"- **{k}**: {v if v is not None else 'off'}" for k, v in settings.items()]
    lines += [
        "",
        ("Change metrics are output minus source (`f0_shift_st`, `energy_change_db`, `tilt_change_db`) or output "
         "over source (`f0_range_ratio`: 5–95 % voiced F0 span in semitones; `tempo_ratio`: speech time, slower "
         "> 1; `pause_stretch`: internal pauses relative to speech). MCD, F0 RMSE and DDUR need a target "
         "reference; WER/CER compare the recognised output with the transcript, or with the recognised source "
         "when no transcript is given, after Whisper-style normalisation of both. Cells are mean ± std."),
        "",
        "## Overall",
        "",
    ]
    lines += _table(["metric", "mean ± std", "median", "n"],
                    [[h, _cell(overall, k), f"{overall[k]['median']:.3g}", str(overall[k]["n"])]
                     for k, h in cols if k in overall])
    lines += ["", "## Per emotion", ""]
    lines += _table(["emotion", "n"] + [h for _, h in cols],
                    [[emo, str(agg["n"])] + [_cell(agg, k) for k, _ in cols]
                     for emo, agg in summary["per_emotion"].items()])
    lines += ["", "## Per emotion and intensity", ""]
    rows = []
    for emo, levels in summary["per_emotion_intensity"].items():
        for level, agg in levels.items():
            rows.append([emo, level, str(agg["n"])] + [_cell(agg, k) for k, _ in cols])
    lines += _table(["emotion", "intensity", "n"] + [h for _, h in cols], rows)
    mono = summary["monotonicity_spearman"]
    lines += ["", "## Intensity monotonicity (Spearman ρ, requested intensity vs measured)", ""]
    if mono:
        keys = sorted({k for v in mono.values() for k in v})
        lines += _table(["emotion"] + keys, [[emo] + [f"{v[k]:+.2f}" if k in v else "–" for k in keys]
                                             for emo, v in mono.items()])
    else:
        lines.append("Not computable: needs at least three utterances per emotion with different intensities.")
    if summary.get("control_metrics"):
        lines += ["", "## Control metrics (neural engine)", ""]
        lines += control_lines(summary["control_metrics"])
    if summary.get("plots"):
        lines += ["", "## Plots", ""]
        lines += [f"![{p}]({p})" for p in summary["plots"]]
    if summary["failed"]:
        lines += ["", "## Failed pairs", ""]
        lines += [f"- `{f['utt']}`: {f['error']}" for f in summary["failed"]]
    return "\n".join(lines) + "\n"


def write_report(summary: dict, path: str | Path) -> None:
    """report.md (atomic)."""
    _write_text(Path(path), format_report(summary))


# --------------------------------------------------------------------------------------------
# Two runs side by side
# --------------------------------------------------------------------------------------------


def load_run(folder: str | Path) -> tuple[dict, dict[str, dict]]:
    """``(summary, rows by utt)`` of an evaluation folder."""
    from promptevc.errors import ConfigError

    folder = Path(folder)
    summary_path, csv_path = folder / "summary.json", folder / "utterances.csv"
    for p in (summary_path, csv_path):
        if not p.is_file():
            raise ConfigError(f"{folder}: no {p.name}; give a folder written by `promptevc evaluate --out`")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = {r["utt"]: r for r in csv.DictReader(f) if not r.get("error")}
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{folder}: cannot read its results ({str(exc).splitlines()[0][:200]})") from None
    if not isinstance(summary, dict) or "overall" not in summary:
        raise ConfigError(f"{summary_path}: not a summary written by `promptevc evaluate`")
    return summary, rows


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}g}"


def compare_runs(dir_a: str | Path, dir_b: str | Path, labels: tuple[str, str] | None = None) -> dict:
    """Comparison of two evaluation folders: ``{"labels", "overall", "directions", "monotonicity",
    "control", "markdown"}`` (see the module docstring)."""
    from promptevc.eval.significance import holm, wilcoxon_signed_rank

    (sa, ra), (sb, rb) = load_run(dir_a), load_run(dir_b)
    la, lb = labels or (Path(dir_a).name or "A", Path(dir_b).name or "B")
    if la == lb:
        la, lb = f"{la} (A)", f"{lb} (B)"
    shared = sorted(set(ra) & set(rb))
    metrics = [k for k, _, _ in TABLE if k in sa["overall"] or k in sb["overall"]]
    overall = []
    for m in metrics:
        a = [_num(ra[u].get(m)) for u in shared]
        b = [_num(rb[u].get(m)) for u in shared]
        test = wilcoxon_signed_rank(b, a)
        overall.append({"metric": m, "a": (sa["overall"].get(m) or {}).get("mean"),
                        "b": (sb["overall"].get(m) or {}).get("mean"), "paired_n": test["n"],
                        "median_diff": test["median_diff"], "p": test["p"]})
    for row, p_adj in zip(overall, holm([r["p"] for r in overall]), strict=True):
        row["p_holm"] = p_adj
    verdicts: dict[tuple[str, str], dict] = {}
    for side, summary in (("a", sa), ("b", sb)):
        for d in summary.get("directions", []):
            entry = verdicts.setdefault((d["emotion"], d["metric"]), {
                "cue": d["cue"], "unit": d["unit"], "expected": d["expected"], "expected_text": d.get("expected_text")})
            vals = [e["measured"] for e in d["levels"] if e.get("measured") is not None]
            entry[side] = {"verdict": d["verdict"], "measured": vals[-1] if vals else None}
    directions = [{"emotion": e, "metric": m, **v} for (e, m), v in sorted(verdicts.items())]
    mono = []
    for emo in sorted(set(sa.get("monotonicity_spearman", {})) | set(sb.get("monotonicity_spearman", {}))):
        for m in MONOTONIC:
            x = sa.get("monotonicity_spearman", {}).get(emo, {}).get(m)
            y = sb.get("monotonicity_spearman", {}).get(emo, {}).get(m)
            if x is not None or y is not None:
                mono.append({"emotion": emo, "metric": m, "a": x, "b": y})
    ctrl_a = {r["metric"]: r["value"] for r in sa.get("control_metrics", [])}
    ctrl_b = {r["metric"]: r["value"] for r in sb.get("control_metrics", [])}
    control = [{"metric": m, "a": ctrl_a.get(m), "b": ctrl_b.get(m)} for m in dict.fromkeys([*ctrl_a, *ctrl_b])]
    result = {"labels": [la, lb], "dirs": [str(dir_a), str(dir_b)], "shared_utterances": len(shared),
              "overall": overall, "directions": directions, "monotonicity": mono, "control": control}
    result["markdown"] = format_comparison(result, sa, sb)
    return result


def format_comparison(cmp: dict, sa: dict, sb: dict) -> str:
    la, lb = cmp["labels"]
    lines = [f"# Comparison: {la} vs {lb}", "",
             f"- **{la}**: `{cmp['dirs'][0]}` ({sa['n_ok']} of {sa['n_pairs']} pairs)",
             f"- **{lb}**: `{cmp['dirs'][1]}` ({sb['n_ok']} of {sb['n_pairs']} pairs)",
             f"- utterances in both (paired tests): {cmp['shared_utterances']}", "",
             "## Expected directions", ""]
    if cmp["directions"]:
        rows = []
        for d in cmp["directions"]:
            cells = []
            for side in ("a", "b"):
                e = d.get(side)
                cells.append("–" if not e else f"{_signed(e['measured'], d['unit'])} {e['verdict'] or ''}".strip())
            rows.append([d["emotion"], d["cue"], _direction_arrow(d)] + cells)
        lines += _table(["emotion", "cue", "expected", f"{la} (strongest level)", f"{lb} (strongest level)"], rows)
        for side, label in (("a", la), ("b", lb)):
            checked = [d[side] for d in cmp["directions"] if d.get(side) and d[side]["verdict"]]
            lines.append(f"\n{label}: {sum(e['verdict'] == 'PASS' for e in checked)} of {len(checked)} cue checks pass.")
    else:
        lines.append("No direction checks in either run.")
    lines += ["", "## Overall metrics", "",
              "Wilcoxon signed-rank on the utterances both runs evaluated (B − A), Holm-corrected over the metrics.", ""]
    lines += _table(["metric", la, lb, "median B − A", "pairs", "p", "p (Holm)"],
                    [[HEADERS.get(r["metric"], r["metric"]), _fmt(r["a"]), _fmt(r["b"]), _fmt(r["median_diff"]),
                      str(r["paired_n"]), _fmt(r["p"], 2), _fmt(r["p_holm"], 2)] for r in cmp["overall"]])
    lines += ["", "## Source baseline beside the conversion", "", f"### {la}", ""] + baseline_lines(sa)
    lines += ["", f"### {lb}", ""] + baseline_lines(sb)
    if cmp["monotonicity"]:
        lines += ["", "## Intensity monotonicity (Spearman ρ)", ""]
        lines += _table(["emotion", "metric", la, lb],
                        [[m["emotion"], m["metric"], _fmt(m["a"], 2), _fmt(m["b"], 2)] for m in cmp["monotonicity"]])
    if cmp["control"]:
        lines += ["", "## Control metrics", ""]
        lines += _table(["metric", la, lb], [[c["metric"], _fmt(c["a"], 4), _fmt(c["b"], 4)] for c in cmp["control"]])
    return "\n".join(lines) + "\n"


def write_comparison(cmp: dict, out_dir: str | Path) -> Path:
    """compare.md and compare.json in ``out_dir``; returns the Markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / "compare.json", json.dumps(_clean({k: v for k, v in cmp.items() if k != "markdown"}),
                                                  indent=2) + "\n")
    _write_text(out / "compare.md", cmp["markdown"])
    return out / "compare.md"
