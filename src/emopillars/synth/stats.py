"""Manifest statistics: pure functions of a run's records and step checkpoints, no I/O.

- :func:`step_summary`: one step's inputs, outputs, drops by reason (the teacher's answer was unusable
  for that item: final) and failed calls by kind (the call itself failed: retried, never final), tokens,
  time;
- :func:`label_stats`: labels per example, per-class frequency, neutral share, unmapped labels;
- :func:`quality_stats`: context and rewrite checks (emotion words left, raw vs cleaned and original vs
  rewritten similarity);
- :func:`drop_totals`, :func:`top_drops` and :func:`dominant_drop_warnings`: what the CLI prints loudly
  when a run lost most rows to one reason or produced nothing.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from emopillars.data.records import SyntheticRecord
from emopillars.llm.types import ErrorKind
from emopillars.synth.checkpoint import Entry
from emopillars.synth.filters import emotion_words_in
from emopillars.taxonomy import LABELS, NEUTRAL, POSITIVE_THRESHOLD

DOMINANT_SHARE = 0.5  # one drop reason taking more than this share of a step's rows is warned about
CHOSEN_LIMITS = {"over_max_actors"}  # drops the user asked for (--max-actors): never warned about


def step_summary(entries: Iterable[Entry], stats, *, prompt_version: str, max_tokens: int, inputs: int) -> dict:
    """One step's figures for the manifest (``stats``: the :class:`~emopillars.synth.runner.StepStats`)."""
    drops: Counter[str] = Counter()
    item_drops: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    calls = outputs = 0
    for entry in entries:
        calls += 1
        outputs += len(entry.outputs)
        if entry.drop:
            drops[entry.drop] += 1
        item_drops.update(entry.item_drops)
        tokens["prompt_tokens"] += int(entry.usage.get("prompt_tokens") or 0)
        tokens["completion_tokens"] += int(entry.usage.get("completion_tokens") or 0)
        tokens["cached"] += bool(entry.usage.get("cached"))
    return {
        "prompt_version": prompt_version,
        "max_tokens": max_tokens,
        "inputs": inputs,
        "outputs": outputs,
        "dropped": sum(drops.values()),
        "drops": dict(drops.most_common()),
        "item_drops": dict(item_drops.most_common()),
        "call_failures": call_failure_counts(stats),
        "rows_without_answer": stats.failed_rows,
        "calls": calls,
        "prompt_tokens": tokens["prompt_tokens"],
        "completion_tokens": tokens["completion_tokens"],
        "cached_answers": tokens["cached"],
        "resumed_rows": stats.resumed,
        "done_now": stats.done_now,
        "wall_s": round(stats.wall_s, 3),
        "llm_s": round(stats.llm_s, 3),
    }


def stopped_step_summary(stats, *, prompt_version: str, max_tokens: int, inputs: int) -> dict:
    """The figures of a step that stopped (failed calls, interrupt) before it finished."""
    return {
        "prompt_version": prompt_version,
        "max_tokens": max_tokens,
        "inputs": inputs,
        "finished": False,
        "call_failures": call_failure_counts(stats),
        "rows_without_answer": stats.failed_rows or max(inputs - stats.resumed - stats.done_now, 0),
        "resumed_rows": stats.resumed,
        "done_now": stats.done_now,
        "wall_s": round(stats.wall_s, 3),
        "llm_s": round(stats.llm_s, 3),
    }


def call_failure_counts(stats) -> dict[str, int]:
    return {kind: int(stats.call_failures.get(kind, 0)) for kind in (ErrorKind.TRANSIENT, ErrorKind.FATAL)}


def drop_totals(steps: Mapping[str, dict], filters: Mapping[str, Mapping[str, int]]) -> Counter[str]:
    """Every final drop, flat: ``<step>.<reason>`` (answers) and ``filter.<name>.<reason>`` (filters)."""
    drops: Counter[str] = Counter()
    for name, summary in steps.items():
        drops.update({f"{name}.{reason}": n for reason, n in summary.get("drops", {}).items()})
    for name, counter in filters.items():
        drops.update({f"filter.{name}.{reason}": n for reason, n in counter.items()})
    return drops


