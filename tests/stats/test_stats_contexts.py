from __future__ import annotations

import difflib

import pytest

from emopillars.stats import contexts


def test_word_similarity_hand_computed():
    assert contexts.word_similarity("a b c d", "A b, c d.") == 1.0
    # matching blocks "a b" and "d": 2 * 3 / 8
    assert contexts.word_similarity("a b c d", "a b x d") == pytest.approx(0.75)
    assert contexts.word_similarity("", "") == 1.0
    assert contexts.word_similarity("a b", "c d") == 0.0


def test_utterance_position_contains_and_runs_past():
    utterance = "I should call my sister tonight."
    inside, after = contexts.utterance_position(
        "Anna walked home. I should call my sister tonight, she thought, and went to bed early.", utterance
    )
    assert inside and after == 7  # "she thought and went to bed early"
    inside, after = contexts.utterance_position("Anna walked home after the storm.", utterance)
    assert not inside
    inside, after = contexts.utterance_position("She paused. I should call my sister tonight.", utterance)
    assert inside and after == 0


def test_context_stats_hand_computed(make_record):
    record = make_record
    records = [
        record(
            "c1",
            "I should call my sister tonight.",
            {"fear": 0.7},
            "a1",
            "p1",
            context="She was afraid of the dark. I should call my sister tonight, she thought, and slept.",
            cleaned_context="She looked at the dark.",
            rewritten="I could call her tonight.",
        ),
        record("c2", "Nothing to see.", {"neutral": 0.8}, "a1", "p1", context="The annoying rain went on."),
        record("c3", "No context here.", {"joy": 0.5}, "a2", "p1"),
    ]
    stats = contexts.context_stats(records)
    assert stats["contexts"] == 2 and stats["cleaned"] == 1 and stats["rewritten"] == 1
    assert stats["naming_own_labels"] == 1  # "afraid" for fear; "annoying" is not c2's label
    assert stats["naming_any_emotion"] == 2
    assert stats["cleaned_naming_own_labels"] == 0 and stats["cleaned_naming_any_emotion"] == 0
    raw, clean = records[0].context, records[0].cleaned_context
    expected = difflib.SequenceMatcher(
        None,
        raw.lower().replace(".", "").replace(",", "").split(),
        clean.lower().replace(".", "").split(),
        autojunk=False,
    ).ratio()
    assert stats["raw_vs_cleaned_similarity"]["mean"] == pytest.approx(expected)
    # "i could call her tonight" vs "i should call my sister tonight": blocks i, call, tonight -> 2*3/11
    assert stats["orig_vs_rewritten_similarity"]["mean"] == pytest.approx(6 / 11)
    assert stats["contains_utterance"] == 1 and stats["runs_past_utterance"] == 1
    assert stats["cleaned_contains_utterance"] == 0


def test_context_stats_without_contexts(make_record):
    record = make_record
    stats = contexts.context_stats([record("x", "Just words here.", {"joy": 0.5})])
    assert stats["contexts"] == 0
    assert stats["raw_vs_cleaned_similarity"] == {"n": 0, "mean": None, "sd": None}
    assert contexts.context_stats([])["records"] == 0
