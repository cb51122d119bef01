"""Listening-test statistics over the answers of :class:`~promptevc.demo.listening.ResultStore`.

Which answers count: training trials never; attention (gold) trials only for screening; and
only the answers of participants who pass the screening of :func:`screening`:

- attention: excluded when more attention trials are failed than the manifest's
  ``attention.max_failures`` allows;
- MUSHRA post-screening (ITU-R BS.1534-3): excluded when the hidden reference is rated below
  ``screening.mushra.reference_min`` (90) in more than ``max_fraction`` (15 %) of the
  participant's MUSHRA trials.

Summaries (confidence intervals and tests from :mod:`promptevc.eval.significance`):

- :func:`rating_summary` (MOS, SMOS, emotion similarity) and :func:`mushra_summary`: per system
  (and condition) n, mean with a t-based 95 % CI, std, median with a distribution-free 95 % CI;
- :func:`pairwise_wilcoxon`: every pair of systems, paired Wilcoxon signed-rank on the
  participant's ratings of the same item (MUSHRA: the same trial; category scales: the same
  utterance, several ratings of one utterance averaged; without utterance ids the participant's
  mean), Holm-corrected within the test type;
- :func:`preference_summary` (AB, ABX): per pair of systems the counts for each and for no
  preference, and the two-sided sign test on the preferences (no preference excluded),
  Holm-corrected over the pairs;
- :func:`agreement`: Krippendorff's alpha (interval and ordinal) of the category-scale ratings,
  participants as coders and rated stimuli as units;
- :func:`confusion_matrix`, :func:`ranking_agreement`: emotion identification and intensity
  ranking (Spearman's rho and Kendall's tau-b against the intended intensities);
- :func:`long_rows`: one row per answer *per rated version* (long format) for the CSV export.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptevc.eval.significance import holm, krippendorff_alpha, median_interval, sign_test, t_interval
from promptevc.eval.significance import wilcoxon_signed_rank as _wilcoxon
from promptevc.prompt.control import EMOTIONS

MOS_COLUMNS = ("system", "condition", "n", "mean", "std", "ci95_low", "ci95_high", "ci95_half",
               "median", "median_ci95_low", "median_ci95_high")
RATING_COLUMNS = ("test", *MOS_COLUMNS)
MUSHRA_COLUMNS = ("system", "n", "mean", "std", "ci95_low", "ci95_high", "ci95_half", "median",
                  "median_ci95_low", "median_ci95_high")
PAIRWISE_COLUMNS = ("test", "system_a", "system_b", "n_pairs", "median_diff", "w_plus", "w_minus", "p", "p_holm",
                    "method")
PREFERENCE_COLUMNS = ("test", "system_a", "system_b", "n", "prefer_a", "prefer_b", "no_preference",
                      "prefer_a_pct", "prefer_b_pct", "no_preference_pct", "p_sign", "p_holm")
SCREENING_COLUMNS = ("participant", "answers", "training", "attention_failed", "attention_total",
                     "mushra_ref_below", "mushra_trials", "excluded", "reason", "finished_utc", "code")
RANKING_COLUMNS = ("system", "n", "spearman_rho", "kendall_tau", "exact")
AGREEMENT_COLUMNS = ("test", "participants", "units", "ratings", "alpha_interval", "alpha_ordinal")
LONG_COLUMNS = ("test", "participant", "included", "trial_index", "trial_type", "block", "trial_key", "training",
                "attention", "passed", "stimulus", "role", "reference", "system", "condition", "utt", "target_emotion",
                "target_intensity", "shown_position", "response", "response_s", "created_utc")


def t_confidence_interval(scores: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a t-based CI; low/high are NaN with fewer than two scores."""
    return t_interval(scores, level)


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits) if math.isfinite(x) else math.nan


