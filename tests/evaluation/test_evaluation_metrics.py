from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from emopillars.evaluation.metrics import emocontext_micro_f1, multilabel_report, single_label_report


@pytest.mark.parametrize("seed", range(5))
def test_multilabel_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 300)), int(rng.integers(2, 30))
    y_true = (rng.random((n, k)) < rng.uniform(0.02, 0.4)).astype(int)
    y_pred = (rng.random((n, k)) < rng.uniform(0.02, 0.4)).astype(int)
    y_true[:, 0] = 0  # a class without support
    y_pred[:, 1] = 0  # a class never predicted
    names = [f"c{i}" for i in range(k)]
    report = multilabel_report(y_true, y_pred, names)
    kw = {"zero_division": 0}
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", **kw))
    assert report["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro", **kw))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, **kw)
    for i, name in enumerate(names):
        row = report["per_class"][name]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert row["support"] == s[i]
    mp, mr, _, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", **kw)
    assert (report["micro_precision"], report["micro_recall"]) == pytest.approx((mp, mr))
    assert report["n_examples"] == n and list(report["per_class"]) == names


@pytest.mark.parametrize("seed", range(3))
def test_single_label_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, 200).tolist()
    y_pred = rng.integers(0, 4, 200).tolist()  # class 4 never predicted
    report = single_label_report(y_true, y_pred, list("abcde"))
    kw = {"labels": list(range(5)), "zero_division": 0}
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", **kw))
    assert report["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro", **kw))
    assert report["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert report["per_class"]["e"]["precision"] == 0.0
    assert np.array(report["confusion"]).sum() == 200


def test_emocontext_hand_computed():
    gold = ["happy", "sad", "angry", "others", "others", "sad", "happy"]
    pred = ["happy", "angry", "angry", "happy", "others", "others", "happy"]
    # tp: 3 (happy, angry, happy); fp: 2 (angry for sad, happy for others); fn: 2 (sad->angry, sad->others)
    # P = 3/5, R = 3/5, F1 = 0.6
    assert emocontext_micro_f1(gold, pred) == pytest.approx(0.6)
    assert emocontext_micro_f1(["others"], ["others"]) == 0.0
    assert emocontext_micro_f1(["sad", "happy"], ["sad", "happy"]) == 1.0


def test_input_validation():
    with pytest.raises(ValueError, match="0/1"):
        multilabel_report(np.zeros((2, 2)), np.full((2, 2), 0.7), ["a", "b"])
    with pytest.raises(ValueError, match="label names"):
        multilabel_report(np.zeros((2, 2)), np.zeros((2, 2)), ["a"])
    with pytest.raises(ValueError, match="outside"):
        single_label_report([0, 3], [0, 1], ["a", "b"])
