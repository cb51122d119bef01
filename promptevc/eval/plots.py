"""PNG plots for the evaluation report (matplotlib, Agg backend; no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# (column, axis label) of the per-emotion distribution panels.
DISTRIBUTIONS = [
    ("f0_shift_st", "F0 shift (semitones)"),
    ("f0_range_ratio", "F0 range ratio"),
    ("tempo_ratio", "tempo ratio (slower > 1)"),
    ("energy_change_db", "energy change (dB)"),
    ("tilt_change_db", "spectral tilt change (dB)"),
    ("speaker_sim", "speaker similarity"),
    ("mcd_db", "MCD (dB)"),
    ("wer", "WER"),
    ("dnsmos_ovrl", "DNSMOS OVRL"),
]


def _value(row: dict, key: str) -> float:
    """A row's metric as float (NaN when empty or not a number)."""
    try:
        return float(row.get(key, ""))
    except (TypeError, ValueError):
        return math.nan


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)
    return path


def plot_f0_contours(contours: list[dict], path: str | Path) -> Path:
    """One panel per utterance: source and converted F0 (Hz; unvoiced frames blank) over time.

    ``contours``: dicts with utt, emotion, intensity, src_t (F,), src_f0 (F,), conv_t (G,), conv_f0 (G,).
    """
    plt = _pyplot()
    n = len(contours)
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.2 * n), squeeze=False)
    for ax, c in zip(axes[:, 0], contours, strict=True):
        for key, label, style in (("src", "source", "-"), ("conv", "converted", "-")):
            f0 = np.where(c[f"{key}_f0"] > 0, c[f"{key}_f0"], np.nan)
            ax.plot(c[f"{key}_t"], f0, style, label=label, linewidth=1.2)
        title = c["utt"]
        if c.get("emotion"):
            title += f"  ({c['emotion']}"
            title += f", intensity {c['intensity']:g})" if math.isfinite(c.get("intensity", math.nan)) else ")"
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("F0 (Hz)")
        ax.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_distributions(rows: list[dict], path: str | Path) -> Path | None:
    """Box plots of each available metric, one box per requested emotion; None if nothing to plot."""
    plt = _pyplot()
    emotions = sorted({r.get("emotion") or "unspecified" for r in rows})
    panels = []
    for key, label in DISTRIBUTIONS:
        data = [[v for r in rows if (r.get("emotion") or "unspecified") == e
                 if math.isfinite(v := _value(r, key))] for e in emotions]
        if any(data):
            panels.append((label, data))
    if not panels:
        return None
    ncols = 2
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9, 2.6 * nrows), squeeze=False)
    for ax, (label, data) in zip(axes.flat, panels, strict=False):  # spare axes are switched off below
        keep = [(e, d) for e, d in zip(emotions, data, strict=True) if d]
        ax.boxplot([d for _, d in keep], tick_labels=[e for e, _ in keep])
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


# (column, axis label, identity value) of the intensity-monotonicity panels.
MONOTONIC_PANELS = [
    ("f0_shift_st", "F0 shift (st)", 0.0),
    ("f0_range_ratio", "F0 range ratio", 1.0),
    ("tempo_ratio", "tempo ratio (slower > 1)", 1.0),
    ("energy_change_db", "energy change (dB)", 0.0),
    ("tilt_change_db", "spectral tilt change (dB)", 0.0),
    ("pause_stretch", "pause stretch", 1.0),
    ("emo_posterior", "P(requested emotion)", None),
]


def plot_monotonicity(rows: list[dict], path: str | Path) -> Path | None:
    """Each cue against the requested intensity: one line per emotion (mean and 95 % t interval).

    Intensity 0 is the source itself (no change by definition), drawn as the dotted identity
    line; None when no emotion has a stated intensity.
    """
    from promptevc.eval.significance import t_interval

    plt = _pyplot()
    emotions = sorted({r.get("emotion") for r in rows if r.get("emotion") and r.get("emotion") != "neutral"})
    panels = []
    for key, label, identity in MONOTONIC_PANELS:
        lines = {}
        for emo in emotions:
            by_level: dict[float, list[float]] = {}
            for r in rows:
                x, y = _value(r, "intensity"), _value(r, key)
                if r.get("emotion") == emo and math.isfinite(x) and math.isfinite(y):
                    by_level.setdefault(x, []).append(y)
            if by_level:
                levels = sorted(by_level)
                stats = [t_interval(by_level[lv]) for lv in levels]
                lines[emo] = (levels, stats)
        if lines:
            panels.append((label, identity, lines))
    if not panels:
        return None
    ncols = 2 if len(panels) > 1 else 1
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9, 2.8 * nrows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (label, identity, lines) in zip(axes.flat, panels, strict=False):
        for k, (emo, (levels, stats)) in enumerate(lines.items()):
            mean = np.array([s[0] for s in stats])
            low = np.array([s[1] for s in stats])
            high = np.array([s[2] for s in stats])
            colour = colours[k % len(colours)]
            ax.plot(levels, mean, "o-", color=colour, label=emo, linewidth=1.4, markersize=4)
            ok = np.isfinite(low) & np.isfinite(high)
            if ok.any():
                ax.fill_between(np.asarray(levels)[ok], low[ok], high[ok], color=colour, alpha=0.15, linewidth=0)
        if identity is not None:
            ax.axhline(identity, color="0.4", linestyle=":", linewidth=1)
        ax.set_xlim(0, 1.02)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("requested intensity", fontsize=8)
        ax.tick_params(labelsize=8)
    axes.flat[0].legend(fontsize=8, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("Intensity monotonicity: measured change vs requested intensity (shaded: 95 % CI; "
                 "dotted: no change)", fontsize=9)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out
