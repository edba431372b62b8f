"""Single-label decision rules chosen on labelled data, and honest (cross-fitted) estimates of what they score.

A classifier trained where the classes have priors ``pi_train`` scores ``p(c|x) ~ p(x|c) pi_train(c)``. Where
the priors are ``pi_target`` instead, Bayes' rule gives ``p'(c|x) ~ p(c|x) pi_target(c) / pi_train(c)``
(Saerens et al. 2002): the *class-prior correction*. EmoContext is the textbook case: its training set is
50 % *others*, dev and test 85 %, so a model trained on train and read by argmax predicts an emotion far too
often (measured here: precision 0.54, recall 0.84 on dev). Its best systems corrected for that.

A rule adds one offset per class to the log-scores and takes the argmax:

- ``argmax``: no offsets (nothing is chosen).
- ``prior``: ``log pi_target - log pi_train``, with ``pi_target`` counted on the data the rule is fit on.
- ``none_offset``: one offset on the *none* class (EmoContext's ``others``), swept on a grid: "predict an
  emotion only when it beats *others* by this margin", a threshold for *others*.
- ``prior_none_offset``: both; the swept offset corrects what the prior correction leaves.

``fit_rule`` chooses the kind and its offset on one labelled set by the task's own metric (the official
EmoContext micro-F1, macro-F1, ...). A number measured on the same set it was chosen on is optimistic, so
``cross_fit`` estimates it honestly: split the set in stratified halves, choose on one half, predict the
other, both ways, pool the held-out predictions into one score; repeat over a few random splits. The rule
kept for later use (test) is then fit on the whole set.

Scores are the model's per-class scores (sigmoids) over the task's classes; log-offsets are invariant to
normalising them into a distribution, so the rule works on the scores as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from emopillars.evaluation.metrics import EMOCONTEXT_EMOTIONS, emocontext_micro_f1, single_label_report

RULE_FILE = "decision_rule.json"
RULE_KINDS = ("argmax", "prior", "none_offset", "prior_none_offset")
DEFAULT_OFFSETS: np.ndarray = np.round(np.arange(-4.0, 4.0001, 0.05), 2)
"""Offsets swept for the none class: -4 .. +4 in log-score units (a factor e^4 ~ 55 either way)."""
_EPS = 1e-12
_TIE = 1e-12


# --- metrics on class indices ---------------------------------------------------------------------------------------


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> np.ndarray:
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def metric_from_confusion(name: str, confusion: np.ndarray, labels: Sequence[str]) -> float:
    """``macro_f1``, ``accuracy``/``micro_f1`` or ``emocontext_micro_f1`` from a confusion matrix (rows = gold)."""
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    gold = confusion.sum(axis=1)
    if name in ("accuracy", "micro_f1"):
        return float(tp.sum() / max(1, confusion.sum()))
    if name == "macro_f1":
        denominator = predicted + gold
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        return float(f1.mean())
    if name == "emocontext_micro_f1":
        emotions = [labels.index(e) for e in EMOCONTEXT_EMOTIONS if e in labels]
        hits = tp[emotions].sum()
        denominator = predicted[emotions].sum() + gold[emotions].sum()
        return float(2 * hits / denominator) if denominator else 0.0
    raise ValueError(f"unknown single-label metric {name!r}")


def single_label_metric(name: str, labels: Sequence[str]) -> Callable[[np.ndarray, np.ndarray], float]:
    """A fast ``metric(y_true, y_pred)`` over class indices (used inside offset sweeps)."""
    labels = list(labels)
    metric_from_confusion(name, np.eye(len(labels), dtype=np.int64), labels)  # validates the name now
    return lambda y_true, y_pred: metric_from_confusion(name, confusion_matrix(y_true, y_pred, len(labels)), labels)


def full_report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """``single_label_report`` plus the official EmoContext metric when the labels are EmoContext's."""
    report = single_label_report(np.asarray(y_true).tolist(), np.asarray(y_pred).tolist(), list(labels))
    if set(EMOCONTEXT_EMOTIONS) <= set(labels):
        report["emocontext_micro_f1"] = emocontext_micro_f1([labels[i] for i in y_true], [labels[i] for i in y_pred])
    return report


# --- the rule -------------------------------------------------------------------------------------------------------


