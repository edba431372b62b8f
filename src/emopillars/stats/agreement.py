"""Agreement between annotators and accuracy of the teacher: Cohen's and Fleiss' kappa, per label and overall.

Multi-label answers are scored as binary decisions: for every item and label, did the annotator choose
the label? Definitions (docs/data-report.md):

- *Cohen's kappa* of two annotators: ``(p_o - p_e) / (1 - p_e)`` over their paired decisions, ``p_o`` the
  observed agreement, ``p_e`` the agreement expected from each annotator's own marginals (Cohen 1960);
  NaN when ``p_e`` is 1 (both always gave the same single answer), as scikit-learn does;
- *Fleiss' kappa* of m >= 2 annotators: ``(P - P_e) / (1 - P_e)`` over items rated by all of them
  (Fleiss 1971), from an items x categories table of counts;
- *per label*: over the items' decisions on that label; *overall (pooled)*: over all (item, label)
  decisions at once; *macro*: the mean of the per-label values that are defined;
- *teacher accuracy*: the decisions considered are, per item, the teacher's positive labels and the labels
  any annotator chose (the other labels are "no" for everybody and would only inflate the figure). Where
  all annotators agree on such a decision, the share where the teacher's decision is the same; likewise
  where a strict majority agrees, against the majority's decision (the paper: 0.86 / 0.70).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two equally long sequences of nominal decisions."""
    if len(a) != len(b):
        raise ValueError(f"the two annotators rated {len(a)} and {len(b)} units; kappa needs paired decisions")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if expected == 1.0:
        return math.nan
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(table: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Fleiss' kappa from an (items, categories) table of how many raters chose each category for each item.

    Every item must have the same number of raters (at least 2). NaN when ``P_e`` is 1.
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise ValueError("Fleiss' kappa needs a non-empty (items, categories) table")
    raters = counts.sum(axis=1)
    if not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of raters for every item")
    m = raters[0]
    n_items = counts.shape[0]
    p_items = ((counts * counts).sum(axis=1) - m) / (m * (m - 1))
    p_bar = p_items.mean()
    p_cat = counts.sum(axis=0) / (n_items * m)
    p_e = float((p_cat * p_cat).sum())
    if math.isclose(p_e, 1.0):
        return math.nan
    return float((p_bar - p_e) / (1.0 - p_e))


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def decisions(answers: Mapping[str, set[str]], items: Sequence[str], label: str) -> list[int]:
    return [int(label in answers[item]) for item in items]


def agreement(
    annotations: Mapping[str, Mapping[str, set[str]]], labels: Sequence[str], items: Sequence[str] | None = None
) -> dict[str, Any]:
    """Cohen's kappa per pair of annotators and Fleiss' kappa, per label and overall (see module doc).

    ``annotations``: annotator -> item id -> chosen labels; every annotator must have answered ``items``
    (default: the items of the first annotator).
    """
    names = list(annotations)
    if len(names) < 2:
        raise ValueError("agreement needs at least two annotators")
    items = list(items if items is not None else annotations[names[0]])
    for name in names:
        missing = [item for item in items if item not in annotations[name]]
        if missing:
            raise ValueError(f"annotator {name} has no answer for {len(missing)} item(s), e.g. {missing[:3]}")
    pooled = {name: [d for label in labels for d in decisions(annotations[name], items, label)] for name in names}
    pairs: dict[str, Any] = {}
    for x, y in combinations(names, 2):
        per_label = {
            label: _finite(
                cohen_kappa(decisions(annotations[x], items, label), decisions(annotations[y], items, label))
            )
            for label in labels
        }
        pairs[f"{x}|{y}"] = {
            "annotators": [x, y],
            "pooled": _finite(cohen_kappa(pooled[x], pooled[y])),
            "macro": _mean(list(per_label.values())),
            "per_label": per_label,
        }

    def fleiss_of(units: list[list[int]]) -> float | None:
        # units: per annotator, one 0/1 decision per unit -> table (units, [no, yes])
        yes = np.sum(np.asarray(units), axis=0)
        return _finite(fleiss_kappa(np.stack([len(names) - yes, yes], axis=1))) if len(yes) else None

    fleiss_per_label = {
        label: fleiss_of([decisions(annotations[name], items, label) for name in names]) for label in labels
    }
    return {
        "annotators": names,
        "items": len(items),
        "labels": len(labels),
        "cohen": {
            "pairs": pairs,
            "mean_pooled": _mean([p["pooled"] for p in pairs.values()]),
            "mean_macro": _mean([p["macro"] for p in pairs.values()]),
            "per_label_mean": {label: _mean([p["per_label"][label] for p in pairs.values()]) for label in labels},
        },
        "fleiss": {
            "pooled": fleiss_of([pooled[name] for name in names]),
            "macro": _mean(list(fleiss_per_label.values())),
            "per_label": fleiss_per_label,
        },
        "label_counts": {
            name: {label: sum(label in annotations[name][item] for item in items) for label in labels}
            for name in names
        },
    }


def teacher_accuracy(
    annotations: Mapping[str, Mapping[str, set[str]]], teacher: Mapping[str, Sequence[str]], items: Sequence[str]
) -> dict[str, Any]:
    """Accuracy of the teacher's labels where all annotators agree and where a majority does (module doc).

    ``teacher``: item id -> the teacher's positive labels, primary first; ``primary_accuracy`` is the share of
    items whose primary label a strict majority of the annotators chose.
    """
    names = list(annotations)
    m = len(names)
    all_units = all_right = maj_units = maj_right = 0
    confirmed = teacher_total = majority_total = majority_found = 0
    primary_units = primary_right = 0
    for item in items:
        chosen = [annotations[name][item] for name in names]
        teacher_labels = list(teacher[item])
        if teacher_labels:
            primary_units += 1
            primary_right += sum(teacher_labels[0] in c for c in chosen) * 2 > m
        candidates = set(teacher_labels).union(*chosen)
        for label in candidates:
            yes = sum(label in c for c in chosen)
            teacher_yes = label in teacher[item]
            if yes in (0, m):
                all_units += 1
                all_right += teacher_yes == (yes == m)
            if yes * 2 != m:
                majority_yes = yes * 2 > m
                maj_units += 1
                maj_right += teacher_yes == majority_yes
                if majority_yes:
                    majority_total += 1
                    majority_found += teacher_yes
                if teacher_yes:
                    teacher_total += 1
                    confirmed += majority_yes
    return {
        "all_agree_units": all_units,
        "all_agree_accuracy": all_right / all_units if all_units else None,
        "majority_units": maj_units,
        "majority_accuracy": maj_right / maj_units if maj_units else None,
        "teacher_precision_vs_majority": confirmed / teacher_total if teacher_total else None,
        "teacher_recall_vs_majority": majority_found / majority_total if majority_total else None,
        "primary_units": primary_units,
        "primary_accuracy": primary_right / primary_units if primary_units else None,
    }
