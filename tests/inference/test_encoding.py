from __future__ import annotations

import pytest

from emopillars.data.example import Example
from emopillars.inference.encoding import InputEncoder, length_grouped_batches, pair_first_segment, sorted_batches


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path)


@pytest.fixture(scope="module")
def model_config(minilm_path):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(minilm_path)


def _segments(tokenizer, encoded):
    """(first segment tokens, second segment tokens) of one BERT pair encoding."""
    tokens = tokenizer.convert_ids_to_tokens(encoded.input_ids)
    first_sep = tokens.index("[SEP]")
    return tokens[1:first_sep], tokens[first_sep + 1 : -1]


def test_context_truncated_first_utterance_kept(tokenizer, model_config):
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=24, context_aware=True)
    context = " ".join(f"word{i}" for i in range(60)) + " and then the door opened"
    utterance = "I can't believe you came back for me after all this time"
    encoded = encoder.encode([Example(text=utterance, context=context)])[0]
    assert len(encoded) == 24
    first, second = _segments(tokenizer, encoded)
    assert tokenizer.convert_tokens_to_ids(second) == tokenizer(utterance, add_special_tokens=False)["input_ids"]
    # the end of the context (next to the utterance) survives; its beginning is cut
    assert tokenizer.convert_tokens_to_string(first).endswith("the door opened")
    assert "word0" not in tokenizer.convert_tokens_to_string(first)
    # token types: 0 for the context segment, 1 for the utterance
    n_first = len(first) + 2
    assert encoded.token_type_ids == [0] * n_first + [1] * (len(encoded) - n_first)


def test_long_utterance_is_never_cut_context_dropped(tokenizer, model_config):
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=16, context_aware=True)
    utterance = "this utterance is much longer than the sixteen token budget that the encoder was given here"
    encoded = encoder.encode([Example(text=utterance, context="some context", speaker="Ann")])[0]
    assert len(encoded) > 16
    assert encoded.context_dropped
    tokens = tokenizer.convert_ids_to_tokens(encoded.input_ids)
    assert tokens.count("[SEP]") == 1
    assert encoded.input_ids[1:-1] == tokenizer(utterance, add_special_tokens=False)["input_ids"]
    assert set(encoded.token_type_ids) == {0}


def test_short_pair_equals_plain_tokenizer_pair(tokenizer, model_config):
    """No truncation needed: exactly what `tokenizer(first, second)` (and so the pipeline) produces."""
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=64, context_aware=True)
    example = Example(text="Finally, we won!", context="The match went to penalties.", speaker="Mia")
    encoded = encoder.encode([example])[0]
    assert pair_first_segment(example) == "The match went to penalties. Character: Mia."
    reference = tokenizer(pair_first_segment(example), example.text)
    assert encoded.input_ids == reference["input_ids"]
    assert encoded.token_type_ids == reference["token_type_ids"]


def test_context_less_mode_ignores_context_and_truncates_text(tokenizer, model_config):
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=8, context_aware=False)
    encoded = encoder.encode([Example(text="one two three four five six seven eight nine", context="ctx")])[0]
    assert len(encoded) == 8
    assert "ctx" not in tokenizer.decode(encoded.input_ids)


def test_pair_without_context_is_a_single_segment(tokenizer, model_config):
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=32, context_aware=True)
    encoded = encoder.encode([Example(text="hello there")])[0]
    assert encoded.input_ids == tokenizer("hello there")["input_ids"]
    assert not encoded.context_dropped


def test_token_types_only_where_the_encoder_has_two(tokenizer, model_config):
    one_type = model_config.__class__.from_dict({**model_config.to_dict(), "type_vocab_size": 1})
    encoder = InputEncoder.for_model(tokenizer, one_type, max_length=32, context_aware=True)
    assert not encoder.use_token_types
    batch = encoder.collate(encoder.encode([Example(text="a b", context="c")]))
    assert "token_type_ids" not in batch
    encoder2 = InputEncoder.for_model(tokenizer, model_config, max_length=32, context_aware=True)
    assert "token_type_ids" in encoder2.collate(encoder2.encode([Example(text="a b", context="c")]))


def test_collate_pads_to_the_longest_in_batch(tokenizer, model_config):
    encoder = InputEncoder.for_model(tokenizer, model_config, max_length=64, context_aware=False)
    items = encoder.encode([Example(text="short"), Example(text="a somewhat longer sentence here")])
    batch = encoder.collate(items)
    assert batch["input_ids"].shape == (2, max(len(i) for i in items))
    assert batch["attention_mask"].sum(dim=1).tolist() == [len(i) for i in items]


def test_length_grouped_batches_cover_all_rows_once_and_group_lengths():
    lengths = [i % 50 for i in range(1000)]
    batches = length_grouped_batches(lengths, batch_size=10, seed=1, mega=100)
    rows = sorted(i for batch in batches for i in batch)
    assert rows == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 5  # random batches would spread ~40
    assert batches != length_grouped_batches(lengths, batch_size=10, seed=2, mega=100)
    assert [len(b) for b in sorted_batches([3, 1, 2], 2)] == [2, 1]
