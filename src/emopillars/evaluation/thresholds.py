"""Decision thresholds for multi-label scores, chosen on dev data, and the policy that applies them.

The sweep is vectorised: per class, the scores are sorted once and ``np.searchsorted`` counts, for every grid
threshold at once, how many examples (and how many gold positives) score at or above it. That gives the F1 of
every (class, threshold) pair without materialising an (n, labels, thresholds) array.

Ties. When several grid thresholds reach the best F1 (common: scores have gaps wider than the grid step, so
neighbouring thresholds predict exactly the same set), the *middle of the lowest contiguous plateau* of best
values is chosen, which keeps the threshold away from both edges of the gap. Per-class selection falls back to
the global threshold for a class whose best dev F1 is 0 (e.g. no dev positives): dev then says nothing about it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from emopillars.evaluation.metrics import binary_matrix, multilabel_report, safe_divide

DEFAULT_GRID: np.ndarray = np.round(np.arange(0.05, 0.9501, 0.01), 2)
"""0.05, 0.06, ..., 0.95: 91 thresholds."""
THRESHOLDS_FILE = "thresholds.json"
_TIE = 1e-12


def f1_by_threshold(y_true: np.ndarray, scores: np.ndarray, grid: np.ndarray = DEFAULT_GRID) -> np.ndarray:
    """F1 of every class at every grid threshold (predict positive when score >= threshold): shape (labels, grid)."""
    truth = binary_matrix(y_true, "y_true")
    values = _scores(scores, truth.shape)
    grid = _grid(grid)
    n, n_labels = values.shape
    predicted = np.empty((n_labels, grid.size), dtype=np.float64)
    true_positive = np.empty((n_labels, grid.size), dtype=np.float64)
    ordered = np.sort(values, axis=0)
    for c in range(n_labels):
        predicted[c] = n - np.searchsorted(ordered[:, c], grid, side="left")
        positives = np.sort(values[truth[:, c], c])
        true_positive[c] = positives.size - np.searchsorted(positives, grid, side="left")
    support = truth.sum(axis=0)[:, None]
    # 2tp + fp + fn == predicted + support
    return safe_divide(2 * true_positive, predicted + support)


def best_global_threshold(
    y_true: np.ndarray, scores: np.ndarray, grid: np.ndarray = DEFAULT_GRID
) -> tuple[float, float]:
    """The one threshold for all classes with the best macro-F1, and that macro-F1."""
    grid = _grid(grid)
    macro = f1_by_threshold(y_true, scores, grid).mean(axis=0)
    best = _pick(macro)
    return float(grid[best]), float(macro[best])


def best_per_class_thresholds(
    y_true: np.ndarray, scores: np.ndarray, grid: np.ndarray = DEFAULT_GRID, fallback: float | None = None
) -> np.ndarray:
    """One threshold per class, each maximising that class's F1.

    A class whose best F1 is 0 gets ``fallback`` (default: the best global threshold).
    """
    grid = _grid(grid)
    f1 = f1_by_threshold(y_true, scores, grid)
    if fallback is None:
        fallback = float(grid[_pick(f1.mean(axis=0))])
    thresholds = np.full(f1.shape[0], float(fallback), dtype=np.float64)
    for c, row in enumerate(f1):
        if row.max() > 0:
            thresholds[c] = grid[_pick(row)]
    return thresholds


@dataclass
class ThresholdPolicy:
    """How scores become labels: one global threshold, one per class, or the arg-max (single-label data).

    Both the global and the per-class thresholds are kept, so a saved model can switch policy without
    re-calibrating; ``dev_macro_f1`` records what each policy scored on the calibration data.
    """

    kind: str = "global"
    global_threshold: float = 0.5
    per_class: list[float] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)
    dev_macro_f1: dict[str, float] = field(default_factory=dict)

    KINDS: ClassVar[tuple[str, ...]] = ("global", "per_class", "argmax")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"ThresholdPolicy.kind must be one of {self.KINDS}, got {self.kind!r}")
        self.global_threshold = float(self.global_threshold)
        self.per_class = [float(t) for t in self.per_class]
        self.label_names = list(self.label_names)
        if not 0.0 <= self.global_threshold <= 1.0:
            raise ValueError(f"ThresholdPolicy.global_threshold must be in [0, 1], got {self.global_threshold}")
        if any(not 0.0 <= t <= 1.0 for t in self.per_class):
            raise ValueError("ThresholdPolicy.per_class thresholds must be in [0, 1]")
        if self.per_class and self.label_names and len(self.per_class) != len(self.label_names):
            raise ValueError(
                f"ThresholdPolicy.per_class has {len(self.per_class)} thresholds for {len(self.label_names)} labels"
            )
        if self.kind == "per_class" and not self.per_class:
            raise ValueError("ThresholdPolicy.kind 'per_class' needs per_class thresholds")

    @classmethod
    def fit(
        cls,
        y_true: np.ndarray,
        scores: np.ndarray,
        label_names: list[str],
        kind: str = "global",
        grid: np.ndarray = DEFAULT_GRID,
    ) -> ThresholdPolicy:
        """Choose the global and per-class thresholds on dev data; ``kind`` says which one ``apply`` uses."""
        global_threshold, global_f1 = best_global_threshold(y_true, scores, grid)
        per_class = best_per_class_thresholds(y_true, scores, grid, fallback=global_threshold)
        policy = cls("per_class", global_threshold, per_class.tolist(), list(label_names))
        per_class_f1 = multilabel_report(y_true, policy.apply(scores), label_names)["macro_f1"]
        policy.dev_macro_f1 = {"global": global_f1, "per_class": per_class_f1}
        return replace(policy, kind=kind)

    def thresholds(self, n_labels: int | None = None) -> np.ndarray:
        """The threshold of every class under this policy (the global one repeated for ``global``)."""
        if self.kind == "per_class":
            return np.asarray(self.per_class, dtype=np.float64)
        n = n_labels if n_labels is not None else len(self.label_names) or len(self.per_class)
        return np.full(n, self.global_threshold, dtype=np.float64)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """0/1 predictions (int8) with the shape of ``scores``: (n, labels), or (labels,) for one example."""
        values = np.asarray(scores, dtype=np.float64)
        single = values.ndim == 1
        matrix = values[None, :] if single else values
        if matrix.ndim != 2:
            raise ValueError(f"scores must be (n_examples, n_labels) or (n_labels,), got shape {values.shape}")
        n_labels = matrix.shape[1]
        if self.label_names and n_labels != len(self.label_names):
            raise ValueError(f"scores have {n_labels} columns but the policy has {len(self.label_names)} labels")
        if self.kind == "argmax":
            out = np.zeros(matrix.shape, dtype=np.int8)
            if matrix.shape[0]:
                out[np.arange(matrix.shape[0]), matrix.argmax(axis=1)] = 1
        else:
            thresholds = self.thresholds(n_labels)
            if thresholds.size != n_labels:
                raise ValueError(f"{thresholds.size} per-class thresholds for {n_labels} score columns")
            out = (matrix >= thresholds[None, :]).astype(np.int8)
        return out[0] if single else out

    def decode(self, scores: np.ndarray) -> list[list[str]]:
        """The predicted label names of each example."""
        if not self.label_names:
            raise ValueError("ThresholdPolicy.decode needs label_names")
        predictions = np.atleast_2d(self.apply(scores))
        return [[self.label_names[i] for i in np.flatnonzero(row)] for row in predictions]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThresholdPolicy:
        known = {"kind", "global_threshold", "per_class", "label_names", "dev_macro_f1"}
        return cls(**{key: value for key, value in data.items() if key in known})

    def save(self, path: str | Path) -> Path:
        """Write JSON to ``path`` (or to ``path/thresholds.json`` when ``path`` is a directory)."""
        path = Path(path)
        if path.is_dir():
            path = path / THRESHOLDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ThresholdPolicy:
        """Read a policy written by :meth:`save` (``path`` may be the directory holding ``thresholds.json``)."""
        path = Path(path)
        if path.is_dir():
            path = path / THRESHOLDS_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: no saved threshold policy")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a valid threshold policy JSON ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a threshold policy must be a JSON object")
        return cls.from_dict(data)


def _grid(grid: np.ndarray) -> np.ndarray:
    """Sorted, de-duplicated thresholds, rounded so 0.3 is 0.3 and not 0.30000000000000004."""
    values = np.unique(np.round(np.asarray(grid, dtype=np.float64), 6))
    if values.size == 0:
        raise ValueError("the threshold grid is empty")
    return values


def _scores(scores: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != shape:
        raise ValueError(f"scores {values.shape} and y_true {shape} differ in shape")
    if np.isnan(values).any():
        raise ValueError("scores contain NaN")
    return values


def _pick(values: np.ndarray) -> int:
    """Index of the middle of the lowest contiguous run of best values (see the module docstring)."""
    best = np.flatnonzero(values >= values.max() - _TIE)
    breaks = np.flatnonzero(np.diff(best) != 1)
    run = best[: breaks[0] + 1] if breaks.size else best
    return int(run[(run.size - 1) // 2])