def _describe(scores: list[float], bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """n, mean, std, t-based 95 % CI and median with its CI of ``scores``.

    ``bounds``: the scale's ends (1-5, 0-100); the CI is clipped to them, as a mean cannot lie
    outside the scale (with few ratings the t interval would reach beyond it). ``ci95_half`` stays
    the unclipped half width, the figure papers report as "mean ± x".
    """
    mean, low, high = t_interval(scores)
    half = (high - low) / 2
    if bounds is not None and len(scores) > 1:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    med, mlow, mhigh = median_interval(scores)
    return {
        "n": len(scores),
        "mean": _r(mean),
        "std": _r(float(np.std(scores, ddof=1))) if len(scores) > 1 else math.nan,
        "ci95_low": _r(low),
        "ci95_high": _r(high),
        "ci95_half": _r(half) if len(scores) > 1 else math.nan,
        "median": _r(med),
        "median_ci95_low": _r(mlow),
        "median_ci95_high": _r(mhigh),
    }


# ----------------------------------------------------------------------------- screening


def screening(answers: Iterable[dict[str, Any]], settings: Any = None,
              participants: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """One row per participant: attention and MUSHRA screening counts, ``excluded`` and why.

    ``settings``: the test's :class:`~promptevc.demo.listening.TestSettings` (defaults: no
    attention failure allowed, BS.1534's 90 / 15 %).
    """
    max_fail = getattr(settings, "attention_max_failures", 0)
    ref_min = getattr(settings, "mushra_reference_min", 90.0)
    max_frac = getattr(settings, "mushra_max_fraction", 0.15)
    info = {p["participant"]: p for p in participants}
    rows: dict[str, dict[str, Any]] = {}
    for a in answers:
        r = rows.setdefault(a["participant"], {
            "participant": a["participant"], "answers": 0, "training": 0, "attention_failed": 0,
            "attention_total": 0, "mushra_ref_below": 0, "mushra_trials": 0})
        r["answers"] += 1
        if a.get("training"):
            r["training"] += 1
            continue
        if a.get("gold"):
            r["attention_total"] += 1
            r["attention_failed"] += int(a.get("passed") is False)
        if a["trial_type"] == "mushra":
            r["mushra_trials"] += 1
            r["mushra_ref_below"] += int(_hidden_reference_score(a) < ref_min)
    for pid in info:
        rows.setdefault(pid, {"participant": pid, "answers": 0, "training": 0, "attention_failed": 0,
                              "attention_total": 0, "mushra_ref_below": 0, "mushra_trials": 0})
    out = []
    for pid in sorted(rows):
        r = rows[pid]
        reasons = []
        if r["attention_failed"] > max_fail:
            reasons.append(f"failed {r['attention_failed']} of {r['attention_total']} attention trials "
                           f"(more than {max_fail})")
        if r["mushra_trials"] and r["mushra_ref_below"] / r["mushra_trials"] > max_frac:
            reasons.append(f"hidden reference below {ref_min:g} in {r['mushra_ref_below']} of "
                           f"{r['mushra_trials']} MUSHRA trials (more than {100 * max_frac:g} %)")
        r["excluded"] = bool(reasons)
        r["reason"] = "; ".join(reasons)
        r["finished_utc"] = (info.get(pid) or {}).get("finished_utc") or ""
        r["code"] = (info.get(pid) or {}).get("code") or ""
        out.append(r)
    return out


def _hidden_reference_score(answer: dict[str, Any]) -> float:
    ratings = answer["response"]
    for item in answer.get("items", []):
        if item.get("system") == "reference" and item.get("key") in ratings:
            return float(ratings[item["key"]])
    return math.nan


def scored(answers: Iterable[dict[str, Any]], excluded: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Answers that count: not training, not attention, from participants not excluded."""
    out_ids = set(excluded)
    return [a for a in answers if not a.get("training") and not a.get("gold") and a["participant"] not in out_ids]


def excluded_ids(screen: Iterable[dict[str, Any]]) -> set[str]:
    return {r["participant"] for r in screen if r["excluded"]}


# ----------------------------------------------------------------------------- ratings


def _ratings(answers: Iterable[dict[str, Any]], trial_type: str) -> list[tuple[str, str, str, str, str, float]]:
    """(participant, system, condition, utt, unit, score) for category-scale answers of ``trial_type``."""
    out = []
    for a in answers:
        if a["trial_type"] == trial_type:
            unit = a["stimuli"][0] if a.get("stimuli") else a.get("trial_key", "")
            out.append((a.get("participant", ""), a.get("system") or "", a.get("condition") or "", a.get("utt") or "",
                        unit, float(a["response"])))
    return out


def rating_summary(answers: Iterable[dict[str, Any]], trial_type: str = "mos") -> list[dict[str, Any]]:
    """One row per (system, condition) of a 1-5 scale (mos, smos, esmos), sorted."""
    groups: dict[tuple[str, str], list[float]] = {}
    for _, system, condition, _, _, score in _ratings(answers, trial_type):
        groups.setdefault((system, condition), []).append(score)
    return [{"system": s, "condition": c, **_describe(v, (1.0, 5.0))} for (s, c), v in sorted(groups.items())]


def mos_summary(answers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`rating_summary` of the naturalness MOS trials."""
    return rating_summary(answers, "mos")


def _mushra_scores(answers: Iterable[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    """(participant, trial key, system, score) of every MUSHRA rating."""
    out = []
    for a in answers:
        if a["trial_type"] != "mushra":
            continue
        systems = {i["key"]: i["system"] for i in a.get("items", []) if "system" in i}
        for key, score in a["response"].items():
            out.append((a["participant"], a["trial_key"], systems.get(key, key), float(score)))
    return out


def mushra_summary(answers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system (hidden reference and anchors included): n ratings, mean and CI, median and CI."""
    groups: dict[str, list[float]] = {}
    for _, _, system, score in _mushra_scores(answers):
        groups.setdefault(system, []).append(score)
    order = sorted(groups, key=lambda s: (s != "reference", _is_calibration(s), s))
    return [{"system": s, **_describe(groups[s], (0.0, 100.0))} for s in order]


def _paired_units(answers: list[dict[str, Any]], trial_type: str) -> dict[str, dict[tuple, float]]:
    """system -> {pairing unit: score}: the values a paired test compares."""
    per: dict[str, dict[tuple, list[float]]] = {}
    if trial_type == "mushra":
        for pid, trial, system, score in _mushra_scores(answers):
            per.setdefault(system, {}).setdefault((pid, trial), []).append(score)
    else:
        rows = _ratings(answers, trial_type)
        with_utt = all(utt for _, _, _, utt, _, _ in rows)
        for pid, system, _, utt, _, score in rows:
            per.setdefault(system, {}).setdefault((pid, utt) if with_utt else (pid,), []).append(score)
    return {s: {k: float(np.mean(v)) for k, v in units.items()} for s, units in per.items()}


def _is_calibration(system: str) -> bool:
    """MUSHRA's hidden reference and anchors: they calibrate the scale and are not systems under test."""
    return system == "reference" or system.startswith("anchor-")


def pairwise_wilcoxon(answers: Iterable[dict[str, Any]], trial_type: str) -> list[dict[str, Any]]:
    """Every pair of systems of ``trial_type``: paired Wilcoxon signed-rank (B - A) with Holm correction.

    For MUSHRA the hidden reference and the anchors are left out of the family of tests.
    """
    units = _paired_units(list(answers), trial_type)
    if trial_type == "mushra":
        units = {s: v for s, v in units.items() if not _is_calibration(s)}
    rows = []
    for a, b in itertools.combinations(sorted(units), 2):
        shared = sorted(set(units[a]) & set(units[b]))
        if not shared:
            continue
        res = _wilcoxon([units[b][k] for k in shared], [units[a][k] for k in shared])
        rows.append({"test": trial_type, "system_a": a, "system_b": b, "n_pairs": len(shared),
                     "median_diff": _r(res["median_diff"]), "w_plus": res["w_plus"], "w_minus": res["w_minus"],
                     "p": res["p"], "method": res["method"]})
    for row, adj in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = adj
    return [{k: r[k] for k in PAIRWISE_COLUMNS} for r in rows]


def preference_summary(answers: Iterable[dict[str, Any]], trial_type: str = "ab") -> list[dict[str, Any]]:
    """Per pair of systems of AB or ABX trials: preference counts and the sign test (Holm over pairs)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for a in answers:
        if a["trial_type"] != trial_type:
            continue
        systems = {i["key"]: i["system"] for i in a.get("items", []) if "system" in i}
        pair = tuple(sorted(systems.values()))
        c = counts.setdefault(pair, [0, 0, 0])
        if a["response"] == "none":
            c[2] += 1
        else:
            c[pair.index(systems[a["response"]])] += 1
    rows = []
    for (sa, sb), (na, nb, none) in sorted(counts.items()):
        n = na + nb + none
        rows.append({"test": trial_type, "system_a": sa, "system_b": sb, "n": n, "prefer_a": na, "prefer_b": nb,
                     "no_preference": none, "prefer_a_pct": _r(100 * na / n, 2), "prefer_b_pct": _r(100 * nb / n, 2),
                     "no_preference_pct": _r(100 * none / n, 2), "p_sign": sign_test(na, na + nb)})
    for row, adj in zip(rows, holm([r["p_sign"] for r in rows]), strict=True):
        row["p_holm"] = adj
    return rows


def agreement(answers: Iterable[dict[str, Any]], trial_type: str = "mos") -> dict[str, Any] | None:
    """Krippendorff's alpha of a category scale: participants x rated stimuli; None without ratings."""
    rows = _ratings(answers, trial_type)
    if not rows:
        return None
    coders = sorted({r[0] for r in rows})
    units = sorted({r[4] for r in rows})
    mat = np.full((len(coders), len(units)), np.nan)
    ci, ui = {c: i for i, c in enumerate(coders)}, {u: i for i, u in enumerate(units)}
    for pid, _, _, _, unit, score in rows:
        mat[ci[pid], ui[unit]] = score
    return {"test": trial_type, "participants": len(coders), "units": len(units), "ratings": len(rows),
            "alpha_interval": _r(krippendorff_alpha(mat, "interval")),
            "alpha_ordinal": _r(krippendorff_alpha(mat, "ordinal"))}


# ----------------------------------------------------------------------------- emotion and ranking


def confusion_matrix(
    answers: Iterable[dict[str, Any]], system: str | None = None
) -> tuple[np.ndarray, float]:
    """``(counts (5, 5) int, accuracy)``: rows intended, columns answered, in EMOTIONS order."""
    counts = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    for a in answers:
        if a["trial_type"] != "emotion" or (system is not None and a["system"] != system):
            continue
        if a["target_emotion"] in EMOTIONS:
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
    intensity = dict(zip(resp["intended"], resp["intensities"], strict=False))
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


# ----------------------------------------------------------------------------- whole test


def summarise(answers: list[dict[str, Any]], settings: Any = None,
              participants: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Every table of the Results tab, computed over the answers that count."""
    screen = screening(answers, settings, participants)
    use = scored(answers, excluded_ids(screen))
    types = {a["trial_type"] for a in use}
    ratings = [{"test": t, **row} for t in ("mos", "smos", "esmos") if t in types for row in rating_summary(use, t)]
    pairwise = [row for t in ("mos", "smos", "esmos", "mushra") if t in types for row in pairwise_wilcoxon(use, t)]
    preference = [row for t in ("ab", "abx") if t in types for row in preference_summary(use, t)]
    agree = [a for t in ("mos", "smos", "esmos") if t in types if (a := agreement(use, t)) is not None]
    counts, accuracy = confusion_matrix(use)
    return {"screening": screen, "scored": use, "ratings": ratings, "mushra": mushra_summary(use),
            "pairwise": pairwise, "preference": preference, "agreement": agree, "confusion": counts,
            "accuracy": accuracy, "ranking": ranking_agreement(use)}


def _long_row(answer: dict[str, Any], base: dict[str, Any], key: str, role: str, response: Any) -> dict[str, Any]:
    items = {i["key"]: i for i in answer.get("items", []) if "system" in i}
    it = items.get(key, {})
    shown = answer["stimuli"]
    return {**base, "stimulus": key, "role": role, "system": it.get("system", ""),
            "condition": it.get("condition", ""), "utt": it.get("utt", "") or answer.get("utt") or "",
            "target_emotion": it.get("emotion") or answer.get("target_emotion") or "",
            "target_intensity": "" if it.get("intensity") is None else it["intensity"],
            "shown_position": shown.index(key) + 1 if key in shown else "", "response": response}


def long_rows(answers: Iterable[dict[str, Any]], excluded: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Long format: one row per answer and rated version (a MUSHRA answer gives one row per version,
    a ranking one row per version with its rank, an AB/ABX answer one row for the chosen version
    or a "none" row); ``included`` says whether the row counts in the statistics."""
    out_ids = set(excluded)
    rows = []
    for a in answers:
        reference = next((i["key"] for i in a.get("items", []) if i.get("role") == "reference"), "")
        base = {"test": a["test"], "participant": a["participant"], "included": int(
            a["participant"] not in out_ids and not a.get("training") and not a.get("gold")),
            "trial_index": a["trial_index"], "trial_type": a["trial_type"], "block": a.get("block") or "",
            "trial_key": a["trial_key"], "training": int(bool(a.get("training"))),
            "attention": int(bool(a.get("gold"))), "passed": "" if a.get("passed") is None else int(a["passed"]),
            "response_s": "" if a.get("response_s") is None else a["response_s"], "created_utc": a["created_utc"],
            "reference": reference}
        kind, resp = a["trial_type"], a["response"]
        if kind == "mushra":
            rows += [_long_row(a, base, k, "rated", v) for k, v in resp.items()]
        elif kind in ("ab", "abx"):
            rows.append(_long_row(a, base, resp, "chosen", 1) if resp != "none"
                        else {**_long_row(a, base, "", "none", 0), "system": "none"})
        elif kind == "ranking":
            rows += [_long_row(a, base, k, "ranked", r + 1) for r, k in enumerate(resp["response"])]
        else:
            key = a["stimuli"][0] if a["stimuli"] else ""
            rows.append({**_long_row(a, base, key, "rated", resp), "system": a.get("system") or "",
                         "condition": a.get("condition") or "",
                         "target_intensity": "" if a.get("target_intensity") is None else a["target_intensity"]})
    return [{k: r.get(k, "") for k in LONG_COLUMNS} for r in rows]


def write_table_csv(rows: Sequence[dict[str, Any]], path: str | Path, columns: Sequence[str] | None = None) -> Path:
    """Write dict rows as CSV (``columns`` or the first row's keys); an empty table writes its header or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        fields = list(columns) if columns else list(rows[0]) if rows else []
        if fields:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return path


def write_answers_csv(answers: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Every answer as one CSV row; list/dict fields (stimuli, ranking responses) as JSON text."""
    rows = [
        {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in a.items()} for a in answers
    ]
    return write_table_csv(rows, path)
