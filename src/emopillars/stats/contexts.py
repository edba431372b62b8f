"""Context statistics: emotion words before and after cleaning, how much cleaning and rewriting changed,
contexts that contain the utterance or run past it.

Definitions (docs/data-report.md):

- *naming own emotions*: the context contains a word of one of the record's positive labels or a common
  inflection ("afraid" for fear), by :func:`emopillars.synth.filters.emotion_words_in`; *naming any
  emotion*: a word of any of the 28 labels; counted on the raw and on the cleaned contexts;
- *word similarity* of two texts: ``2 M / (|a| + |b|)`` over their lower-cased word sequences, ``M`` the
  words in matching blocks (:class:`difflib.SequenceMatcher`): 1 for equal texts, 0 for no shared word;
  *raw vs cleaned* (paper ~0.92) and *original vs rewritten* (paper: overlap ~0.78) are its mean over the
  records that have both texts;
- *contains the utterance*: at least 80 % of the utterance's word 3-grams (its words, when it has fewer
  than 3) occur in the context; *runs past it*: it contains the utterance and at least
  :data:`PAST_WORDS` words follow the utterance's last 3-gram in the context (the context was to end
  right before the utterance).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from emopillars.stats.diversity import tokens
from emopillars.stats.labels import mean_sd
from emopillars.stats.records import StatRecord

CONTAINS_SHARE = 0.8
PAST_WORDS = 4


def word_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, tokens(a), tokens(b), autojunk=False).ratio()


def _ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def utterance_position(context: str, utterance: str) -> tuple[bool, int]:
    """(the context contains the utterance, number of context words after its last matched 3-gram)."""
    context_words, utterance_words = tokens(context), tokens(utterance)
    if not utterance_words or not context_words:
        return False, 0
    n = 3 if len(utterance_words) >= 3 else len(utterance_words)
    grams = _ngrams(utterance_words, n)
    positions: dict[tuple[str, ...], int] = {}
    for i, gram in enumerate(_ngrams(context_words, n)):
        positions[gram] = i + n  # end of the last occurrence
    found = [positions[g] for g in grams if g in positions]
    if len(found) < CONTAINS_SHARE * len(grams):
        return False, 0
    end = positions.get(grams[-1], max(found))
    return True, len(context_words) - end


def _summary(values: list[float]) -> dict[str, Any]:
    mean, sd = mean_sd(values)
    return {"n": len(values), "mean": mean, "sd": sd}


def context_stats(records: Sequence[StatRecord]) -> dict[str, Any]:
    from emopillars.synth.filters import emotion_words_in  # lazy: emopillars.synth imports this package

    with_context = [r for r in records if r.context]
    cleaned = [r for r in with_context if r.cleaned_context]
    rewritten = [r for r in records if r.rewritten]
    contains = past = contains_cleaned = past_cleaned = 0
    for record in with_context:
        inside, after = utterance_position(record.context, record.text)
        contains += inside
        past += inside and after >= PAST_WORDS
    for record in cleaned:
        inside, after = utterance_position(record.cleaned_context, record.text)
        contains_cleaned += inside
        past_cleaned += inside and after >= PAST_WORDS
    return {
        "records": len(records),
        "contexts": len(with_context),
        "naming_own_labels": sum(bool(emotion_words_in(r.context, list(r.positive))) for r in with_context),
        "naming_any_emotion": sum(bool(emotion_words_in(r.context)) for r in with_context),
        "cleaned": len(cleaned),
        "cleaned_naming_own_labels": sum(bool(emotion_words_in(r.cleaned_context, list(r.positive))) for r in cleaned),
        "cleaned_naming_any_emotion": sum(bool(emotion_words_in(r.cleaned_context)) for r in cleaned),
        "raw_vs_cleaned_similarity": _summary([word_similarity(r.context, r.cleaned_context) for r in cleaned]),
        "rewritten": len(rewritten),
        "orig_vs_rewritten_similarity": _summary([word_similarity(r.text, r.rewritten) for r in rewritten]),
        "contains_utterance": contains,
        "runs_past_utterance": past,
        "cleaned_contains_utterance": contains_cleaned,
        "cleaned_runs_past_utterance": past_cleaned,
        "context_words": _summary([float(len(tokens(r.context))) for r in with_context]),
    }
