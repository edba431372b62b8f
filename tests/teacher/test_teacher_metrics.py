"""Audit metrics against cases computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from emopillars.taxonomy import LABELS
from emopillars.teacher.metrics import (
    ISEAR_CLASS_MAP,
    cohen_kappa,
    multilabel_audit,
    primary,
    single_label_audit,
)

LABELS3 = ["joy", "anger", "fear"]
GOLD = [["joy"], ["anger"], ["fear", "joy"], ["anger"]]
PRED = [{"joy": 0.9, "anger": 0.2}, {"joy": 0.8, "anger": 0.5}, {"fear": 0.6}, None]


def test_multilabel_audit_hand_computed():
    m = multilabel_audit(PRED, GOLD, LABELS3)
    # joy: tp 1 (item 0), fp 1 (item 1), fn 1 (item 2) -> F1 0.5; anger: tp 1, fn 1 -> 2/3; fear: 1
    assert m["per_class"]["joy"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["anger"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["anger"]["precision"] == pytest.approx(1.0)
    assert m["per_class"]["fear"]["f1"] == pytest.approx(1.0)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert m["micro_f1"] == pytest.approx(6 / 9)  # tp 3, fp 1, fn 2
    # primary: joy in {joy} yes; joy (0.8 > 0.5) in {anger} no; fear yes; failed no
    assert m["primary_accuracy"] == pytest.approx(0.5)
    # 12 cells: 9 agree (0.75); 5 gold and 4 predicted ones: pe = 5/12*4/12 + 7/12*8/12 = 76/144 -> 8/17
    assert m["kappa"] == pytest.approx(8 / 17)
    # per label: joy 0, anger (po 3/4, pe 1/2) 0.5, fear 1
    assert m["kappa_macro"] == pytest.approx(0.5)
    assert m["labels_per_example"] == pytest.approx(1.0)
    assert m["gold_labels_per_example"] == pytest.approx(1.25)
    assert (m["collapse_label"], m["collapse_share"]) == ("joy", 0.5)
    assert m["failed"] == 1 and m["no_positive_label"] == 0
    assert m["predicted_counts"] == {"joy": 2, "anger": 1, "fear": 1}


def test_primary_is_first_of_the_highest_and_must_be_positive():
    assert primary({"sadness": 0.4, "grief": 0.9, "fear": 0.9}) == "grief"
    assert primary({"joy": 0.2}) is None
    assert primary(None) is None and primary({}) is None


def test_collapsed_teacher_scores_low_kappa_and_full_collapse():
    gold = [[label] for label in LABELS[:10]]
    pred = [{"disappointment": 0.9, "disapproval": 0.5}] * 10
    m = multilabel_audit(pred, gold)
    assert m["collapse_label"] == "disappointment" and m["collapse_share"] == 1.0
    assert m["labels_per_example"] == 2.0
    assert m["primary_accuracy"] == pytest.approx(0.1)  # disappointment is gold once
    assert m["kappa"] < 0.1


def test_single_label_audit_hand_computed():
    classes = ["joy", "fear", "shame"]
    class_map = {"joy": "joy", "excitement": "joy", "fear": "fear", "nervousness": "fear", "embarrassment": "shame"}
    gold = ["joy", "fear", "shame", "joy", "fear"]
    pred = [
        {"excitement": 0.8},  # -> joy, right
        {"nervousness": 0.7, "fear": 0.7},  # first of the highest -> fear, right
        {"surprise": 0.9, "embarrassment": 0.5},  # primary surprise maps to no class: wrong
        {"joy": 0.2},  # no positive label: wrong
        None,  # failed: wrong
    ]
    m = single_label_audit(pred, gold, classes, class_map)
    assert m["accuracy"] == pytest.approx(0.4)
    # joy and fear: tp 1, fn 1 -> F1 2/3 each; shame 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert m["unmapped_primary"] == 3
    # gold [0,1,2,0,1] vs mapped [0,1,none,none,none]: po 0.4, pe 2/25 + 2/25 = 0.16 -> 0.24 / 0.84
    assert m["kappa"] == pytest.approx(2 / 7)
    assert m["confusion"][2] == [0, 0, 0, 1]
    assert m["failed"] == 1 and m["no_positive_label"] == 1
    assert m["labels_per_example"] == pytest.approx(1.0)


def test_isear_class_map_covers_the_seven_classes():
    assert set(ISEAR_CLASS_MAP.values()) == {"joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"}
    assert ISEAR_CLASS_MAP["embarrassment"] == "shame" and ISEAR_CLASS_MAP["remorse"] == "guilt"
    assert "surprise" not in ISEAR_CLASS_MAP and "neutral" not in ISEAR_CLASS_MAP
    assert set(ISEAR_CLASS_MAP) <= set(LABELS)


def test_cohen_kappa_known_values_and_errors():
    assert cohen_kappa(np.array([1, 0, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx(1.0)
    assert cohen_kappa(np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])) == pytest.approx(-1.0)
    assert cohen_kappa(np.array([1, 1]), np.array([1, 1])) == 0.0  # chance agreement 1: defined as 0
    with pytest.raises(ValueError):
        cohen_kappa(np.array([1]), np.array([1, 0]))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="predictions for"):
        multilabel_audit([None], [["joy"], ["fear"]])
    with pytest.raises(ValueError, match="no items"):
        multilabel_audit([], [])
    with pytest.raises(ValueError, match="outside the classes"):
        single_label_audit([None], ["love"], ["joy"], {})
