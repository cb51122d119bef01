"""PNG figures for the demo: pitch and energy before/after conversion, listening-test scores, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from promptevc.config import AudioConfig
from promptevc.utils.plots import plot_confusion, pyplot, save_png

__all__ = ["plot_confusion", "plot_prosody", "plot_scores"]


def _contours(wav: np.ndarray, sample_rate: int, audio: AudioConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(time_s (F,), f0_hz (F,) NaN where unvoiced, energy_db (F,))`` on the analysis grid."""
    from promptevc.audio import resample
    from promptevc.features.prosody import extract_energy, extract_f0

    wav = resample(np.asarray(wav, dtype=np.float32), sample_rate, audio.sample_rate)
    f0, voiced = extract_f0(wav, audio)
    energy = extract_energy(wav, audio)
    t = np.arange(len(f0)) * audio.frame_seconds
    return t, np.where(voiced, f0, np.nan), energy


def plot_prosody(
    before: np.ndarray,
    before_rate: int,
    after: np.ndarray,
    after_rate: int,
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Pitch (top) and energy (bottom) of ``before`` (T1,) and ``after`` (T2,) over time, as PNG."""
    plt = pyplot()

    audio = AudioConfig()
    t0, f0_0, e0 = _contours(before, before_rate, audio)
    t1, f0_1, e1 = _contours(after, after_rate, audio)
    fig, (ax_f0, ax_e) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True)
    try:
        for t, f0, e, label, style in ((t0, f0_0, e0, "before", "-"), (t1, f0_1, e1, "after", "-")):
            med = np.nanmedian(f0) if np.any(np.isfinite(f0)) else float("nan")
            ax_f0.plot(t, f0, style, lw=1.4, label=f"{label} (median {med:.0f} Hz)")
            ax_e.plot(t, e, style, lw=1.0, label=label)
        ax_f0.set_ylabel("F0 (Hz)")
        ax_f0.legend(loc="upper right", fontsize=8)
        ax_f0.grid(alpha=0.3)
        ax_e.set_ylabel("energy (dB)")
        ax_e.set_xlabel("time (s)")
        ax_e.set_ylim(bottom=max(-80.0, float(np.nanmin(np.concatenate([e0, e1]))) - 3))
        ax_e.legend(loc="upper right", fontsize=8)
        ax_e.grid(alpha=0.3)
        if title:
            ax_f0.set_title(title, fontsize=10)
    except BaseException:
        plt.close(fig)
        raise
    return save_png(fig, path)


def plot_scores(panels: list[tuple[str, list[dict], tuple[float, float]]], path: str | Path) -> Path:
    """One panel per test type: each system's mean (dot) with its 95 % CI (bar, cut at the scale's ends), as PNG.

    ``panels``: ``(title, rows, (y_min, y_max))`` with rows holding ``system``, optional
    ``condition``, ``mean``, ``ci95_low``, ``ci95_high`` (the :mod:`promptevc.demo.stats` tables).
    """
    import math

    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.5, 3.6 * len(panels)), 3.4), squeeze=False)
    try:
        for ax, (title, rows, (lo, hi)) in zip(axes[0], panels, strict=True):
            labels = [r["system"] + (f"\n{r['condition']}" if r.get("condition") else "") for r in rows]
            means = np.array([r["mean"] for r in rows], dtype=float)
            low = np.array([r["ci95_low"] if math.isfinite(r["ci95_low"]) else r["mean"] for r in rows], dtype=float)
            high = np.array([r["ci95_high"] if math.isfinite(r["ci95_high"]) else r["mean"] for r in rows],
                            dtype=float)
            # An interval from very few ratings can leave the scale; draw it up to the scale's ends.
            low, high = np.clip(low, lo, hi), np.clip(high, lo, hi)
            x = np.arange(len(rows))
            ax.errorbar(x, means, yerr=[means - low, high - means], fmt="o", capsize=4, lw=1.4)
            ax.set_xticks(x, labels, fontsize=8, rotation=30 if len(rows) > 3 else 0, ha="right" if len(rows) > 3
                          else "center")
            pad = 0.04 * (hi - lo)  # points at the ends of the scale stay visible
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_xlim(-0.6, len(rows) - 0.4)
            ax.set_title(title, fontsize=10)
            ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save_png(fig, path)
