"""Scoring a trained classifier on labelled data: the metrics behind ``emopillars evaluate``.

Multi-label data is decided with the model's calibrated policy (global or per-class thresholds);
single-label data (ISEAR, EmoContext) by arg-max over its classes. Data whose labels are a subset of the
model's are scored on those columns only.
"""

from __future__ import annotations

import time

import numpy as np

from emopillars.data.example import LabeledData
from emopillars.evaluation.metrics import (
    EMOCONTEXT_EMOTIONS,
    emocontext_micro_f1,
    multilabel_report,
    single_label_report,
)
from emopillars.evaluation.thresholds import ThresholdPolicy


def _columns(model_labels: list[str], data_labels: list[str]) -> list[int]:
    missing = [label for label in data_labels if label not in model_labels]
    if missing:
        raise ValueError(
            f"the data has labels the model does not predict: {missing} (model labels: {', '.join(model_labels)})"
        )
    return [model_labels.index(label) for label in data_labels]


def restrict_policy(policy: ThresholdPolicy, columns: list[int], labels: list[str]) -> ThresholdPolicy:
    per_class = [policy.per_class[i] for i in columns] if policy.per_class else []
    return ThresholdPolicy(policy.kind, policy.global_threshold, per_class, labels, dict(policy.dev_macro_f1))


def evaluate_scores(scores: np.ndarray, data: LabeledData, policy: ThresholdPolicy, threshold: float = 0.3) -> dict:
    """Metrics of scores (columns = ``data.label_names``) against the data's labels."""
    labels = list(data.label_names)
    truth = data.targets(soft=False, threshold=threshold)
    if not data.multi_label:
        gold = truth.argmax(axis=1).tolist()
        predicted = scores.argmax(axis=1).tolist()
        metrics = single_label_report(gold, predicted, labels)
        metrics["decision"] = "argmax"
        if set(EMOCONTEXT_EMOTIONS) <= set(labels) and len(labels) == len(EMOCONTEXT_EMOTIONS) + 1:
            metrics["emocontext_micro_f1"] = emocontext_micro_f1(
                [labels[i] for i in gold], [labels[i] for i in predicted]
            )
        return metrics
    metrics = multilabel_report(truth, policy.apply(scores), labels)
    metrics["decision"] = policy.kind
    if policy.kind == "global":
        metrics["threshold"] = policy.global_threshold
    return metrics


def evaluate_model(
    classifier, data: LabeledData, batch_size: int = 64, policy: str | None = None, progress: bool = False
) -> dict:
    """Predict ``data`` with ``classifier`` (an EmotionClassifier) and compute its metrics."""
    if len(data) == 0:
        raise ValueError("the evaluation data is empty")
    columns = _columns(classifier.label_names, list(data.label_names))
    start = time.perf_counter()
    scores = classifier.predict_scores(data.examples, batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - start
    chosen = classifier.policy
    if policy:
        chosen = ThresholdPolicy.from_dict({**chosen.to_dict(), "kind": policy})
    metrics = evaluate_scores(scores[:, columns], data, restrict_policy(chosen, columns, list(data.label_names)))
    metrics.update(
        {
            "model": classifier.model_dir,
            "data": data.source,
            "context_aware": classifier.context_aware,
            "backend": getattr(classifier, "backend", "torch"),
            "precision": classifier.precision.describe() if hasattr(classifier, "precision") else None,
            "skipped_rows": data.skipped,
            "inference_examples_per_s": round(len(data) / max(seconds, 1e-9), 1),
        }
    )
    return metrics
