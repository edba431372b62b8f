"""What every synthesis step shares: the parse result, the step handle the runner drives, JSON helpers.

A step module defines ``NAME``, ``PROMPT_VERSION``, ``MAX_TOKENS``, ``SCHEMA``, ``INPUTS`` (the fields of
an input row it reads) and ``OUTPUTS`` (the fields of each row it produces; the pipeline checks before a
run that every input is produced upstream, see :mod:`emopillars.synth.wiring`),
``build_requests(rows, *, prompt, system, params) -> list[ChatRequest]`` (one request per input row,
same order) and ``parse(response, row) -> Parsed``. :class:`Step` binds a module to its prompt and
sampling settings so that the runner can drive any step the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from emopillars.llm.types import ChatRequest, ChatResponse, SamplingParams
from emopillars.synth.prompts import SYSTEM, SYSTEM_VERSION, PromptTemplate, load_prompt
from emopillars.taxonomy import map_label


@dataclass
class Parsed:
    """The outcome of one input row.

    ``outputs``: the rows this input produced. ``drop``: why the whole input produced nothing.
    ``item_drops``: reasons for single items dropped inside an otherwise good answer (e.g. a listed
    "character" that is a place). ``notes``: anything the manifest aggregates (e.g. unmapped labels).
    """

    outputs: list[dict[str, Any]] = field(default_factory=list)
    drop: str | None = None
    item_drops: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def dropped(cls, reason: str, **notes: Any) -> Parsed:
        return cls(drop=reason, notes=dict(notes))

    def count(self, reason: str, n: int = 1) -> None:
        self.item_drops[reason] = self.item_drops.get(reason, 0) + n


def response_object(response: ChatResponse) -> tuple[dict | None, str | None]:
    """(JSON object, None) from a response, or (None, drop reason).

    The runner hands a step only responses whose call went through (failed calls are retried, never
    parsed), so an error here is the answer's: ``no_answer`` when the LLM gave no text for this item,
    ``invalid_json`` when the text is not a usable JSON object. The LLM layer parses (and repairs)
    structured answers into ``response.parsed``; when a backend did not, the text is parsed here with the
    same repair logic, so a step never sees raw text.
    """
    value = response.parsed
    if value is None and response.text:
        from emopillars.llm.parsing import parse_json

        value = parse_json(response.text).value
    if value is None:
        if response.error:
            return None, "no_answer" if not response.text else "invalid_json"
        return None, "invalid_json"
    if not isinstance(value, dict):
        return None, "invalid_json"
    return value, None


@functools.lru_cache(maxsize=4096)
def taxonomy_label(raw: str) -> str | None:
    """:func:`emopillars.taxonomy.map_label`, cached: a run maps the same few dozen words thousands of times."""
    return map_label(raw)


def clean_text(value: Any) -> str:
    """A single-line, trimmed string ('' for non-strings)."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())  # str.split() splits on exactly what the regex \s+ matches, at a third of the cost
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


@dataclass
class Step:
    """A step module bound to its prompt template, system prompt and sampling settings."""

    module: ModuleType
    prompt: PromptTemplate
    system: PromptTemplate | None
    params: SamplingParams
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.module.NAME

    @property
    def version(self) -> str:
        return self.prompt.version

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.module.INPUTS)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.module.OUTPUTS)

    def build_requests(self, rows: list[dict]) -> list[ChatRequest]:
        return self.module.build_requests(
            rows, prompt=self.prompt, system=self.system, params=self.params, **self.options
        )

    def parse(self, response: ChatResponse, row: dict) -> Parsed:
        return self.module.parse(response, row, **self.options)


def make_step(
    module: ModuleType,
    *,
    prompts_dir=None,
    max_tokens: int | None = None,
    sampling: SamplingParams | None = None,
    **options: Any,
) -> Step:
    """Bind a step module: its (possibly user-overridden) template and its max new tokens."""
    base = sampling or SamplingParams()
    params = SamplingParams(
        max_tokens=max_tokens or module.MAX_TOKENS,
        temperature=base.temperature,
        top_p=base.top_p,
        repetition_penalty=base.repetition_penalty,
        seed=base.seed,
        stop=base.stop,
    )
    prompt = load_prompt(module.NAME, module.PROMPT_VERSION, prompts_dir)
    system = load_prompt(SYSTEM, SYSTEM_VERSION, prompts_dir)
    return Step(module, prompt, system, params, dict(options))


def requests_for(
    rows: list[dict],
    render: Callable[[dict], str],
    *,
    system: PromptTemplate | None,
    params: SamplingParams,
    schema: dict,
) -> list[ChatRequest]:
    """One chat request per row, tagged with the row id."""
    system_text = system.render() if system else None
    return [
        ChatRequest.from_prompt(render(row), system_text, params=params, schema=schema, tag=str(row["id"]))
        for row in rows
    ]
