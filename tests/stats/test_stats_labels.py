from __future__ import annotations

import math

import pytest

from emopillars.stats import labels
from emopillars.stats.records import StatRecord
from emopillars.taxonomy import LABELS


def test_labels_per_example_hand_computed(hand_records):
    stats = labels.labels_per_example(hand_records)
    # positive labels: 2, 1, 3, 2 -> mean 2, population sd sqrt((0 + 1 + 1 + 0) / 4)
    assert stats["mean"] == pytest.approx(2.0)
    assert stats["sd"] == pytest.approx(math.sqrt(0.5))
    assert stats["histogram"] == {"1": 1, "2": 2, "3": 1}
    assert (stats["min"], stats["max"]) == (1, 3)


def test_label_counts_shares_and_neutral(hand_records):
    counts = labels.label_counts(hand_records)
    assert list(counts) == list(LABELS)
    assert counts["neutral"] == 2 and counts["joy"] == 1 and counts["sadness"] == 0  # 0.2 is not positive
    assert sum(counts.values()) == 8
    shares = labels.label_shares(counts)
    assert shares["neutral"] == pytest.approx(2 / 8)
    neutral = labels.neutral_share(hand_records)
    assert neutral["of_labels"] == pytest.approx(0.25)
    assert neutral["of_examples"] == pytest.approx(0.5)
    assert neutral["neutral_only_examples"] == 1  # r2 only; r4 has curiosity too


def test_level_histogram_counts_every_level(hand_records):
    hist = labels.level_histogram(hand_records)
    assert sum(hist.values()) == 9  # 3 + 1 + 3 + 2 levels
    assert hist["0.2"] == 1 and hist["1.0"] == 1 and hist["0.0"] == 0 and hist["0.3"] == 1


def test_requested_vs_primary(hand_records):
    rvp = labels.requested_vs_primary(hand_records)
    assert rvp["records"] == 4
    assert rvp["primary_is_requested"] == 3  # r3 asked for fear, got anger first
    assert rvp["primary_is_requested_share"] == pytest.approx(0.75)
    assert rvp["requested_in_positive"] == 3
    assert rvp["matrix"]["fear"] == {"anger": 1}
    assert rvp["matrix"]["neutral"] == {"neutral": 2}


def test_unmapped_words_come_from_raw_labels(hand_records):
    # "hope" maps to optimism; the two invented words do not
    assert labels.unmapped_words(hand_records) == {"grumpitude": 1, "blorpishness": 1}
    stats = labels.label_stats(hand_records)
    assert stats["unmapped_total"] == 2


def test_empty_set_gives_none_not_errors():
    stats = labels.label_stats([])
    assert stats["labels_per_example"]["mean"] is None
    assert stats["neutral"]["of_labels"] is None and stats["neutral"]["of_examples"] is None
    assert stats["requested_vs_primary"]["primary_is_requested_share"] is None
    assert sum(stats["per_label"].values()) == 0


def test_other_label_sets_have_no_neutral_block():
    records = [StatRecord("1", "x", {"joy": 1.0}, ("joy",)), StatRecord("2", "y", {"shame": 1.0}, ("shame",))]
    stats = labels.label_stats(records, ["anger", "joy", "shame"])
    assert stats["neutral"] is None
    assert stats["per_label"] == {"anger": 0, "joy": 1, "shame": 1}
