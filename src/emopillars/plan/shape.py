"""What one record costs: LLM calls, prompt and completion tokens, split by whether the record gets a context.

A record (a labelled utterance, a row of the ``orig`` set) costs its share of the **base** steps (actors,
utterances, labels) and, when it is chosen for a context, the **contextual** steps (context, cleaning,
rewriting). Splitting the two lets a plan change the share of records given a context (``--context-fraction``)
without re-measuring: per record = base + fraction x contextual.

Measured from a finished run's ``manifest.json`` (:meth:`RecordShape.from_manifest`): base = the base steps'
calls and tokens / records; contextual = the contextual steps' / the context step's input rows.

:data:`BUILTIN_SHAPE` is used when no manifest is given: the embedded-teacher demo run of BENCHMARKS.md
(Qwen2.5-Coder-0.5B, 5 plots x 1 actor: 37 records from 74 calls, 30,445 prompt / 4,584 completion tokens,
i.e. 2.0 calls, 822.8 prompt and 123.9 completion tokens per record). Its calls split into 47 base calls
(5 actors + 5 utterances + 37 labels) and 27 contextual ones (12 context + 8 cleaning + 7 rewriting) for 12
records chosen for a context; that run's manifest kept only totals of tokens, so both parts get its mean
tokens per call (411.4 prompt, 61.9 completion). At its own context share (12/37) it gives back exactly the
measured per-record totals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_STEPS = ("actors", "utterances", "labels")
CONTEXT_STEPS = ("context", "cleaning", "rewriting")


@dataclass(frozen=True)
class Part:
    """Calls and tokens per unit (per record for the base part, per contextual record for the other)."""

    calls: float
    prompt_tokens: float
    completion_tokens: float

    def __mul__(self, factor: float) -> Part:
        return Part(self.calls * factor, self.prompt_tokens * factor, self.completion_tokens * factor)

    def __add__(self, other: Part) -> Part:
        return Part(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class RecordShape:
    """Per-record cost: ``base`` for every record, ``contextual`` for each record given a context."""

    base: Part
    contextual: Part
    context_share: float  # share of records given a context in the measured run
    records: int  # records of the measured run
    source: str

    def per_record(self, context_fraction: float | None = None) -> Part:
        """Calls and tokens per record when ``context_fraction`` of the records get a context (default: measured)."""
        fraction = self.context_share if context_fraction is None else context_fraction
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"the context fraction must be in [0, 1], got {fraction}")
        return self.base + self.contextual * fraction

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], source: str = "manifest") -> RecordShape:
        """The shape of a finished run (see the module doc); ValueError when the manifest cannot give one."""
        steps = manifest.get("steps") or {}
        records = int(manifest.get("records") or 0)
        if manifest.get("status") not in (None, "complete"):
            raise ValueError(
                f"{source}: the run is {manifest.get('status')!r}, not complete; plan from a finished run"
            )
        if records <= 0:
            raise ValueError(f"{source}: the run produced no records, so it gives no per-record shape")
        missing = [name for name in BASE_STEPS if name not in steps]
        if missing:
            raise ValueError(
                f"{source}: no figures for the steps {', '.join(missing)} (is this a synthesis manifest?)"
            )

        def total(names) -> Part:
            return Part(
                sum(float(steps.get(n, {}).get("calls", 0)) for n in names),
                sum(float(steps.get(n, {}).get("prompt_tokens", 0)) for n in names),
                sum(float(steps.get(n, {}).get("completion_tokens", 0)) for n in names),
            )

        contextual_rows = int((steps.get("context") or {}).get("inputs", 0))
        base = total(BASE_STEPS) * (1.0 / records)
        contextual = total(CONTEXT_STEPS) * (1.0 / contextual_rows) if contextual_rows else Part(0.0, 0.0, 0.0)
        return cls(base, contextual, contextual_rows / records, records, source)

    @classmethod
    def from_file(cls, path: str | Path) -> RecordShape:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"manifest not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from None
        return cls.from_manifest(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "context_share": round(self.context_share, 4),
            "base_per_record": vars(self.base),
            "contextual_per_context_record": vars(self.contextual),
        }


_DEMO_PROMPT_PER_CALL = 30_445 / 74
_DEMO_COMPLETION_PER_CALL = 4_584 / 74
BUILTIN_SHAPE = RecordShape(
    base=Part(47 / 37, 47 / 37 * _DEMO_PROMPT_PER_CALL, 47 / 37 * _DEMO_COMPLETION_PER_CALL),
    contextual=Part(27 / 12, 27 / 12 * _DEMO_PROMPT_PER_CALL, 27 / 12 * _DEMO_COMPLETION_PER_CALL),
    context_share=12 / 37,
    records=37,
    source="built-in: the embedded-teacher demo run of BENCHMARKS.md (2.0 calls, 822.8 prompt + 123.9 "
    "completion tokens per record)",
)

REFERENCE_MANIFEST = Path(__file__).with_name("reference_manifest.json")


def load_shape(manifest: str | Path | None = None) -> RecordShape:
    """The shape of ``manifest``; without one, the committed reference manifest if present, else the built-in."""
    if manifest is not None:
        return RecordShape.from_file(manifest)
    if REFERENCE_MANIFEST.is_file():
        return RecordShape.from_file(REFERENCE_MANIFEST)
    return BUILTIN_SHAPE
