"""Aggregate per-utterance rows into summary.json and a Markdown report.

Aggregates: mean, std, median and count of every numeric metric over all utterances, per
requested emotion, and per (emotion, intensity); emotion accuracy is the mean of
``emo_correct``. Intensity monotonicity is the Spearman correlation, per emotion, between the
requested intensity and each measured change (and the classifier's posterior of the requested
emotion): +1 means stronger requests always changed the voice more.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from promptevc.eval.metrics import spearman
from promptevc.eval.runner import MONOTONIC, NUMERIC

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
    ("speaker_sim", "spk sim ↑", "higher"),
    ("wer", "WER ↓", "lower"),
    ("cer", "CER ↓", "lower"),
    ("dnsmos_ovrl", "DNSMOS OVRL ↑", "higher"),
    ("emo_correct", "emotion acc ↑", "higher"),
]


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


def summarize(rows: list[dict], settings: dict) -> dict:
    """Summary dict from per-utterance rows (rows with an ``error`` are counted as failed)."""
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
    }


def write_summary(summary: dict, path: str | Path) -> None:
    """summary.json (atomic)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _cell(agg: dict, key: str) -> str:
    s = agg.get(key)
    if not s:
        return "–"
    if s["n"] > 1:
        return f"{s['mean']:.3g} ± {s['std']:.2g}"
    return f"{s['mean']:.3g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


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
        "## Settings",
        "",
    ]
    lines += [f"- **{k}**: {v if v is not None else 'off'}" for k, v in settings.items()]
    lines += [
        "",
        ("Change metrics are output minus source (`f0_shift_st`, `energy_change_db`) or output over source "
        "(`f0_range_ratio`: 5–95 % voiced F0 span in semitones; `tempo_ratio`: speech time, slower > 1). "
        "MCD, F0 RMSE and DDUR need a target reference; WER/CER compare the recognised output with the "
        "transcript, or with the recognised source when no transcript is given. Cells are mean ± std."),
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
    if summary.get("plots"):
        lines += ["", "## Plots", ""]
        lines += [f"![{p}]({p})" for p in summary["plots"]]
    if summary["failed"]:
        lines += ["", "## Failed pairs", ""]
        lines += [f"- `{f['utt']}`: {f['error']}" for f in summary["failed"]]
    return "\n".join(lines) + "\n"


def write_report(summary: dict, path: str | Path) -> None:
    """report.md (atomic)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(format_report(summary), encoding="utf-8")
    tmp.replace(path)
