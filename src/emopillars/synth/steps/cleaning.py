"""Step 5, cleaning: remove the sentences or clauses of a context that still state the actor's emotions.

An LLM edit (METHOD.md: a light one, raw vs cleaned similarity ~0.92). Input row: ``id``,
``actor``, ``context``, ``positive_labels``. Output: ``{"id", "cleaned_context"}``. An answer that
is empty or keeps less than a quarter of the context is not a light edit: the record keeps no
cleaned context (drop reason ``over_cleaned``) rather than a gutted one. The pipeline also runs a
cheap lexical check (:func:`emopillars.synth.filters.emotion_words_in`) and reports in the manifest
how many contexts still name an emotion before and after cleaning.
"""

from __future__ import annotations

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object
from emopillars.synth.steps.context import MAX_CONTEXT_CHARS, emotion_phrase

NAME = "cleaning"
PROMPT_VERSION = "cleaning-v1"
MAX_TOKENS = 300
INPUTS = ("id", "actor", "context", "positive_labels")  # fields of an input row this step reads
OUTPUTS = ("id", "cleaned_context")  # fields of each output row
MIN_KEPT_FRACTION = 0.25

SCHEMA = {
    "type": "object",
    "properties": {"cleaned_context": {"type": "string", "minLength": 1, "maxLength": MAX_CONTEXT_CHARS}},
    "required": ["cleaned_context"],
}


def render(row: dict, prompt: PromptTemplate) -> str:
    return prompt.render(actor=row["actor"], context=row["context"], emotions=emotion_phrase(row["positive_labels"]))


def build_requests(rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, **_) -> list:
    return requests_for(rows, lambda row: render(row, prompt), system=system, params=params, schema=SCHEMA)


def parse(response: ChatResponse, row: dict, **_) -> Parsed:
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    text = clean_text(value.get("cleaned_context") or value.get("context") or value.get("text"))
    if not text:
        return Parsed.dropped("empty_cleaned_context")
    if len(text) < MIN_KEPT_FRACTION * len(row["context"]):
        return Parsed.dropped("over_cleaned")
    return Parsed(outputs=[{"id": row["id"], "cleaned_context": text}])
