"""Write an evaluation as files people and scripts read: ``metrics.json``, ``report.md``, ``per_class_f1.png``.

The chart is drawn with matplotlib's object API on an Agg canvas, so it works headless and never changes the
pyplot backend of the calling program.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from emopillars.files import atomic_write_bytes, atomic_write_text

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
CHART_FILE = "per_class_f1.png"

_HEADLINE = (
    ("macro_f1", "Macro-F1 (headline)"),
    ("micro_f1", "Micro-F1"),
    ("accuracy", "Accuracy"),
    ("emocontext_micro_f1", "EmoContext micro-F1 (happy, sad, angry)"),
    ("macro_precision", "Macro precision"),
    ("macro_recall", "Macro recall"),
    ("micro_precision", "Micro precision"),
    ("micro_recall", "Micro recall"),
)
_NOT_DETAILS = {key for key, _ in _HEADLINE} | {"per_class", "label_names", "confusion"}


def write_report(metrics: dict[str, Any], out_dir: str | Path, title: str = "Evaluation report") -> dict[str, Path]:
    """Write the three report files into ``out_dir`` (created if needed); returns their paths by kind.

    ``metrics`` is a dict from :mod:`emopillars.evaluation.metrics` (``macro_f1``, ``micro_f1``, ``per_class``, ...),
    optionally with extra keys (model, data, threshold policy, ...), which are listed under "Details".
    """
    if "per_class" not in metrics or "macro_f1" not in metrics:
        raise ValueError("metrics must hold at least macro_f1 and per_class (see emopillars.evaluation.metrics)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / METRICS_FILE, "markdown": out / REPORT_FILE, "chart": out / CHART_FILE}
    atomic_write_text(paths["metrics"], json.dumps(metrics, indent=2, default=_json_default) + "\n")
    atomic_write_text(paths["markdown"], render_markdown(metrics, title, chart=CHART_FILE))
    plot_per_class_f1(metrics, paths["chart"], title=title)
    return paths


def ordered_classes(metrics: dict[str, Any]) -> list[str]:
    """Class names in label order (``label_names`` when present, else the order of ``per_class``)."""
    per_class = metrics["per_class"]
    names = [name for name in metrics.get("label_names") or [] if name in per_class]
    return names + [name for name in per_class if name not in names]


def render_markdown(metrics: dict[str, Any], title: str = "Evaluation report", chart: str | None = CHART_FILE) -> str:
    """The Markdown report: headline metrics, details, and a per-class table in label order."""
    lines = [f"# {title}", ""]
    for key, name in _HEADLINE:
        if isinstance(metrics.get(key), int | float):
            lines.append(f"- **{name}**: {metrics[key]:.4f}")
    if "n_examples" in metrics:
        lines.append(f"- Examples: {metrics['n_examples']}")
    details = [(key, value) for key, value in metrics.items() if key not in _NOT_DETAILS and key != "n_examples"]
    if details:
        lines += ["", "## Details", ""]
        lines += [f"- {key}: {_inline(value)}" for key, value in details]
    lines += ["", "## Per class", "", "| label | precision | recall | F1 | support |"]
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for name in ordered_classes(metrics):
        row = metrics["per_class"][name]
        lines.append(
            f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {int(row['support'])} |"
        )
    if chart:
        lines += ["", f"![per-class F1]({chart})"]
    return "\n".join(lines) + "\n"


def plot_per_class_f1(metrics: dict[str, Any], path: str | Path, title: str = "Per-class F1") -> Path:
    """A horizontal bar chart of per-class F1 (label order, top to bottom) with the macro-F1 as a line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = ordered_classes(metrics)
    f1 = [float(metrics["per_class"][name]["f1"]) for name in names]
    figure = Figure(figsize=(7, max(2.5, 0.28 * len(names) + 1.2)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = np.arange(len(names))
    axes.barh(positions, f1, color="#4C72B0")
    axes.set_yticks(positions, labels=names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1")
    macro = float(metrics["macro_f1"])
    axes.axvline(macro, color="#C44E52", linestyle="--", linewidth=1, label=f"macro-F1 {macro:.3f}")
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return atomic_write_bytes(Path(path), buffer.getvalue())


def _inline(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    if isinstance(value, dict | list):
        return "`" + json.dumps(value, default=_json_default) + "`"
    return str(value)


def _json_default(value: Any) -> Any:
    """numpy scalars/arrays and paths, which evaluation code often leaves in the metrics dict."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