def top_drops(drops: Mapping[str, int], n: int = 3) -> str:
    """'labels.invalid_json 40, filter.utterances.near_duplicate 12' (or 'none')."""
    ranked = sorted(drops.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{reason} {count}" for reason, count in ranked) or "none"


# Which step's outputs each filter sees (to tell what share of them it dropped).
FILTER_INPUTS = {"actors": "actors", "utterances": "utterances", "rewrites": "rewriting"}


def dominant_drop_warnings(steps: Mapping[str, dict], filters: Mapping[str, Mapping[str, int]]) -> list[str]:
    """One line per step or filter that lost more than :data:`DOMINANT_SHARE` of its rows to a single reason."""
    warnings = []
    for name, summary in steps.items():
        total = summary.get("inputs", 0)
        for reason, count in summary.get("drops", {}).items():
            if total >= 2 and count > DOMINANT_SHARE * total:
                warnings.append(
                    f"step {name} dropped {count} of {total} rows ({count / total:.0%}) for one reason: {reason}"
                )
    for name, counter in filters.items():
        total = steps.get(FILTER_INPUTS.get(name, name), {}).get("outputs", 0)
        for reason, count in counter.items():
            if total >= 2 and count > DOMINANT_SHARE * total and reason not in CHOSEN_LIMITS:
                warnings.append(
                    f"filter {name} removed {count} of {total} rows ({count / total:.0%}) for one reason: {reason}"
                )
    return warnings


def unmapped_labels(entries: Iterable[Entry]) -> Counter[str]:
    """Teacher labels the taxonomy could not map, counted over the labels step's entries."""
    unmapped: Counter[str] = Counter()
    for entry in entries:
        unmapped.update(entry.notes.get("unmapped", []))
    return unmapped


def label_stats(records: list[SyntheticRecord], unmapped: Counter[str] | None = None) -> dict[str, Any]:
    """Labels per example, per-class frequency, neutral share (METHOD.md's dataset validation)."""
    unmapped = unmapped or Counter()
    per_label = Counter(label for r in records for label in r.positive_labels)
    n = len(records)
    return {
        "positive_threshold": POSITIVE_THRESHOLD,
        "examples": n,
        "labels_per_example_mean": round(sum(len(r.positive_labels) for r in records) / n, 3) if n else 0.0,
        "per_label": {label: per_label.get(label, 0) for label in LABELS},
        "neutral_share_of_labels": round(per_label[NEUTRAL] / max(sum(per_label.values()), 1), 4),
        "examples_with_neutral": sum(NEUTRAL in r.positive_labels for r in records),
        "unmapped_total": sum(unmapped.values()),
        "unmapped_top": unmapped.most_common(20),
    }


def similarity(a: str, b: str) -> float:
    """Word-level similarity ratio (difflib), case-insensitive."""
    return difflib.SequenceMatcher(None, a.lower().split(), b.lower().split()).ratio()


def quality_stats(records: list[SyntheticRecord]) -> dict[str, Any]:
    """Context and rewrite checks: emotion words left in contexts, raw vs cleaned and original vs rewritten
    similarity, how often the requested emotion became the primary label."""
    with_context = [r for r in records if r.context]
    cleaned = [r for r in with_context if r.cleaned_context]
    rewritten = [r for r in records if r.rewritten_utterance]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "contexts": len(with_context),
        "contexts_naming_own_labels": sum(bool(emotion_words_in(r.context, r.positive_labels)) for r in with_context),
        "contexts_naming_any_emotion": sum(bool(emotion_words_in(r.context)) for r in with_context),
        "cleaned_contexts": len(cleaned),
        "cleaned_naming_own_labels": sum(
            bool(emotion_words_in(r.cleaned_context, r.positive_labels)) for r in cleaned
        ),
        "cleaned_naming_any_emotion": sum(bool(emotion_words_in(r.cleaned_context)) for r in cleaned),
        "raw_vs_cleaned_similarity_mean": mean([similarity(r.context, r.cleaned_context) for r in cleaned]),
        "rewritten": len(rewritten),
        "orig_vs_rewritten_similarity_mean": mean([similarity(r.utterance, r.rewritten_utterance) for r in rewritten]),
        "requested_emotion_is_primary": sum(
            bool(r.requested_emotion) and bool(r.labels) and next(iter(r.labels)) == r.requested_emotion
            for r in records
        ),
    }
