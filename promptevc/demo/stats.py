"""Listening-test statistics over the answers of :class:`~promptevc.demo.listening.ResultStore`.

- :func:`mos_summary`: mean opinion score per (system, condition) with a t-based 95 % CI,
  ``mean ± t(0.975, n-1) · s / sqrt(n)`` with the sample standard deviation ``s`` (ddof 1);
- :func:`confusion_matrix`: intended emotion (rows) × answered emotion (columns), counts;
- :func:`ranking_agreement`: per system, Spearman's rho and Kendall's tau-b between each
  participant's intensity ranking and the intended intensities, averaged over trials;
- :func:`write_answers_csv` / :func:`write_table_csv`: CSV export.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.prompt.control import EMOTIONS

MOS_COLUMNS = ("system", "condition", "n", "mean", "std", "ci95_low", "ci95_high", "ci95_half")
RANKING_COLUMNS = ("system", "n", "spearman_rho", "kendall_tau", "exact")


def t_confidence_interval(scores: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a t-based CI; low/high are NaN with fewer than two scores."""
    from scipy import stats

    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def mos_summary(answers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (system, condition): n, mean, std, ci95_low, ci95_high, ci95_half (sorted)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for a in answers:
        if a["trial_type"] == "mos":
            groups.setdefault((a["system"], a["condition"] or ""), []).append(float(a["response"]))
    rows = []
    for (system, condition), scores in sorted(groups.items()):
        mean, low, high = t_confidence_interval(scores)
        rows.append({
            "system": system,
            "condition": condition,
            "n": len(scores),
            "mean": round(mean, 4),
            "std": round(float(np.std(scores, ddof=1)), 4) if len(scores) > 1 else math.nan,
            "ci95_low": round(low, 4),
            "ci95_high": round(high, 4),
            "ci95_half": round((high - low) / 2, 4) if len(scores) > 1 else math.nan,
        })
    return rows


def confusion_matrix(
    answers: Iterable[dict[str, Any]], system: str | None = None
) -> tuple[np.ndarray, float]:
    """``(counts (5, 5) int, accuracy)``: rows intended, columns answered, in EMOTIONS order."""
    counts = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    for a in answers:
        if a["trial_type"] != "emotion" or (system is not None and a["system"] != system):
            continue
        counts[EMOTIONS.index(a["target_emotion"]), EMOTIONS.index(a["response"])] += 1
    total = counts.sum()
    accuracy = float(np.trace(counts) / total) if total else math.nan
    return counts, accuracy


def confusion_rows(counts: np.ndarray) -> list[dict[str, Any]]:
    """The matrix as table rows: ``{"intended": e, <answered emotion>: count, ..., "n": row total}``."""
    return [
        {"intended": e, **{f: int(counts[i, j]) for j, f in enumerate(EMOTIONS)}, "n": int(counts[i].sum())}
        for i, e in enumerate(EMOTIONS)
    ]


def ranking_scores(answer: dict[str, Any]) -> tuple[float, float]:
    """Spearman rho and Kendall tau-b of one ranking answer against the intended intensities."""
    from scipy import stats

    resp = answer["response"]
    if isinstance(resp, str):
        resp = json.loads(resp)
    intended_keys = resp["intended"]
    intensity = dict(zip(intended_keys, resp["intensities"], strict=False))
    given = resp["response"]  # keys from weakest to strongest as the participant ranked them
    participant_rank = np.arange(1, len(given) + 1, dtype=np.float64)
    intended = np.asarray([intensity[k] for k in given], dtype=np.float64)
    rho = float(stats.spearmanr(participant_rank, intended).statistic)
    tau = float(stats.kendalltau(participant_rank, intended).statistic)
    return rho, tau


def ranking_agreement(answers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system: trials, mean Spearman rho, mean Kendall tau, fraction ranked exactly right."""
    per_system: dict[str, list[tuple[float, float]]] = {}
    for a in answers:
        if a["trial_type"] == "ranking":
            per_system.setdefault(a["system"], []).append(ranking_scores(a))
    rows = []
    for system, scores in sorted(per_system.items()):
        rho = np.array([s[0] for s in scores])
        tau = np.array([s[1] for s in scores])
        rows.append({
            "system": system,
            "n": len(scores),
            "spearman_rho": round(float(np.nanmean(rho)), 4),
            "kendall_tau": round(float(np.nanmean(tau)), 4),
            "exact": round(float(np.mean(np.isclose(tau, 1.0))), 4),
        })
    return rows


def write_table_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write dict rows (same keys) as CSV; an empty table writes an empty file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def write_answers_csv(answers: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Every answer as one CSV row; list/dict fields (stimuli, ranking responses) as JSON text."""
    rows = [
        {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in a.items()} for a in answers
    ]
    return write_table_csv(rows, path)
