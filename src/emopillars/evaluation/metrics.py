"""Classification metrics computed with numpy, equal to scikit-learn's with ``zero_division=0``.

Macro-F1 (the headline, as in the GoEmotions and Emo Pillars papers) averages the per-class F1 over *all*
labels, including those without support; F1 is ``2 tp / (2 tp + fp + fn)``, 0 when that denominator is 0.
Written in numpy rather than calling scikit-learn so that the per-threshold sweep can reuse the counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EMOCONTEXT_EMOTIONS: tuple[str, ...] = ("happy", "sad", "angry")


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ``numerator / denominator``, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class true positives, false positives and false negatives of two 0/1 matrices."""
    tp = np.logical_and(y_true, y_pred).sum(axis=0)
    fp = np.logical_and(~y_true, y_pred).sum(axis=0)
    fn = np.logical_and(y_true, ~y_pred).sum(axis=0)
    return tp, fp, fn


def multilabel_report(y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]) -> dict:
    """Macro/micro precision, recall, F1 and per-class metrics for 0/1 matrices of shape (n, n_labels).

    Keys: ``macro_f1``, ``micro_f1``, ``macro_precision``, ``macro_recall``, ``micro_precision``,
    ``micro_recall``, ``n_examples``, ``label_names`` and ``per_class`` {label: {precision, recall, f1, support}}
    in label order.
    """
    y_true = binary_matrix(y_true, "y_true")
    y_pred = binary_matrix(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    if y_true.shape[1] != len(label_names):
        raise ValueError(f"{y_true.shape[1]} label columns but {len(label_names)} label names")
    tp, fp, fn = counts(y_true, y_pred)
    precision = safe_divide(tp, tp + fp)
    recall = safe_divide(tp, tp + fn)
    f1 = safe_divide(2 * tp, 2 * tp + fp + fn)
    micro_tp, micro_fp, micro_fn = tp.sum(), fp.sum(), fn.sum()
    return {
        "macro_f1": float(f1.mean()),
        "micro_f1": float(safe_divide(2 * micro_tp, 2 * micro_tp + micro_fp + micro_fn)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "micro_precision": float(safe_divide(micro_tp, micro_tp + micro_fp)),
        "micro_recall": float(safe_divide(micro_tp, micro_tp + micro_fn)),
        "n_examples": int(y_true.shape[0]),
        "label_names": list(label_names),
        "per_class": _per_class(label_names, precision, recall, f1, tp + fn),
    }


def single_label_report(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]) -> dict:
    """Metrics for one class per example (class indices into ``label_names``).

    Keys: ``macro_f1`` (over all classes), ``micro_f1`` (equals accuracy here), ``accuracy``, ``n_examples``,
    ``label_names``, ``per_class`` and ``confusion`` (rows = true class, columns = predicted class).
    """
    n_labels = len(label_names)
    true = _class_vector(y_true, n_labels, "y_true")
    pred = _class_vector(y_pred, n_labels, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} items but y_pred has {pred.size}")
    confusion = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    tp = np.diag(confusion)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    precision = safe_divide(tp, tp + fp)
    recall = safe_divide(tp, tp + fn)
    f1 = safe_divide(2 * tp, 2 * tp + fp + fn)
    accuracy = float(tp.sum() / true.size)
    return {
        "macro_f1": float(f1.mean()),
        "micro_f1": accuracy,
        "accuracy": accuracy,
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "n_examples": int(true.size),
        "label_names": list(label_names),
        "per_class": _per_class(label_names, precision, recall, f1, tp + fn),
        "confusion": confusion.tolist(),
    }


def emocontext_micro_f1(
    y_true_labels: Sequence[str], y_pred_labels: Sequence[str], emotions: Sequence[str] = EMOCONTEXT_EMOTIONS
) -> float:
    """EmoContext's official metric: micro-F1 over happy, sad and angry, ignoring ``others``.

    A prediction counts as a true positive when it equals the gold label and is an emotion; predicting an
    emotion for ``others`` is a false positive; missing a gold emotion is a false negative.
    """
    if len(y_true_labels) != len(y_pred_labels):
        raise ValueError(f"y_true has {len(y_true_labels)} items but y_pred has {len(y_pred_labels)}")
    wanted = set(emotions)
    tp = fp = fn = 0
    for gold, pred in zip(y_true_labels, y_pred_labels):
        if pred in wanted:
            if pred == gold:
                tp += 1
            else:
                fp += 1
        if gold in wanted and pred != gold:
            fn += 1
    return float(safe_divide(2 * tp, 2 * tp + fp + fn))


def _per_class(label_names, precision, recall, f1, support) -> dict[str, dict[str, float | int]]:
    return {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(label_names)
    }


def binary_matrix(values: np.ndarray, name: str) -> np.ndarray:
    """A boolean (n, n_labels) matrix; values other than 0/1 (e.g. raw scores passed by mistake) are an error."""
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_examples, n_labels) matrix, got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: nothing to evaluate")
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0/1 (apply a threshold to scores first)")
    return array.astype(bool)


def _class_vector(values: Sequence[int], n_labels: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty list of class indices")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got {array.dtype}")
    if array.min() < 0 or array.max() >= n_labels:
        raise ValueError(f"{name} has class indices outside 0-{n_labels - 1}")
    return array.astype(np.int64)
