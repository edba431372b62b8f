"""Evaluation: metrics (checked against scikit-learn), decision thresholds, and written reports."""

from emopillars.evaluation.metrics import emocontext_micro_f1, multilabel_report, single_label_report
from emopillars.evaluation.thresholds import (
    DEFAULT_GRID,
    ThresholdPolicy,
    best_global_threshold,
    best_per_class_thresholds,
)

__all__ = [
    "DEFAULT_GRID",
    "ThresholdPolicy",
    "best_global_threshold",
    "best_per_class_thresholds",
    "emocontext_micro_f1",
    "multilabel_report",
    "single_label_report",
]
