"""Step 1, actors: the characters of each plot, names normalized and deduplicated, non-characters dropped.

Input row: a plot ``{"id", "title", "text"}``. Output rows: ``{"id": "<plot>-aNN", "plot_id", "actor"}``.
A listed name is kept only when it looks like a character of *this* plot: at most 6 words, not a
generic word ("narrator", "unknown"), and at least one of its content words occurs in the plot
(small models list characters of other stories or invent them). Duplicates are caught on the
normalized name and on a lone surname or first name repeating a longer name listed before it
("Hanaud" after "Inspector Hanaud").
"""

from __future__ import annotations

import re

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.prompts import PromptTemplate
from emopillars.synth.steps.base import Parsed, clean_text, requests_for, response_object

NAME = "actors"
PROMPT_VERSION = "actors-v1"
MAX_TOKENS = 300
INPUTS = ("id", "title", "text")  # fields of an input row this step reads
OUTPUTS = ("id", "plot_id", "actor")  # fields of each output row
MAX_CHARACTERS = 15

SCHEMA = {
    "type": "object",
    "properties": {
        "characters": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 60},
            "maxItems": MAX_CHARACTERS,
        }
    },
    "required": ["characters"],
}

NOT_CHARACTERS = {
    "narrator",
    "the narrator",
    "unknown",
    "none",
    "n/a",
    "na",
    "name",
    "character",
    "characters",
    "protagonist",
    "the protagonist",
    "antagonist",
    "everyone",
    "nobody",
    "people",
    "the people",
    "family",
    "the family",
    "villagers",
    "the villagers",
    "crowd",
    "the crowd",
    "police",
    "the police",
}
TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "doctor",
    "sir",
    "lady",
    "lord",
    "inspector",
    "detective",
    "captain",
    "king",
    "queen",
    "prince",
    "princess",
    "professor",
    "father",
    "mother",
    "aunt",
    "uncle",
    "brother",
    "sister",
    "old",
    "young",
    "little",
}
_ARTICLES = {"the", "a", "an"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")


def render(row: dict, prompt: PromptTemplate) -> str:
    return prompt.render(title=row.get("title") or "(untitled)", plot=row["text"])


def build_requests(rows: list[dict], *, prompt: PromptTemplate, system, params: SamplingParams, **_) -> list:
    return requests_for(rows, lambda row: render(row, prompt), system=system, params=params, schema=SCHEMA)


def normalize_name(raw: str) -> str:
    """'  "Inspector  Hanaud (a detective)", ' -> 'Inspector Hanaud'."""
    name = clean_text(raw)
    name = re.sub(r"\s*\(.*?\)\s*", " ", name)  # parenthetical descriptions
    name = re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", name)  # list markers
    name = name.split(",")[0].split(" - ")[0].split(":")[0]  # "Mary, his wife" / "Mary - his wife"
    name = name.strip(" .;:!?\"'`*")
    return re.sub(r"\s+", " ", name)


def _key(name: str) -> str:
    words = [w for w in name.lower().split() if w not in _ARTICLES]
    return " ".join(words)


def _content_words(name: str) -> list[str]:
    return [w for w in _WORD.findall(name.lower()) if len(w) >= 3 and w not in _ARTICLES]


def _starts_a_word(word: str, text: str) -> bool:
    """``re.search(rf"\\b{re.escape(word)}", text)`` for a word that starts with a letter, without compiling
    one pattern per name (a cache miss each time, most of the step's parsing time)."""
    start = text.find(word)
    while start != -1:
        before = text[start - 1] if start else " "
        if not (before.isalnum() or before == "_"):
            return True
        start = text.find(word, start + 1)
    return False


def _in_plot(name: str, plot_lower: str) -> bool:
    return any(_starts_a_word(word, plot_lower) for word in _content_words(name))


def _repeats_longer_name(name: str, kept: list[str]) -> bool:
    """A lone proper name ('Hanaud') that is one word of a name kept before ('Inspector Hanaud')."""
    words = name.split()
    if len(words) != 1 or not words[0][:1].isupper() or words[0].lower() in TITLES:
        return False
    word = words[0].lower().removesuffix("'s")
    return any(word in [w.lower().removesuffix("'s") for w in other.split()] for other in kept)


def parse(response: ChatResponse, row: dict, **_) -> Parsed:
    value, problem = response_object(response)
    if problem:
        return Parsed.dropped(problem, error=response.error)
    names = value.get("characters")
    if not isinstance(names, list):
        return Parsed.dropped("invalid_json", error="no 'characters' list")
    result = Parsed()
    plot_lower = str(row.get("text", "")).lower()
    kept: list[str] = []
    keys: set[str] = set()
    for raw in names:
        if isinstance(raw, dict):
            raw = str(raw.get("name", ""))
        name = normalize_name(raw if isinstance(raw, str) else "")
        if not name:
            result.count("empty_name")
        elif len(name.split()) > 6 or len(name) > 60:
            result.count("not_a_name")
        elif _key(name) in NOT_CHARACTERS or name.lower() in NOT_CHARACTERS:
            result.count("not_a_character")
        elif not _in_plot(name, plot_lower):
            result.count("not_in_plot")
        elif _key(name) in keys or _repeats_longer_name(name, kept):
            result.count("duplicate_name")
        else:
            kept.append(name)
            keys.add(_key(name))
    if not kept:
        return Parsed(drop="no_characters", item_drops=result.item_drops)
    result.outputs = [
        {"id": f"{row['id']}-a{i:02d}", "plot_id": row["id"], "actor": name} for i, name in enumerate(kept)
    ]
    return result
