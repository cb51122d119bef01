"""Plot helpers shared by training, evaluation and the demo (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from promptevc.prompt.control import EMOTIONS


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display on servers; must precede pyplot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int = 90) -> Path:
    """Lay out ``fig``, write it as PNG (creating folders) and close it."""
    plt = pyplot()
    try:
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return path


def plot_confusion(
    counts: np.ndarray,
    path: str | Path,
    title: str = "emotion identification",
    row_label: str = "intended",
    col_label: str = "answered",
) -> Path:
    """Row-normalised confusion matrix (5, 5) over EMOTIONS with counts in the cells, as PNG."""
    plt = pyplot()
    counts = np.asarray(counts)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=30)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=9)
    ax.set_title(title, fontsize=10)
    return save_png(fig, path)
