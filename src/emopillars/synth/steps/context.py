"""Step 4, context: for a chosen fraction of labelled utterances, the situation that leads up to it.

Input row: a labelled utterance with its plot (``id``, ``plot``, ``actor``, ``utterance``,
``positive_labels``). The teacher sees the plot, the actor, the utterance and its emotions, and
writes a short third-person situation that ends right before the utterance, without naming the
actor's emotions (the cleaning step removes what slips through). Output: ``{"id", "context"}``.
A context that is (nearly) the whole plot copied is dropped (``context_copies_plot``): small teachers
do that, and such a context tells the end of the story instead of the moment before the utterance.
A context that quotes the utterance (``X thought: '...'``, despite the prompt: 8 of 30 contexts of the 1.5B
teacher in a Wikipedia run) is cut before the sentence that quotes it -- what came after the thought cannot
lead up to it, and a classifier must not find the utterance in its context -- and dropped
(``context_quotes_utterance``) when less than ``MIN_CONTEXT_CHARS`` is left.
Which utterances get a context is decided by the pipeline (:func:`emopillars.synth.pipeline.wants_context`).
"""

from __future__ import annotations

import difflib
import functools
import re

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object

NAME = "context"
PROMPT_VERSION = "context-v2"
MAX_TOKENS = 300
INPUTS = ("id", "plot", "actor", "utterance", "positive_labels")  # fields of an input row this step reads
OUTPUTS = ("id", "context")  # fields of each output row
MAX_CONTEXT_CHARS = 1200
MIN_CONTEXT_CHARS = 20
COPY_SIMILARITY = 0.9
QUOTE_MIN_WORDS = 3

SCHEMA = {
    "type": "object",
    "properties": {"context": {"type": "string", "minLength": 1, "maxLength": MAX_CONTEXT_CHARS}},
    "required": ["context"],
}


def emotion_phrase(labels: list[str]) -> str:
    """['joy', 'relief', 'pride'] -> 'joy, relief and pride'."""
    labels = list(labels)
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def render(row: dict, prompt: PromptTemplate) -> str:
    return prompt.render(
        plot=row["plot"],
        actor=row["actor"],
        utterance=row["utterance"],
        emotions=emotion_phrase(row["positive_labels"]),
    )


def build_requests(rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, **_) -> list:
    return requests_for(rows, lambda row: render(row, prompt), system=system, params=params, schema=SCHEMA)


_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s)")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=64)
def _plot_words(plot: str) -> tuple[str, ...]:
    """A plot's words, cached: every utterance of a plot brings the same plot (and most contexts are too short
    to be a copy, which the word count alone shows)."""
    return tuple(_words(plot))


def copies_plot(text: str, plot: str) -> bool:
    """The context is (nearly) the whole plot copied: it cannot end right before the utterance."""
    context_words, plot_words = _words(text), _plot_words(plot)
    if not plot_words or len(context_words) < 0.8 * len(plot_words):
        return False
    return difflib.SequenceMatcher(None, context_words, plot_words, autojunk=False).ratio() >= COPY_SIMILARITY


def before_quote(text: str, utterance: str) -> str:
    """``text`` up to the sentence that quotes ``utterance`` (its words in order, any punctuation between);
    ``text`` itself when it does not quote it. Utterances of fewer than ``QUOTE_MIN_WORDS`` words are not looked
    for: "I know." occurs in stories that do not quote it."""
    words = _WORD.findall(utterance)
    if len(words) < QUOTE_MIN_WORDS:
        return text
    match = re.search(r"\W+".join(map(re.escape, words)), text, re.IGNORECASE)
    if match is None:
        return text
    head = text[: match.start()]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    return head[: ends[-1]].strip() if ends else ""


def parse(response: ChatResponse, row: dict, **_) -> Parsed:
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    text = clean_text(value.get("context") or value.get("situation"))
    if not text:
        return Parsed.dropped("empty_context")
    if len(text) < MIN_CONTEXT_CHARS:
        return Parsed.dropped("short_context")
    if copies_plot(text, row.get("plot", "")):
        return Parsed.dropped("context_copies_plot")
    text = before_quote(text, row.get("utterance", ""))
    if len(text) < MIN_CONTEXT_CHARS:
        return Parsed.dropped("context_quotes_utterance")
    return Parsed(outputs=[{"id": row["id"], "context": text}])