@dataclass
class DecisionRule:
    """Per-class log-offsets added to the scores before the argmax, and how they were chosen."""

    kind: str = "argmax"
    labels: list[str] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    none_label: str | None = None
    none_offset: float = 0.0
    prior_train: list[float] = field(default_factory=list)
    prior_target: list[float] = field(default_factory=list)
    metric: str = ""
    fit_score: float | None = None
    fit_scores: dict[str, float] = field(default_factory=dict)
    fit_rows: int = 0
    chosen_on: str = ""

    KINDS: ClassVar[tuple[str, ...]] = RULE_KINDS

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"DecisionRule.kind must be one of {RULE_KINDS}, got {self.kind!r}")
        self.labels = list(self.labels)
        if not self.offsets:
            self.offsets = [0.0] * len(self.labels)
        self.offsets = [float(x) for x in self.offsets]
        if len(self.offsets) != len(self.labels):
            raise ValueError(f"DecisionRule has {len(self.offsets)} offsets for {len(self.labels)} labels")
        if self.none_label is not None and self.none_label not in self.labels:
            raise ValueError(f"DecisionRule.none_label {self.none_label!r} is not one of {self.labels}")

    @classmethod
    def argmax(cls, labels: Sequence[str]) -> DecisionRule:
        return cls("argmax", list(labels))

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """The predicted class index of each row of ``scores`` (n, n_labels)."""
        values = np.asarray(scores, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.labels):
            raise ValueError(f"scores must be (n, {len(self.labels)}), got shape {values.shape}")
        if not values.shape[0]:
            return np.zeros(0, dtype=np.int64)
        if self.kind == "argmax":
            return values.argmax(axis=1)
        return (log_scores(values) + np.asarray(self.offsets)[None, :]).argmax(axis=1)

    def decode(self, scores: np.ndarray) -> list[str]:
        return [self.labels[i] for i in self.apply(scores)]

    def describe(self) -> str:
        if self.kind == "argmax":
            return "argmax (nothing chosen)"
        parts = []
        if "prior" in self.kind:
            shifts = ", ".join(
                f"{label} {train:.2f}->{target:.2f}"
                for label, train, target in zip(self.labels, self.prior_train, self.prior_target)
            )
            parts.append(f"class-prior correction ({shifts})")
        if "none_offset" in self.kind:
            parts.append(f"{self.none_offset:+.2f} on the log-score of {self.none_label}")
        chosen = f", chosen on {self.chosen_on}" if self.chosen_on else ""
        return " + ".join(parts) + chosen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionRule:
        known = {f for f in cls.__dataclass_fields__ if f != "KINDS"}
        return cls(**{key: value for key, value in data.items() if key in known})

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.is_dir():
            path = path / RULE_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> DecisionRule:
        path = Path(path)
        if path.is_dir():
            path = path / RULE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a valid decision rule ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a decision rule must be a JSON object")
        return cls.from_dict(data)


def log_scores(scores: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(scores, dtype=np.float64), _EPS, None))


