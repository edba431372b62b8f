"""The record the statistics work on: one utterance with its labels, character, plot and contexts.

Every statistic in :mod:`emopillars.stats` is a pure function over a sequence of :class:`StatRecord`.
A synthetic record (:class:`~emopillars.data.records.SyntheticRecord`) fills every field; an example
from any other loader (:class:`~emopillars.data.example.Example`: GoEmotions, a CSV, ...) fills the
text and labels, and the speaker / group / context where the file has them. Statistics that need a
field nobody has (no characters, no contexts) report ``None`` or zero counts, never fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from emopillars.data.example import Example
from emopillars.data.records import SyntheticRecord
from emopillars.taxonomy import POSITIVE_THRESHOLD


@dataclass(frozen=True)
class StatRecord:
    """One utterance as the statistics see it. ``positive`` keeps the teacher's order: primary first."""

    id: str
    text: str
    labels: dict[str, float] = field(default_factory=dict)
    positive: tuple[str, ...] = ()
    actor_id: str | None = None
    actor: str | None = None
    plot_id: str | None = None
    requested_emotion: str | None = None
    context: str | None = None
    cleaned_context: str | None = None
    rewritten: str | None = None
    raw_labels: dict[str, float] | None = None
    split: str | None = None

    @property
    def primary(self) -> str | None:
        """The primary label: the first positive label (the teacher lists its primary emotion first)."""
        return self.positive[0] if self.positive else None


def from_synthetic(record: SyntheticRecord) -> StatRecord:
    positive = tuple(record.positive_labels) or tuple(
        label for label, level in record.labels.items() if level >= POSITIVE_THRESHOLD
    )
    return StatRecord(
        id=record.record_id,
        text=record.utterance,
        labels=dict(record.labels),
        positive=positive,
        actor_id=record.actor_id,
        actor=record.actor,
        plot_id=record.plot_id,
        requested_emotion=record.requested_emotion,
        context=record.context,
        cleaned_context=record.cleaned_context,
        rewritten=record.rewritten_utterance,
        raw_labels=dict(record.raw_labels),
        split=record.split,
    )


def from_example(example: Example, index: int = 0, threshold: float = POSITIVE_THRESHOLD) -> StatRecord:
    """An example of any loader; positive labels ordered by level (highest first), ties in file order."""
    order = {label: i for i, label in enumerate(example.labels)}
    positive = sorted(example.positive(threshold), key=lambda label: (-example.labels[label], order[label]))
    meta = example.meta or {}
    return StatRecord(
        id=str(example.id if example.id is not None else index),
        text=example.text,
        labels=dict(example.labels),
        positive=tuple(positive),
        actor_id=meta.get("actor_id") or example.speaker,
        actor=example.speaker,
        plot_id=example.group,
        requested_emotion=meta.get("requested_emotion"),
        context=example.context,
        split=meta.get("split"),
    )


def from_examples(examples: Iterable[Example], threshold: float = POSITIVE_THRESHOLD) -> list[StatRecord]:
    return [from_example(example, i, threshold) for i, example in enumerate(examples)]
