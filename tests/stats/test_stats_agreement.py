from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from emopillars.stats import agreement as ag

# Fleiss (1971) as reproduced on Wikipedia "Fleiss' kappa": 10 subjects, 14 raters, 5 categories -> 0.210
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_cohen_textbook_cases():
    assert ag.cohen_kappa([1, 0, 1, 1, 0], [1, 0, 1, 1, 0]) == 1.0  # perfect agreement
    assert ag.cohen_kappa([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.0)  # agreement at chance
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4)
    assert ag.cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert math.isnan(ag.cohen_kappa([0, 0, 0], [0, 0, 0]))  # p_e = 1: undefined, as scikit-learn
    with pytest.raises(ValueError):
        ag.cohen_kappa([1], [1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, size=200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 4, size=200))
    assert ag.cohen_kappa(a.tolist(), b.tolist()) == pytest.approx(cohen_kappa_score(a, b))


def test_fleiss_textbook_table():
    assert ag.fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=5e-5)
    assert ag.fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ag.fleiss_kappa([[2, 1], [1, 1]])  # unequal raters


def test_fleiss_matches_statsmodels_when_installed():
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater", reason="statsmodels is not installed")
    rng = np.random.default_rng(5)
    table = rng.multinomial(5, [0.5, 0.3, 0.2], size=40)
    assert ag.fleiss_kappa(table) == pytest.approx(inter_rater.fleiss_kappa(table))


def test_fleiss_two_raters_is_scotts_pi_close_to_cohen():
    # with two raters Fleiss' kappa is Scott's pi; equal marginals make it equal to Cohen's kappa
    a = [1, 1, 0, 0, 1, 0]
    b = [1, 0, 1, 0, 1, 0]
    table = [[int(x == 0) + int(y == 0), int(x == 1) + int(y == 1)] for x, y in zip(a, b)]
    assert ag.fleiss_kappa(table) == pytest.approx(ag.cohen_kappa(a, b))


LABELS = ["joy", "anger", "neutral"]
ANNOTATIONS = {
    "A": {"i1": {"joy"}, "i2": {"anger"}, "i3": set(), "i4": {"joy", "anger"}},
    "B": {"i1": {"joy"}, "i2": {"anger", "neutral"}, "i3": {"neutral"}, "i4": {"joy"}},
    "C": {"i1": {"joy", "neutral"}, "i2": {"anger"}, "i3": set(), "i4": {"anger"}},
}


def test_agreement_pooled_and_per_label_match_scikit_learn():
    result = ag.agreement(ANNOTATIONS, LABELS)
    items = ["i1", "i2", "i3", "i4"]
    pair = result["cohen"]["pairs"]["A|B"]
    flat_a = [int(label in ANNOTATIONS["A"][i]) for label in LABELS for i in items]
    flat_b = [int(label in ANNOTATIONS["B"][i]) for label in LABELS for i in items]
    assert pair["pooled"] == pytest.approx(cohen_kappa_score(flat_a, flat_b))
    joy_a = [int("joy" in ANNOTATIONS["A"][i]) for i in items]
    joy_b = [int("joy" in ANNOTATIONS["B"][i]) for i in items]
    assert pair["per_label"]["joy"] == pytest.approx(cohen_kappa_score(joy_a, joy_b))
    assert len(result["cohen"]["pairs"]) == 3
    assert result["cohen"]["mean_pooled"] == pytest.approx(
        np.mean([p["pooled"] for p in result["cohen"]["pairs"].values()])
    )
    # Fleiss on "joy": items i1 3 yes, i2 0, i3 0, i4 2 yes -> table [[0,3],[3,0],[3,0],[1,2]]
    assert result["fleiss"]["per_label"]["joy"] == pytest.approx(ag.fleiss_kappa([[0, 3], [3, 0], [3, 0], [1, 2]]))
    assert result["label_counts"]["B"]["neutral"] == 2


def test_agreement_needs_every_item_and_two_annotators():
    with pytest.raises(ValueError, match="no answer"):
        ag.agreement({"A": {"i1": set()}, "B": {}}, LABELS, ["i1"])
    with pytest.raises(ValueError, match="two annotators"):
        ag.agreement({"A": {"i1": set()}}, LABELS)


def test_teacher_accuracy_hand_computed():
    teacher = {"i1": ["joy"], "i2": ["anger", "fear"], "i3": ["neutral"], "i4": ["joy", "anger"]}
    acc = ag.teacher_accuracy(ANNOTATIONS, teacher, ["i1", "i2", "i3", "i4"])
    # candidates and votes (of 3): i1 joy 3 (T), neutral 1; i2 anger 3 (T), fear 0 (T), neutral 1;
    # i3 neutral 1 (T); i4 joy 2 (T), anger 2 (T)
    # all agree: i1 joy (yes, T yes: right), i2 anger (yes/right), i2 fear (no, T yes: wrong) -> 2 / 3
    assert acc["all_agree_units"] == 3
    assert acc["all_agree_accuracy"] == pytest.approx(2 / 3)
    # majority: 8 units; right: i1 joy, i1 neutral (no/no), i2 anger, i2 neutral (no/no), i4 joy, i4 anger -> 6 / 8
    assert acc["majority_units"] == 8
    assert acc["majority_accuracy"] == pytest.approx(6 / 8)
    # teacher labels 6, confirmed by a majority: i1 joy, i2 anger, i4 joy, i4 anger -> 4 / 6
    assert acc["teacher_precision_vs_majority"] == pytest.approx(4 / 6)
    assert acc["teacher_recall_vs_majority"] == pytest.approx(1.0)
    # primary labels joy, anger, neutral, joy: majority chose 3 of 4
    assert acc["primary_accuracy"] == pytest.approx(3 / 4)
