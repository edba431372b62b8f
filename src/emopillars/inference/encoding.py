"""Turning examples into model inputs, the same way in training and in prediction.

Context-aware mode encodes ``(context [+ " Character: NAME."], utterance)`` as a segment pair. The
label belongs to the utterance, so the utterance is never cut: the context is truncated first (its
beginning goes, the part nearest the utterance stays), and when the utterance alone does not fit
in ``max_length`` the context is dropped and the whole utterance is kept (up to the encoder's own
position limit, the one cut we cannot avoid).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from emopillars.data.example import Example
from emopillars.inference.emoji_text import text_normalizer

log = logging.getLogger(__name__)


def pair_first_segment(example: Example) -> str:
    """The first segment of a context-aware input: the context, then the character when known."""
    context = (example.context or "").strip()
    if example.speaker:
        suffix = f"Character: {example.speaker.strip()}."
        context = f"{context} {suffix}" if context else suffix
    return context


@dataclass
class Encoded:
    """Token ids of one example (no padding)."""

    input_ids: list[int]
    token_type_ids: list[int] | None = None
    context_dropped: bool = False

    def __len__(self) -> int:
        return len(self.input_ids)


class InputEncoder:
    """Tokenises examples for one model: context-less or context-aware, with or without token types."""

    def __init__(
        self,
        tokenizer,
        max_length: int,
        context_aware: bool,
        use_token_types: bool | None = None,
        emoji: str = "keep",
    ):
        self.tokenizer = tokenizer
        self.emoji = emoji
        self._normalize = text_normalizer(emoji)
        self.max_length = int(max_length)
        self.context_aware = bool(context_aware)
        if use_token_types is None:
            use_token_types = "token_type_ids" in getattr(tokenizer, "model_input_names", [])
        self.use_token_types = bool(use_token_types)
        hard = getattr(tokenizer, "model_max_length", None)
        self.hard_max = int(hard) if hard and hard < 100_000 else 512
        self.hard_max = max(self.hard_max, self.max_length)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @classmethod
    def for_model(
        cls, tokenizer, model_config, max_length: int, context_aware: bool, emoji: str = "keep"
    ) -> InputEncoder:
        """Token types only where the encoder has a second type (BERT yes; RoBERTa, MPNet no)."""
        type_vocab = getattr(model_config, "type_vocab_size", 1) or 1
        use_types = type_vocab > 1 and "token_type_ids" in getattr(tokenizer, "model_input_names", [])
        limit = getattr(model_config, "max_position_embeddings", None)
        encoder = cls(tokenizer, max_length, context_aware, use_token_types=use_types, emoji=emoji)
        if limit:
            # RoBERTa-style position ids start after the padding index: leave it room.
            offset = 2 if getattr(model_config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"} else 0
            encoder.hard_max = max(encoder.max_length, min(encoder.hard_max, int(limit) - offset))
        return encoder

    def encode(self, examples: Sequence[Example]) -> list[Encoded]:
        if not self.context_aware:
            return self._encode_single([self._text(example.text) for example in examples], self.max_length)
        return self._encode_pairs(examples)

    def _text(self, text: str) -> str:
        """Raw text as the encoder reads it (emoji spelled out under ``emoji="names"``)."""
        return self._normalize(text) if self._normalize and text else text

    def _encode_single(self, texts: list[str], max_length: int) -> list[Encoded]:
        if not texts:
            return []
        enc = self.tokenizer(texts, truncation=True, max_length=max_length)
        types = enc.get("token_type_ids") if self.use_token_types else None
        return [Encoded(ids, types[i] if types else None) for i, ids in enumerate(enc["input_ids"])]

    def _encode_pairs(self, examples: Sequence[Example]) -> list[Encoded]:
        firsts = [self._text(pair_first_segment(example)) for example in examples]
        utterances = [self._text(example.text) for example in examples]
        utt_lengths = [len(ids) for ids in self.tokenizer(utterances, add_special_tokens=False)["input_ids"]]
        n_special = self.tokenizer.num_special_tokens_to_add(pair=True)
        out: list[Encoded | None] = [None] * len(examples)
        pair_rows, single_rows = [], []
        for i, (first, n_utt) in enumerate(zip(firsts, utt_lengths)):
            # A pair needs room for the utterance, the special tokens and at least one context token.
            if first and n_utt + n_special + 1 <= self.max_length:
                pair_rows.append(i)
            else:
                single_rows.append(i)
        if pair_rows:
            side = self.tokenizer.truncation_side
            self.tokenizer.truncation_side = "left"  # keep the end of the context, next to the utterance
            try:
                enc = self.tokenizer(
                    [firsts[i] for i in pair_rows],
                    [utterances[i] for i in pair_rows],
                    truncation="only_first",
                    max_length=self.max_length,
                )
            finally:
                self.tokenizer.truncation_side = side
            types = enc.get("token_type_ids") if self.use_token_types else None
            for j, i in enumerate(pair_rows):
                out[i] = Encoded(enc["input_ids"][j], types[j] if types else None)
        if single_rows:
            singles = self._encode_single([utterances[i] for i in single_rows], self.hard_max)
            for j, i in enumerate(single_rows):
                dropped = bool(firsts[i])
                if utt_lengths[i] + self.tokenizer.num_special_tokens_to_add(pair=False) > self.hard_max:
                    log.warning("utterance %d is longer than the encoder's limit (%d tokens): cut", i, self.hard_max)
                singles[j].context_dropped = dropped
                out[i] = singles[j]
        return out  # type: ignore[return-value]

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        """Pad a batch to its own longest item (dynamic padding)."""
        width = max(len(item) for item in items)
        input_ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(items), width), dtype=torch.long)
        types = torch.zeros((len(items), width), dtype=torch.long) if self.use_token_types else None
        for row, item in enumerate(items):
            n = len(item)
            input_ids[row, :n] = torch.tensor(item.input_ids, dtype=torch.long)
            attention[row, :n] = 1
            if types is not None and item.token_type_ids is not None:
                types[row, :n] = torch.tensor(item.token_type_ids, dtype=torch.long)
        batch = {"input_ids": input_ids, "attention_mask": attention}
        if types is not None:
            batch["token_type_ids"] = types
        return batch


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, mega: int = 50) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within chunks of ``mega`` batches, shuffle batches.

    Less padding (faster on CPU) while every epoch still sees a different random order.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * mega
    grouped: list[int] = []
    for start in range(0, len(order), chunk):
        grouped.extend(sorted(order[start : start + chunk], key=lambda i: lengths[i], reverse=True))
    batches = [grouped[i : i + batch_size] for i in range(0, len(grouped), batch_size)]
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of sorted length for inference (order restored by the caller)."""
    order = np.argsort(np.asarray(lengths), kind="stable")[::-1].tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def iterate_batches(encoded: Sequence[Encoded], batches: list[list[int]], encoder: InputEncoder) -> Iterator:
    for batch in batches:
        yield batch, encoder.collate([encoded[i] for i in batch])
