from __future__ import annotations

from emopillars.synth.filters import (
    FilterConfig,
    emotion_words_in,
    filter_utterances,
    is_english,
    normalize,
    rewrite_problem,
)


def _rows(texts):
    return [{"id": str(i), "utterance": t} for i, t in enumerate(texts)]


def test_each_drop_reason_is_counted():
    texts = [
        "I cannot believe the ferry left without us again today.",
        "",
        "Too short",
        "x " * 200,
        "Это совсем не английский текст, друзья мои.",
        "I cannot believe the ferry left without us again today!",
        "I cannot believe the ferry left without us again today, honestly.",
        "The lantern in the attic still smells of my grandmother's kitchen.",
    ]
    kept, drops = filter_utterances(_rows(texts), FilterConfig(max_chars=300, near_dup_threshold=0.7))
    assert [r["id"] for r in kept] == ["0", "7"]
    assert drops == {
        "empty": 1,
        "too_short": 1,
        "overlong": 1,
        "off_language": 1,
        "exact_duplicate": 1,
        "near_duplicate": 1,
    }


def test_filter_is_deterministic_first_occurrence_kept():
    texts = ["We finally opened the old bakery on the corner.", "We finally opened the old bakery on the corner!"]
    kept1, _ = filter_utterances(_rows(texts))
    kept2, _ = filter_utterances(_rows(texts))
    assert kept1 == kept2 and kept1[0]["id"] == "0"


def test_english_heuristic_and_normalize():
    assert is_english("I think the train will be late again tonight.")
    assert not is_english("Der Zug kommt heute Abend wieder zu spät an, leider.")
    assert normalize("  Hello,   WORLD!! ") == "hello world"


def test_rewrite_that_names_its_own_label_is_dropped():
    assert rewrite_problem("I was so afraid of the dark stairs tonight.", ["fear"]) == "rewrite_names_label"
    assert rewrite_problem("He shouted angrily at the closed door again.", ["anger"]) == "rewrite_names_label"
    assert rewrite_problem("The stairs were dark and I heard a creak.", ["fear"]) is None
    assert rewrite_problem("", ["fear"]) == "rewrite_empty"
    # other labels' words are fine: only its own labels count
    assert rewrite_problem("I am so happy to be sad about the careful plan.", ["fear"]) is None


def test_emotion_words_in():
    assert emotion_words_in("She felt proud and grateful.", ["pride", "gratitude"]) == ["proud", "grateful"]
    assert "relieved" in emotion_words_in("He was relieved at last.")
    assert emotion_words_in("The careers fair was fine.") == []
