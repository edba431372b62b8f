"""How right a teacher's labels are, scored against people's labels as if the teacher were a classifier.

A teacher's answer for one text is a soft label set ``{label: level}`` in its own order, primary first
(the labels step's ``labels``); a label is positive at level >= 0.3, as in synthesis. Against the gold
label sets of a multi-label dataset (GoEmotions) :func:`multilabel_audit` gives

- macro- and micro-F1 of the positive labels over the 28 labels, with per-class precision/recall/F1
  (:func:`emopillars.evaluation.metrics.multilabel_report`, macro over all 28 labels);
- **primary-label accuracy**: the share of texts whose primary label (the first, highest level) is one of
  the gold labels (a text with no answer or no positive label counts as wrong);
- **Cohen's kappa** against the gold labels, pooled over all (text, label) decisions (``kappa``), and the
  mean of the per-label kappas over the labels people used (``kappa_macro``);
- labels per example (teacher vs gold) and the **collapse share**: the share of texts that carry the
  teacher's most frequent positive label (with the same figure for the gold labels beside it).

Against a single-label dataset (ISEAR) :func:`single_label_audit` maps the primary label onto the
dataset's classes (``class_map``: taxonomy label -> class; unmapped primaries are wrong) and reports
accuracy and macro-F1 over the classes, plus the same shape numbers.

Texts the teacher could not label (a failed call, an unparseable answer) count as empty predictions, so
a teacher that fails loses; their number is reported as ``failed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from emopillars.evaluation.metrics import multilabel_report
from emopillars.taxonomy import LABELS, POSITIVE_THRESHOLD

# Taxonomy label -> ISEAR class: the GoEmotions authors' Ekman grouping (goemotions/ekman_mapping.json), with
# ISEAR's two extra classes split out of its "sadness" group (shame <- embarrassment, guilt <- remorse) and its
# "surprise" group (surprise, realization, confusion, curiosity) left unmapped: ISEAR has no such class.
ISEAR_CLASS_MAP: dict[str, str] = {
    **dict.fromkeys(("anger", "annoyance", "disapproval"), "anger"),
    "disgust": "disgust",
    **dict.fromkeys(("fear", "nervousness"), "fear"),
    **dict.fromkeys(
        (
            "joy",
            "amusement",
            "approval",
            "excitement",
            "gratitude",
            "love",
            "optimism",
            "relief",
            "pride",
            "admiration",
            "desire",
            "caring",
        ),
        "joy",
    ),
    **dict.fromkeys(("sadness", "disappointment", "grief"), "sadness"),
    "embarrassment": "shame",
    "remorse": "guilt",
}

Prediction = Mapping[str, float] | None
"""One teacher answer: label -> level in the teacher's order (primary first), or None when it failed."""


def positives(prediction: Prediction, threshold: float = POSITIVE_THRESHOLD) -> list[str]:
    """The positive labels of a prediction, in its order."""
    if not prediction:
        return []
    return [label for label, level in prediction.items() if level >= threshold]


def primary(prediction: Prediction, threshold: float = POSITIVE_THRESHOLD) -> str | None:
    """The primary label: the first label holding the highest level, when that level is positive."""
    if not prediction:
        return None
    best, best_level = None, -1.0
    for label, level in prediction.items():
        if level > best_level:
            best, best_level = label, level
    return best if best_level >= threshold else None


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two equally long 0/1 (or categorical) vectors; 0.0 where chance agreement is 1."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"kappa needs two non-empty vectors of one length, got {a.shape} and {b.shape}")
    categories = np.union1d(a, b)
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    if expected >= 1.0:
        return 0.0
    return (observed - expected) / (1.0 - expected)


def _matrix(label_sets: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(label_sets), len(labels)), dtype=bool)
    for row, chosen in enumerate(label_sets):
        for label in chosen:
            if label in index:
                out[row, index[label]] = True
    return out


def _collapse(label_sets: Sequence[Sequence[str]]) -> tuple[str | None, float]:
    counts = Counter(label for chosen in label_sets for label in dict.fromkeys(chosen))  # ties: first named
    if not counts or not label_sets:
        return None, 0.0
    label, n = counts.most_common(1)[0]
    return label, n / len(label_sets)


