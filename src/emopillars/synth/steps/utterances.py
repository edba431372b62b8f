"""Step 2, utterances: one call per actor -> thinking-aloud utterances, 8 emotions + 2 neutral.

Input row: ``{"id": actor id, "plot_id", "actor", "plot", "requested": [8 emotions]}`` (the emotions
come from :class:`~emopillars.synth.balancer.EmotionBalancer`). The prompt holds the 28 definitions
(first, so that a server's prefix cache reuses them across calls), the plot, the actor and the
numbered list of requested emotions. Output rows: ``{"id": "<actor>-uNN", "actor_id", "plot_id",
"actor", "requested_emotion", "utterance"}``. ``requested_emotion`` is the emotion the answer says
the item expresses when that was one of the requested ones; the labels step decides the real labels.
"""

from __future__ import annotations

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object, taxonomy_label
from emopillars.taxonomy import LABELS, NEUTRAL, definitions_block

NAME = "utterances"
PROMPT_VERSION = "utterances-v1"
MAX_TOKENS = 500
INPUTS = ("id", "plot_id", "actor", "plot", "requested")  # fields of an input row this step reads
OUTPUTS = ("id", "actor_id", "plot_id", "actor", "requested_emotion", "utterance")  # fields of each output row
N_EMOTIONS = 8
N_NEUTRAL = 2
MAX_UTTERANCE_CHARS = 200

DEFINITIONS = definitions_block()  # rendered once: the same 28 lines open every prompt of the step

SCHEMA = {
    "type": "object",
    "properties": {
        "utterances": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "emotion": {"type": "string", "enum": list(LABELS)},
                    "text": {"type": "string", "minLength": 1, "maxLength": MAX_UTTERANCE_CHARS},
                },
                "required": ["emotion", "text"],
            },
            "maxItems": N_EMOTIONS + N_NEUTRAL,
        }
    },
    "required": ["utterances"],
}


def expected_emotions(row: dict, n_neutral: int = N_NEUTRAL) -> list[str]:
    return list(row["requested"]) + [NEUTRAL] * n_neutral


def render(row: dict, prompt: PromptTemplate, n_neutral: int = N_NEUTRAL) -> str:
    expected = expected_emotions(row, n_neutral)
    emotion_list = "\n".join(f"{i}. {emotion}" for i, emotion in enumerate(expected, 1))
    return prompt.render(
        definitions=DEFINITIONS,
        plot=row["plot"],
        actor=row["actor"],
        n_total=len(expected),
        emotion_list=emotion_list,
    )


def build_requests(
    rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, n_neutral: int = N_NEUTRAL, **_
) -> list:
    return requests_for(rows, lambda row: render(row, prompt, n_neutral), system=system, params=params, schema=SCHEMA)


def parse(response: ChatResponse, row: dict, n_neutral: int = N_NEUTRAL, **_) -> Parsed:
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    items = value.get("utterances")
    if not isinstance(items, list):
        return Parsed.dropped("invalid_json", error="no 'utterances' list")
    expected = expected_emotions(row, n_neutral)
    remaining = list(expected)
    result = Parsed()
    kept: list[tuple[str, str | None]] = []
    for item in items:
        if len(kept) >= len(expected):
            result.count("extra_utterance")
            continue
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            result.count("malformed_item")
            continue
        text = clean_text(item.get("text"))
        if not text:
            result.count("empty_utterance")
            continue
        emotion = taxonomy_label(str(item.get("emotion", ""))) if item.get("emotion") else None
        if emotion in remaining:
            remaining.remove(emotion)
            requested = emotion
        else:
            requested = None
            result.count("unrequested_emotion")
        kept.append((text, requested))
    if not kept:
        return Parsed(drop="no_utterances", item_drops=result.item_drops)
    if remaining:
        result.notes["missing_emotions"] = remaining
    result.outputs = [
        {
            "id": f"{row['id']}-u{j:02d}",
            "actor_id": row["id"],
            "plot_id": row["plot_id"],
            "actor": row["actor"],
            "requested_emotion": requested,
            "utterance": text,
        }
        for j, (text, requested) in enumerate(kept)
    ]
    return result
