"""Step 6, rewriting: the utterance rewritten so that its emotions are ambiguous without the context.

Input row: ``id``, ``actor``, ``utterance``, ``cleaned_context``, ``positive_labels``. The teacher
sees the (cleaned) situation so the rewrite still fits it; labels are kept as they are (METHOD.md).
Output: ``{"id", "rewritten_utterance"}``. A rewrite identical to the original (after normalizing
case and punctuation) is dropped (``unchanged_rewrite``): it would not need the context. The filters
then drop rewrites that still contain their own label words.
"""

from __future__ import annotations

import re

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object
from emopillars.synth.steps.context import emotion_phrase
from emopillars.synth.steps.utterances import MAX_UTTERANCE_CHARS

NAME = "rewriting"
PROMPT_VERSION = "rewriting-v2"
MAX_TOKENS = 300
INPUTS = ("id", "actor", "utterance", "cleaned_context", "positive_labels")  # fields of an input row this step reads
OUTPUTS = ("id", "rewritten_utterance")  # fields of each output row

SCHEMA = {
    "type": "object",
    "properties": {"rewritten": {"type": "string", "minLength": 1, "maxLength": MAX_UTTERANCE_CHARS}},
    "required": ["rewritten"],
}


def render(row: dict, prompt: PromptTemplate) -> str:
    return prompt.render(
        actor=row["actor"],
        context=row["cleaned_context"],
        utterance=row["utterance"],
        emotions=emotion_phrase(row["positive_labels"]),
    )


def build_requests(rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, **_) -> list:
    return requests_for(rows, lambda row: render(row, prompt), system=system, params=params, schema=SCHEMA)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", text.lower()).strip()


def parse(response: ChatResponse, row: dict, **_) -> Parsed:
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    text = clean_text(value.get("rewritten") or value.get("rewritten_utterance") or value.get("utterance"))
    if not text:
        return Parsed.dropped("empty_rewrite")
    if _norm(text) == _norm(row["utterance"]):
        return Parsed.dropped("unchanged_rewrite")
    return Parsed(outputs=[{"id": row["id"], "rewritten_utterance": text}])
