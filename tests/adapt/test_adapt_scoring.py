"""Prediction and scoring: argmax (single-label) versus thresholds chosen on dev (multi-label); the official
EmoContext metric against a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest

from emopillars.adapt.heads import HeadPolicy, argmax_predictions, fit_threshold_policy
from emopillars.adapt.run import score
from emopillars.adapt.tasks import TaskSpec, load_task
from emopillars.data.example import Example, LabeledData
from emopillars.evaluation.metrics import emocontext_micro_f1
from emopillars.taxonomy import LABELS


def test_emocontext_official_metric_hand_computed():
    gold = ["happy", "sad", "angry", "others", "others", "happy", "sad"]
    pred = ["happy", "angry", "angry", "sad", "others", "others", "sad"]
    # tp: happy, angry, sad = 3; fp: angry (gold sad), sad (gold others) = 2; fn: sad->angry, happy->others = 2
    assert emocontext_micro_f1(gold, pred) == pytest.approx(2 * 3 / (2 * 3 + 2 + 2))


def test_emocontext_keep_head_scores_argmax_over_mapped_columns():
    task = load_task("emocontext")
    head = HeadPolicy.for_task(task, "keep")
    gold = ["happy", "sad", "angry", "others"]
    data = LabeledData([Example(f"t{i}", {g: 1.0}) for i, g in enumerate(gold)], task.labels, multi_label=False)
    scores = np.zeros((4, len(LABELS)))
    # row 0: joy wins among mapped columns even though an unmapped column (love) is higher
    scores[0, LABELS.index("love")] = 0.99
    scores[0, LABELS.index("joy")] = 0.6
    scores[1, LABELS.index("sadness")] = 0.7
    scores[2, LABELS.index("sadness")] = 0.8  # wrong: sad predicted for angry
    scores[2, LABELS.index("anger")] = 0.5
    scores[3, LABELS.index("neutral")] = 0.4  # others is read from neutral
    report = score(task, head, scores, data)
    assert report["accuracy"] == pytest.approx(0.75)
    # tp happy, sad = 2; fp sad (gold angry) = 1; fn angry = 1
    assert report["emocontext_micro_f1"] == pytest.approx(4 / 6)
    assert head.predict_single(scores).tolist() == [0, 1, 1, 3]


def test_argmax_versus_threshold_prediction():
    scores = np.array([[0.6, 0.55, 0.1], [0.2, 0.3, 0.25]])
    assert argmax_predictions(scores).tolist() == [[1, 0, 0], [0, 1, 0]]
    dev_targets = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 1]])
    dev_scores = np.array([[0.7, 0.6, 0.1], [0.2, 0.1, 0.1], [0.8, 0.2, 0.1], [0.1, 0.5, 0.45]])
    policy = fit_threshold_policy(dev_targets, dev_scores, ["a", "b", "c"])
    assert 0.2 < policy.global_threshold <= 0.45
    # thresholds predict both labels of row 0 (multi-label), argmax only one; row 1 may get none
    assert policy.apply(scores)[0].tolist() == [1, 1, 0]
    assert argmax_predictions(scores)[0].sum() == 1


def test_multilabel_task_needs_thresholds_and_uses_them():
    task = TaskSpec.model_validate(
        {
            "name": "ml",
            "format": "custom",
            "paths": {"train": "/a", "dev": "/b", "test": "/c"},
            "labels": ["joy", "anger"],
            "multi_label": True,
            "protocol": {"kind": "official"},
            "metrics": ["macro_f1", "micro_f1"],
        }
    )
    head = HeadPolicy.for_task(task, "new")
    data = LabeledData([Example("x", {"joy": 1.0, "anger": 1.0}), Example("y", {"anger": 1.0})], task.labels)
    with pytest.raises(ValueError, match="thresholds"):
        score(task, head, np.array([[0.9, 0.8], [0.1, 0.7]]), data)
    policy = fit_threshold_policy(data.targets(), np.array([[0.9, 0.8], [0.1, 0.7]]), task.labels)
    report = score(task, head, np.array([[0.9, 0.8], [0.1, 0.7]]), data, policy)
    assert report["macro_f1"] == pytest.approx(1.0)
