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
    ("speaker_sim", "speaker similarity"),
    ("mcd_db", "MCD (dB)"),
    ("wer", "WER"),
    ("dnsmos_ovrl", "DNSMOS OVRL"),
]


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

    def value(r, key):
        try:
            return float(r.get(key, ""))
        except (TypeError, ValueError):
            return math.nan

    emotions = sorted({r.get("emotion") or "unspecified" for r in rows})
    panels = []
    for key, label in DISTRIBUTIONS:
        data = [[v for r in rows if (r.get("emotion") or "unspecified") == e
                 if math.isfinite(v := value(r, key))] for e in emotions]
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
