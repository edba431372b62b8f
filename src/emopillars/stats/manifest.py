"""The ``labels`` and ``quality`` blocks of a synthesis run's ``manifest.json``, from the same functions as
``emopillars inspect`` (:mod:`emopillars.stats.labels`, :mod:`emopillars.stats.contexts`): one definition of
every number. The flat key names are the manifest's; docs/data-report.md defines the measures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from emopillars.data.records import SyntheticRecord
from emopillars.stats.contexts import context_stats
from emopillars.stats.labels import label_stats
from emopillars.stats.records import StatRecord, from_synthetic
from emopillars.taxonomy import LABELS


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def manifest_stats(
    records: Sequence[SyntheticRecord | StatRecord], unmapped: Counter[str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{"labels": ..., "quality": ...}`` for the manifest. ``unmapped``: the run's unmapped teacher words
    (those of dropped utterances included); default: the ones in the records' ``raw_labels``."""
    stat = [r if isinstance(r, StatRecord) else from_synthetic(r) for r in records]
    lab = label_stats(stat, LABELS, unmapped)
    ctx = context_stats(stat)
    per_example, neutral, requested = lab["labels_per_example"], lab["neutral"], lab["requested_vs_primary"]
    labels = {
        "positive_threshold": lab["positive_threshold"],
        "examples": lab["examples"],
        "labels_per_example_mean": _round(per_example["mean"], 3) or 0.0,
        "labels_per_example_sd": _round(per_example["sd"], 3),
        "labels_per_example_histogram": per_example["histogram"],
        "per_label": lab["per_label"],
        "neutral_share_of_labels": _round(neutral["of_labels"]) or 0.0,
        "neutral_share_of_examples": _round(neutral["of_examples"]),
        "examples_with_neutral": neutral["examples_with_neutral"],
        "levels": lab["levels"],
        "unmapped_total": lab["unmapped_total"],
        "unmapped_top": lab["unmapped_top"],
    }
    quality = {
        "contexts": ctx["contexts"],
        "contexts_naming_own_labels": ctx["naming_own_labels"],
        "contexts_naming_any_emotion": ctx["naming_any_emotion"],
        "cleaned_contexts": ctx["cleaned"],
        "cleaned_naming_own_labels": ctx["cleaned_naming_own_labels"],
        "cleaned_naming_any_emotion": ctx["cleaned_naming_any_emotion"],
        "raw_vs_cleaned_similarity_mean": _round(ctx["raw_vs_cleaned_similarity"]["mean"]),
        "rewritten": ctx["rewritten"],
        "orig_vs_rewritten_similarity_mean": _round(ctx["orig_vs_rewritten_similarity"]["mean"]),
        "contexts_containing_utterance": ctx["contains_utterance"],
        "contexts_running_past_utterance": ctx["runs_past_utterance"],
        "requested_emotion_is_primary": requested["primary_is_requested"],
        "requested_emotion_records": requested["records"],
    }
    return {"labels": labels, "quality": quality}