def _shape(predicted: list[list[str]], gold_sets: Sequence[Sequence[str]], failed: int) -> dict:
    top, share = _collapse(predicted)
    gold_top, gold_share = _collapse(gold_sets)
    counts = Counter(label for chosen in predicted for label in chosen)
    n = len(predicted)
    return {
        "labels_per_example": round(sum(map(len, predicted)) / n, 4),
        "gold_labels_per_example": round(sum(len(set(g)) for g in gold_sets) / n, 4),
        "collapse_label": top,
        "collapse_share": round(share, 4),
        "gold_collapse_label": gold_top,
        "gold_collapse_share": round(gold_share, 4),
        "no_positive_label": sum(1 for chosen in predicted if not chosen) - failed,
        "failed": failed,
        "predicted_counts": dict(counts.most_common()),
    }


def multilabel_audit(
    predictions: Sequence[Prediction],
    gold: Sequence[Sequence[str]],
    labels: Sequence[str] = LABELS,
    threshold: float = POSITIVE_THRESHOLD,
) -> dict:
    """Score soft predictions against gold label sets over ``labels`` (see the module docstring)."""
    if len(predictions) != len(gold):
        raise ValueError(f"{len(predictions)} predictions for {len(gold)} gold label sets")
    if not gold:
        raise ValueError("nothing to audit: no items")
    predicted = [positives(p, threshold) for p in predictions]
    y_pred, y_true = _matrix(predicted, labels), _matrix(gold, labels)
    report = multilabel_report(y_true, y_pred, list(labels))
    firsts = [primary(p, threshold) for p in predictions]
    report["primary_accuracy"] = float(np.mean([p is not None and p in g for p, g in zip(firsts, gold)]))
    report["kappa"] = cohen_kappa(y_true, y_pred)
    used = [j for j in range(len(labels)) if y_true[:, j].any()]
    report["kappa_macro"] = float(np.mean([cohen_kappa(y_true[:, j], y_pred[:, j]) for j in used])) if used else 0.0
    report.update(_shape(predicted, gold, sum(p is None for p in predictions)))
    return report


def single_label_audit(
    predictions: Sequence[Prediction],
    gold: Sequence[str],
    classes: Sequence[str],
    class_map: Mapping[str, str],
    threshold: float = POSITIVE_THRESHOLD,
) -> dict:
    """Score the primary label, mapped onto ``classes`` by ``class_map``, against one gold class per item.

    Accuracy and macro-F1 over ``classes`` (a primary that maps to no class, or no primary at all, is a
    wrong answer that counts as a false negative of the gold class and a false positive of no class).
    """
    if len(predictions) != len(gold):
        raise ValueError(f"{len(predictions)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("nothing to audit: no items")
    unknown = sorted(set(gold) - set(classes))
    if unknown:
        raise ValueError(f"gold labels outside the classes {list(classes)}: {unknown}")
    mapped = [class_map.get(primary(p, threshold) or "") for p in predictions]
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes) + 1), dtype=np.int64)  # last column: no class
    for g, m in zip(gold, mapped):
        confusion[index[g], index.get(m, len(classes)) if m else len(classes)] += 1
    tp = np.diag(confusion[:, : len(classes)]).astype(float)
    fp = confusion[:, : len(classes)].sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    predicted = [positives(p, threshold) for p in predictions]
    gold_index = np.array([index[g] for g in gold])
    mapped_index = np.array([index.get(m, len(classes)) if m else len(classes) for m in mapped])
    report = {
        "accuracy": float(tp.sum() / len(gold)),
        "kappa": cohen_kappa(gold_index, mapped_index),
        "macro_f1": float(f1.mean()),
        "unmapped_primary": int(confusion[:, len(classes)].sum()),
        "n_examples": len(gold),
        "label_names": list(classes),
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(confusion[i].sum()),
            }
            for i, c in enumerate(classes)
        },  # fmt: skip
        "confusion": confusion.tolist(),
    }
    report.update(_shape(predicted, [[g] for g in gold], sum(p is None for p in predictions)))
    return report
