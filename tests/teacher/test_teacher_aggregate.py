"""Aggregation of K samples and of several raters, on recorded answers (agreeing, disagreeing, failing, empty)."""

from __future__ import annotations

import pytest

from emopillars.teacher.aggregate import average_levels, combine, rater_agreement


def test_samples_average_per_label_and_rare_labels_fall_proportionally():
    levels = average_levels([{"joy": 0.9, "anger": 0.3}, {"joy": 0.7}, {"sadness": 0.9}])
    assert levels == {"joy": pytest.approx(0.533), "sadness": 0.3, "anger": 0.1}
    assert list(levels) == ["joy", "sadness", "anger"]  # by level


def test_ties_keep_the_order_the_answers_named_them():
    assert list(average_levels([{"anger": 0.5, "joy": 0.5}])) == ["anger", "joy"]
    assert list(average_levels([{"fear": 0.6, "joy": 0.6}, {"joy": 0.6, "fear": 0.6}])) == ["fear", "joy"]


def test_failed_answers_leave_the_average_and_empty_answers_vote_for_nothing():
    assert average_levels([{"joy": 0.8}, None]) == {"joy": 0.8}
    assert average_levels([{"joy": 0.6}, {}]) == {"joy": 0.3}
    assert average_levels([None, None]) is None
    assert average_levels([]) is None
    assert average_levels([{}, {}]) == {}


def test_raters_disagree_fail_and_return_nothing():
    combined, per_rater = combine(
        {
            "a": [{"joy": 0.8}, {"joy": 0.6}],  # agrees with itself: joy 0.7
            "b": [None, None],  # every call failed: left out
            "c": [{"fear": 0.9}],  # disagrees with a
            "d": [{}],  # answered, named nothing
        }
    )
    assert per_rater == {"a": {"joy": 0.7}, "b": None, "c": {"fear": 0.9}, "d": {}}
    assert combined == {"fear": 0.3, "joy": pytest.approx(0.233)}  # over a, c, d
    nobody, _ = combine({"a": [None], "b": [None]})
    assert nobody is None


def test_rater_agreement_pairwise():
    per_rater = {
        "a": [{"joy": 0.8}, {"fear": 0.9, "anger": 0.4}, {"sadness": 0.5}, None],
        "b": [{"joy": 0.7}, {"fear": 0.6}, {"grief": 0.8}, {"joy": 0.9}],
    }
    out = rater_agreement(per_rater)
    assert out["answered"] == {"a": 3, "b": 4}
    [pair] = out["pairs"]
    assert pair["items"] == 3  # the item a failed is not compared
    assert pair["primary_agreement"] == pytest.approx(round(2 / 3, 4))
    assert pair["jaccard"] == pytest.approx(round((1 + 0.5 + 0) / 3, 4))
    # Cohen's kappa over the 3 items x 28 labels = 84 decisions: both positive 2 (joy, fear), a only 2 (anger,
    # sadness), b only 1 (grief), both negative 79: po = 81/84, pe = (4*3 + 80*81)/84^2, kappa = 312/564.
    assert pair["kappa"] == pytest.approx(round(312 / 564, 4)) and out["mean_kappa"] == pair["kappa"]
    identical = rater_agreement({"a": per_rater["b"], "b": per_rater["b"]})
    assert identical["pairs"][0]["kappa"] == 1.0 and identical["pairs"][0]["primary_agreement"] == 1.0
    none = rater_agreement({"a": [None], "b": [{"joy": 1.0}]})
    assert none["pairs"][0]["items"] == 0 and none["mean_kappa"] is None
