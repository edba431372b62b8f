"""Emoji spelled out as words (``emoji="names"``): only the emoji change, and the encoder sees words, not [UNK]."""

from __future__ import annotations

import pytest

from emopillars.data.example import Example
from emopillars.inference.emoji_text import emoji_to_names, text_normalizer
from emopillars.inference.encoding import InputEncoder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lol 😂😂 I hate you😡", "lol face with tears of joy face with tears of joy I hate you enraged face"),
        ("snake_case stays 👍🏽!", "snake_case stays thumbs up medium skin tone !"),
        ("❤️", "red heart"),
        ("🙋‍♀️ hi", "woman raising hand hi"),  # a ZWJ sequence is one emoji
        ("no emoji,  spacing  kept :)", "no emoji,  spacing  kept :)"),
        ("", ""),
    ],
)
def test_emoji_become_their_names(text, expected):
    assert emoji_to_names(text) == expected


def test_modes():
    assert text_normalizer("keep") is None
    assert text_normalizer("names") is emoji_to_names
    with pytest.raises(ValueError, match="emoji mode must be one of"):
        text_normalizer("strip")


@pytest.fixture(scope="module")
def tokenizer_and_config(minilm_path):
    from transformers import AutoConfig, AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path), AutoConfig.from_pretrained(minilm_path)


@pytest.mark.parametrize("context_aware", [False, True])
def test_the_encoder_reads_names_where_it_would_read_unk(tokenizer_and_config, context_aware):
    tokenizer, config = tokenizer_and_config
    example = Example(text="you did it 😂", context="I passed 🎉 the exam" if context_aware else None)
    kept = InputEncoder.for_model(tokenizer, config, 64, context_aware).encode([example])[0]
    named = InputEncoder.for_model(tokenizer, config, 64, context_aware, emoji="names").encode([example])[0]
    assert kept.input_ids.count(tokenizer.unk_token_id) == (2 if context_aware else 1)
    assert tokenizer.unk_token_id not in named.input_ids
    tokens = tokenizer.convert_ids_to_tokens(named.input_ids)
    utterance = ["you", "did", "it", "face", "with", "tears", "of", "joy", "[SEP]"]
    assert tokens[-len(utterance) :] == utterance
    if context_aware:  # 🎉 "party popper" stays in the context segment
        assert tokens[: tokens.index("[SEP]")] == ["[CLS]", "i", "passed", "party", "pop", "##per", "the", "exam"]
