"""Step 3, soft labels: one call per utterance, WITHOUT the plot, -> up to 5 (emotion, level), primary first.

Without the plot the teacher judges only what the utterance itself expresses (METHOD.md). Parsing:

- levels are clamped to [0, 1] and snapped to the 0.1 grid; an answer on a 0-10 or 0-100 scale
  (all levels > 1) is rescaled first;
- labels outside the taxonomy go through :func:`emopillars.taxonomy.map_label`; the ones it cannot
  map are dropped and listed in ``notes["unmapped"]`` (the manifest counts them); two raw labels that
  map to one taxonomy label keep the higher level;
- ``raw_labels`` keeps the teacher's words and levels as given; ``labels`` the mapped, snapped ones
  in the teacher's order (primary first); ``positive_labels`` those >= 0.3;
- no positive label -> the utterance is dropped (reason ``no_positive_label``).

Input rows: utterance rows (``id``, ``utterance``). Output: ``{"id", "raw_labels", "labels",
"positive_labels"}``.
"""

from __future__ import annotations

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object, taxonomy_label
from emopillars.taxonomy import LABELS, POSITIVE_THRESHOLD, definitions_block

NAME = "labels"
PROMPT_VERSION = "labels-v3"
MAX_TOKENS = 100
INPUTS = ("id", "utterance")  # fields of an input row this step reads
OUTPUTS = ("id", "raw_labels", "labels", "positive_labels")  # fields of each output row
MAX_LABELS = 5

DEFINITIONS = definitions_block()  # rendered once: the same 28 lines open every prompt of the step

SCHEMA = {
    "type": "object",
    "properties": {
        "emotions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "emotion": {"type": "string", "enum": list(LABELS)},
                    "level": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["emotion", "level"],
            },
            "minItems": 1,
            "maxItems": MAX_LABELS,
        }
    },
    "required": ["emotions"],
}


def render(row: dict, prompt: PromptTemplate) -> str:
    return prompt.render(definitions=DEFINITIONS, utterance=row["utterance"])


def build_requests(rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, **_) -> list:
    return requests_for(rows, lambda row: render(row, prompt), system=system, params=params, schema=SCHEMA)


def snap(level: float) -> float:
    """Clamp to [0, 1] and round to the nearest 0.1."""
    return round(min(1.0, max(0.0, level)) * 10) / 10


def _items(value: dict) -> list | None:
    for key in ("emotions", "labels", "emotion"):
        items = value.get(key)
        if isinstance(items, list):
            return items
        if isinstance(items, dict):  # {"joy": 0.8, "relief": 0.4}
            return [{"emotion": k, "level": v} for k, v in items.items()]
    return None


def _level(raw) -> float | None:
    try:
        level = float(raw)
    except (TypeError, ValueError):
        return None
    return level if level == level else None  # NaN


def parse(response: ChatResponse, row: dict, **options) -> Parsed:
    """The step's parser: :func:`parse_levels`, and an answer with no positive label drops the utterance."""
    result = parse_levels(response, row, **options)
    if result.outputs and not result.outputs[0]["positive_labels"]:
        return Parsed(drop="no_positive_label", item_drops=result.item_drops, notes=result.notes)
    return result


def parse_levels(response: ChatResponse, row: dict, **_) -> Parsed:
    """An answer -> one output row, also when it names no label at level >= 0.3 (``positive_labels`` empty).

    Aggregation over samples and raters (:mod:`emopillars.teacher.aggregate`) needs such answers: they are
    votes for "none of these". A failed call or an unparseable answer is a drop (``llm_error``,
    ``invalid_json``), as in :func:`parse`.
    """
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    items = _items(value)
    if items is None:
        return Parsed.dropped("invalid_json", error="no 'emotions' list")
    result = Parsed()
    pairs: list[tuple[str, float]] = []
    for item in items:
        if not isinstance(item, dict):
            result.count("malformed_label")
            continue
        name = clean_text(item.get("emotion") or item.get("label") or item.get("name"))
        level = _level(item.get("level", item.get("score", item.get("intensity"))))
        if not name or level is None:
            result.count("malformed_label")
            continue
        pairs.append((name, level))
    if len(pairs) > MAX_LABELS:
        result.count("extra_label", len(pairs) - MAX_LABELS)
        pairs = pairs[:MAX_LABELS]
    scale = 1.0
    top = max((level for _, level in pairs), default=0.0)
    if top > 1.0:
        scale = 10.0 if top <= 10.0 else 100.0
        result.notes["rescaled"] = scale
    raw_labels: dict[str, float] = {}
    labels: dict[str, float] = {}
    unmapped: list[str] = []
    for name, level in pairs:
        raw_labels.setdefault(name, level)
        mapped = taxonomy_label(name)
        if mapped is None:
            unmapped.append(name.lower())
            continue
        snapped = snap(level / scale)
        if snapped > 0 and snapped > labels.get(mapped, 0.0):
            labels[mapped] = snapped
    if unmapped:
        result.notes["unmapped"] = unmapped
        result.count("unmapped_label", len(unmapped))
    positive = [label for label, level in labels.items() if level >= POSITIVE_THRESHOLD]
    result.outputs = [{"id": row["id"], "raw_labels": raw_labels, "labels": labels, "positive_labels": positive}]
    return result
