from __future__ import annotations

import itertools

import numpy as np
import pytest

from emopillars.stats import diversity


def test_distinct_n_hand_computed():
    texts = ["A b a.", "b A"]
    # unigrams a b a b a: 2 distinct of 5; bigrams (a b) (b a) (b a): 2 distinct of 3
    assert diversity.distinct_n(texts, 1) == pytest.approx(2 / 5)
    assert diversity.distinct_n(texts, 2) == pytest.approx(2 / 3)
    assert diversity.distinct_n([], 1) is None
    assert diversity.distinct_n(["one"], 2) is None


def test_exact_and_near_duplicates():
    base = "the old ferry leaves the harbour at nine every morning except on sundays"
    texts = [
        "The cat sat on the mat today.",
        "the cat sat on the MAT today",  # exact after normalisation
        base,
        base + " again",  # Jaccard of 3-shingles 11/12
        "A completely different thought about the weather and the long road north.",
    ]
    dup = diversity.duplicates(texts)
    assert dup["exact"] == 1
    assert dup["near"] == 1
    assert dup["near_examples"] == [[base, base + " again"]]
    assert dup["duplicate_rate"] == pytest.approx(2 / 5)
    assert diversity.duplicates([])["near_rate"] is None
    with pytest.raises(ValueError):
        diversity.duplicates(texts, threshold=0)


def test_length_stats():
    stats = diversity.length_stats(["one two three", "a b c d e f", ""])
    assert stats["mean_words"] == pytest.approx(3.0)
    assert stats["median_words"] == 3.0
    assert stats["histogram"]["0-4"] == 2 and stats["histogram"]["5-9"] == 1
    assert diversity.length_stats([])["mean_words"] is None


def test_group_similarity_hand_computed():
    vectors = np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]])
    groups = ["a1", "a1", "a2", "a2"]
    sim = diversity.group_similarity(vectors, groups, ["p1", "p1", "p1", "p2"])
    # within: a1 pair 0, a2 pair 0.6 -> 0.3; across: 1 + 0.6 + 0 + 0.8 over 4 pairs -> 0.6
    assert sim["within"] == pytest.approx(0.3)
    assert sim["across"] == pytest.approx(0.6)
    assert (sim["within_pairs"], sim["across_pairs"]) == (2, 4)
    # same plot p1 holds rows 0, 1, 2: across-character pairs (0,2) = 1 and (1,2) = 0
    assert sim["across_same_plot"] == pytest.approx(0.5)


def test_group_similarity_matches_brute_force_and_normalises():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 8)) * rng.uniform(0.5, 3, size=(30, 1))  # not unit length
    groups = [f"c{i % 7}" for i in range(30)]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    within, across = [], []
    for i, j in itertools.combinations(range(30), 2):
        (within if groups[i] == groups[j] else across).append(unit[i] @ unit[j])
    sim = diversity.group_similarity(vectors, groups)
    assert sim["within"] == pytest.approx(np.mean(within))
    assert sim["across"] == pytest.approx(np.mean(across))


def test_group_similarity_single_character_and_empty():
    one = diversity.group_similarity(np.eye(3), ["a", "a", "a"])
    assert one["within"] == pytest.approx(0.0) and one["across"] is None and one["groups"] == 1
    empty = diversity.group_similarity(np.zeros((0, 4)), [])
    assert empty["within"] is None and empty["across"] is None
    with pytest.raises(ValueError):
        diversity.group_similarity(np.eye(3), ["a"])


def test_sample_groups_takes_whole_groups_up_to_the_limit():
    groups = [f"c{i // 4}" for i in range(40)]  # 10 groups of 4
    chosen = diversity.sample_groups(groups, 10, seed=1)
    assert len(chosen) == 8  # two whole groups; a third would pass the limit
    taken = {groups[i] for i in chosen}
    assert all(sum(groups[i] == g for i in chosen) == 4 for g in taken)
    assert diversity.sample_groups(groups, 10, seed=1) == chosen
    assert diversity.sample_groups(groups, None) == list(range(40))
    assert diversity.sample_groups(groups, 100) == list(range(40))
