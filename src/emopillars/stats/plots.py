"""The report's plots (PNG), drawn from the computed statistics, never from the records.

Uses matplotlib's object API (:class:`matplotlib.figure.Figure`, Agg canvas): no pyplot state, no display.
Every function writes one file and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

DPI = 110


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def label_distribution(
    shares: Mapping[str, float],
    path: Path,
    compare: Mapping[str, float] | None = None,
    name: str = "this dataset",
    compare_name: str = "compare",
) -> Path:
    labels = list(shares)
    if compare:
        labels += [label for label in compare if label not in shares]
    y = np.arange(len(labels))
    fig = Figure(figsize=(8, max(4, 0.28 * len(labels) + 1)))
    ax = fig.subplots()
    height = 0.4 if compare else 0.8
    ax.barh(y - (height / 2 if compare else 0), [shares.get(name, 0.0) for name in labels], height, label=name)
    if compare:
        ax.barh(
            y + height / 2, [compare.get(name, 0.0) for name in labels], height, label=compare_name, color="#bbbbbb"
        )
        ax.legend(loc="lower right")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("share of positive labels")
    ax.set_title("Distribution of positive labels")
    return _save(fig, path)


def histogram(counts: Mapping[str, int], path: Path, title: str, xlabel: str) -> Path:
    keys = list(counts)
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.bar(range(len(keys)), [counts[k] for k in keys], color="#4878a8")
    ax.set_xticks(range(len(keys)), keys, rotation=45 if len(keys) > 8 else 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    return _save(fig, path)


def heatmap(matrix: Mapping[str, Mapping[str, int]], labels: Sequence[str], path: Path) -> Path:
    """Rows: requested emotion; columns: primary label; cells: share of the row (counts when shown)."""
    rows = [label for label in labels if label in matrix] + sorted(set(matrix) - set(labels))
    columns = list(labels) + sorted({c for r in matrix.values() for c in r} - set(labels))
    counts = np.array([[matrix.get(r, {}).get(c, 0) for c in columns] for r in rows], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    fig = Figure(figsize=(10, max(3, 0.3 * len(rows) + 2)))
    ax = fig.subplots()
    image = ax.imshow(shares, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xlabel("primary label (teacher)")
    ax.set_ylabel("requested emotion")
    ax.set_title("Requested emotion vs primary label (share of row)")
    fig.colorbar(image, ax=ax, fraction=0.025)
    return _save(fig, path)


def similarity(
    groups: Mapping[str, Mapping[str, float | None]], path: Path, paper: Mapping[str, float] | None = None
) -> Path:
    """Bars of within / across (/ across same plot) similarity for each group of texts (neutral, all)."""
    kinds = [
        ("within", "within a character"),
        ("across_same_plot", "across, same plot"),
        ("across", "across characters"),
    ]
    names = list(groups)
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    width = 0.25
    for k, (key, title) in enumerate(kinds):
        values = [groups[n].get(key) for n in names]
        ax.bar(
            np.arange(len(names)) + (k - 1) * width,
            [v if v is not None else 0.0 for v in values],
            width,
            label=title,
        )
    if paper:
        for key, value in paper.items():
            ax.axhline(value, linestyle="--", color="grey", linewidth=0.8)
            ax.text(len(names) - 0.5, value, f"paper {key} {value:.2f}", fontsize=7, va="bottom", ha="right")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("mean cosine similarity")
    ax.set_title("Embedding similarity of utterances")
    ax.legend(fontsize=8)
    return _save(fig, path)
