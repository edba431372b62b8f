from __future__ import annotations

from collections import Counter

import pytest

from emopillars.stats.manifest import manifest_stats


def test_manifest_blocks_hand_computed(hand_records):
    blocks = manifest_stats(hand_records)
    labels, quality = blocks["labels"], blocks["quality"]
    assert labels["labels_per_example_mean"] == 2.0
    assert labels["neutral_share_of_labels"] == 0.25 and labels["neutral_share_of_examples"] == 0.5
    assert labels["examples_with_neutral"] == 2
    assert labels["per_label"]["neutral"] == 2
    assert labels["unmapped_total"] == 2
    assert quality["requested_emotion_is_primary"] == 3 and quality["requested_emotion_records"] == 4
    assert quality["contexts"] == 0 and quality["raw_vs_cleaned_similarity_mean"] is None


def test_manifest_takes_the_runs_unmapped_words_and_synthetic_records(make_synthetic):
    record = make_synthetic(
        "x", "p", "a", "I walked in.", {"fear": 0.7}, "fear", context="He was afraid.", cleaned_context="He waited."
    )
    blocks = manifest_stats([record], Counter({"dread-ish": 3}))
    assert blocks["labels"]["unmapped_total"] == 3 and blocks["labels"]["unmapped_top"] == [("dread-ish", 3)]
    assert blocks["quality"]["contexts_naming_own_labels"] == 1 and blocks["quality"]["cleaned_naming_own_labels"] == 0
    assert blocks["quality"]["raw_vs_cleaned_similarity_mean"] == pytest.approx(
        2 * 1 / 5
    )  # "he" of "he was afraid" / "he waited"


def test_manifest_of_no_records():
    blocks = manifest_stats([])
    assert blocks["labels"]["labels_per_example_mean"] == 0.0 and blocks["labels"]["examples"] == 0
    assert blocks["quality"]["rewritten"] == 0