def class_prior(y: np.ndarray, n_labels: int, smoothing: float = 1.0) -> np.ndarray:
    """Class frequencies with add-``smoothing`` counts (no class gets prior 0)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_labels).astype(np.float64) + smoothing
    return counts / counts.sum()


def _pick(values: np.ndarray, grid: np.ndarray) -> int:
    """The best value's index; among ties, the middle of the plateau closest to offset 0."""
    best = np.flatnonzero(values >= values.max() - _TIE)
    runs = np.split(best, np.flatnonzero(np.diff(best) != 1) + 1)
    run = min(runs, key=lambda r: float(np.min(np.abs(grid[r]))))
    return int(run[(run.size - 1) // 2])


def fit_rule(
    y_true: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    metric: str,
    *,
    kinds: Sequence[str] = RULE_KINDS,
    prior_train: np.ndarray | None = None,
    none_label: str | None = None,
    grid: np.ndarray = DEFAULT_OFFSETS,
    chosen_on: str = "",
) -> DecisionRule:
    """The rule among ``kinds`` (and its none-class offset) that scores best by ``metric`` on this data.

    Kinds needing what is not given are skipped: ``prior*`` without ``prior_train``, ``*none_offset``
    without ``none_label``. Ties between kinds go to the earlier (simpler) one in ``RULE_KINDS`` order.
    """
    labels = list(labels)
    y = np.asarray(y_true, dtype=np.int64)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(y), len(labels)):
        raise ValueError(f"scores {values.shape} do not match {len(y)} rows x {len(labels)} labels")
    if not len(y):
        raise ValueError("cannot choose a decision rule on an empty set")
    unknown = set(kinds) - set(RULE_KINDS)
    if unknown:
        raise ValueError(f"unknown decision rule kinds {sorted(unknown)}; choose from {RULE_KINDS}")
    score = single_label_metric(metric, labels)
    logs = log_scores(values)
    target = class_prior(y, len(labels))
    none_index = labels.index(none_label) if none_label is not None else None
    candidates: dict[str, tuple[float, np.ndarray, float]] = {}
    for kind in (k for k in RULE_KINDS if k in kinds):
        if "prior" in kind and prior_train is None:
            continue
        if "none_offset" in kind and none_index is None:
            continue
        base = np.zeros(len(labels))
        if "prior" in kind:
            base = np.log(target) - np.log(np.asarray(prior_train, dtype=np.float64))
        if "none_offset" not in kind:
            candidates[kind] = (score(y, (logs + base).argmax(axis=1)), base, 0.0)
            continue
        sweep = np.empty(len(grid))
        for i, offset in enumerate(grid):
            shifted = logs + base
            shifted[:, none_index] += offset
            sweep[i] = score(y, shifted.argmax(axis=1))
        best = _pick(sweep, np.asarray(grid))
        offsets = base.copy()
        offsets[none_index] += grid[best]
        candidates[kind] = (float(sweep[best]), offsets, float(grid[best]))
    if not candidates:
        candidates["argmax"] = (score(y, values.argmax(axis=1)), np.zeros(len(labels)), 0.0)
    best_value = max(value for value, _, _ in candidates.values())
    kind = next(k for k in RULE_KINDS if k in candidates and candidates[k][0] >= best_value - _TIE)
    value, offsets, none_offset = candidates[kind]
    return DecisionRule(
        kind=kind,
        labels=labels,
        offsets=offsets.tolist(),
        none_label=none_label,
        none_offset=none_offset,
        prior_train=[] if prior_train is None else np.asarray(prior_train, dtype=np.float64).tolist(),
        prior_target=target.tolist() if "prior" in kind else [],
        metric=metric,
        fit_score=value,
        fit_scores={k: v[0] for k, v in candidates.items()},
        fit_rows=len(y),
        chosen_on=chosen_on,
    )


# --- cross-fitting --------------------------------------------------------------------------------------------------


def stratified_parts(y: np.ndarray, parts: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices in ``parts`` groups, each class spread evenly over them (shuffled within each class)."""
    assignment = np.empty(len(y), dtype=np.int64)
    offset = 0
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        rows = rows[rng.permutation(len(rows))]
        assignment[rows] = (np.arange(len(rows)) + offset) % parts
        offset += len(rows)  # the next class starts where this one stopped, so part sizes stay even
    return [np.flatnonzero(assignment == p) for p in range(parts)]


@dataclass
class CrossFit:
    """What a rule chosen this way scores on data it was not chosen on."""

    metric: str
    mean: float
    std: float
    values: list[float]
    report: dict
    kinds_chosen: dict[str, int]
    parts: int
    repeats: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cross_fit(
    y_true: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    metric: str,
    *,
    parts: int = 2,
    repeats: int = 5,
    seed: int = 0,
    **fit_options,
) -> CrossFit:
    """Choose on ``parts - 1`` parts, predict the held-out part, for every part; pool; repeat with new splits.

    ``report`` is the mean over repeats of each repeat's pooled report (per-class precision, recall, F1
    included), so it describes the same predictions as ``mean``.
    """
    labels = list(labels)
    y = np.asarray(y_true, dtype=np.int64)
    values = np.asarray(scores, dtype=np.float64)
    if parts < 2:
        raise ValueError("cross-fitting needs at least 2 parts")
    if len(y) < 2 * parts:
        raise ValueError(f"cannot cross-fit a rule on {len(y)} rows in {parts} parts")
    rng = np.random.default_rng(seed)
    results, reports, kinds = [], [], {}
    for _ in range(max(1, repeats)):
        predicted = np.empty(len(y), dtype=np.int64)
        for held_out in stratified_parts(y, parts, rng):
            fit_rows = np.setdiff1d(np.arange(len(y)), held_out)
            rule = fit_rule(y[fit_rows], values[fit_rows], labels, metric, **fit_options)
            kinds[rule.kind] = kinds.get(rule.kind, 0) + 1
            predicted[held_out] = rule.apply(values[held_out])
        report = full_report(y, predicted, labels)
        results.append(float(report[metric]))
        reports.append(report)
    return CrossFit(
        metric=metric,
        mean=float(np.mean(results)),
        std=float(np.std(results)),
        values=results,
        report=mean_report(reports),
        kinds_chosen=kinds,
        parts=parts,
        repeats=max(1, repeats),
    )


def mean_report(reports: list[dict]) -> dict:
    """The element-wise mean of reports with the same keys (numbers, per-class dicts, confusion matrices)."""
    if len(reports) == 1:
        return reports[0]
    first = reports[0]
    out: dict = {}
    for key, value in first.items():
        if isinstance(value, bool) or not isinstance(value, int | float | dict | list):
            out[key] = value
        elif isinstance(value, dict):
            out[key] = {
                name: {stat: float(np.mean([r[key][name][stat] for r in reports])) for stat in inner}
                for name, inner in value.items()
            }
        elif isinstance(value, list) and value and isinstance(value[0], list):
            out[key] = np.mean([r[key] for r in reports], axis=0).tolist()
        elif isinstance(value, list):
            out[key] = value
        else:
            mean = float(np.mean([r[key] for r in reports]))
            out[key] = int(round(mean)) if isinstance(value, int) else mean
    return out
