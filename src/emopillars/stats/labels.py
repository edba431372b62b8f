"""Label statistics: labels per example, label distribution, levels, neutral share, requested vs primary,
the teacher's unmapped words.

Definitions (docs/data-report.md):

- *labels per example*: the number of positive labels (level >= 0.3) of each example; mean and
  population standard deviation over examples, and the count of examples with 0, 1, 2, ... labels;
- *label distribution*: positive labels per label name, and each label's share of all positive labels;
- *level histogram*: every label level the records hold (positive or not), in steps of 0.1;
- *neutral share of labels*: positive ``neutral`` labels / all positive labels; *of examples*: examples
  with a positive ``neutral`` / examples (the paper: 2.7 % and 9 %);
- *requested vs primary*: for records whose generation asked for an emotion, the count of each
  (requested, primary) pair, the primary label being the first positive one (the teacher lists its
  primary emotion first), and the share where the two are equal;
- *unmapped words*: the teacher's label words that :func:`emopillars.taxonomy.map_label` cannot map
  onto the taxonomy, from ``raw_labels`` (a run's manifest also counts those of dropped utterances).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from emopillars.stats.records import StatRecord
from emopillars.taxonomy import LABELS, NEUTRAL, POSITIVE_THRESHOLD, map_label

LEVEL_BINS: tuple[str, ...] = tuple(f"{i / 10:.1f}" for i in range(11))


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and population standard deviation; (None, None) for no values."""
    if not values:
        return None, None
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def labels_per_example(records: Sequence[StatRecord]) -> dict[str, Any]:
    counts = [len(r.positive) for r in records]
    mean, sd = mean_sd(counts)
    histogram = Counter(counts)
    return {
        "examples": len(records),
        "mean": mean,
        "sd": sd,
        "min": min(counts) if counts else None,
        "max": max(counts) if counts else None,
        "histogram": {str(k): histogram[k] for k in sorted(histogram)},
    }


def label_counts(records: Iterable[StatRecord], label_names: Sequence[str] = LABELS) -> dict[str, int]:
    """Positive labels per label, in ``label_names`` order; labels outside it are added after, sorted."""
    counter = Counter(label for r in records for label in r.positive)
    out = {label: counter.get(label, 0) for label in label_names}
    for label in sorted(set(counter) - set(out)):
        out[label] = counter[label]
    return out


def label_shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {label: (n / total if total else 0.0) for label, n in counts.items()}


def level_histogram(records: Iterable[StatRecord]) -> dict[str, int]:
    """Label levels in 0.1 steps (rounded to the nearest step), positive or not."""
    histogram = dict.fromkeys(LEVEL_BINS, 0)
    for record in records:
        for level in record.labels.values():
            step = min(10, max(0, round(float(level) * 10)))
            histogram[LEVEL_BINS[step]] += 1
    return histogram


def neutral_share(records: Sequence[StatRecord], neutral: str = NEUTRAL) -> dict[str, Any]:
    total_labels = sum(len(r.positive) for r in records)
    neutral_labels = sum(neutral in r.positive for r in records)
    return {
        "neutral_labels": neutral_labels,
        "positive_labels": total_labels,
        "of_labels": neutral_labels / total_labels if total_labels else None,
        "examples_with_neutral": neutral_labels,
        "of_examples": neutral_labels / len(records) if records else None,
        "neutral_only_examples": sum(r.positive == (neutral,) for r in records),
    }


def requested_vs_primary(records: Sequence[StatRecord]) -> dict[str, Any]:
    matrix: dict[str, Counter] = {}
    n = agree = 0
    for record in records:
        if not record.requested_emotion or record.primary is None:
            continue
        n += 1
        agree += record.primary == record.requested_emotion
        matrix.setdefault(record.requested_emotion, Counter())[record.primary] += 1
    in_positive = sum(1 for r in records if r.requested_emotion and r.positive and r.requested_emotion in r.positive)
    return {
        "records": n,
        "primary_is_requested": agree,
        "primary_is_requested_share": agree / n if n else None,
        "requested_in_positive": in_positive,
        "requested_in_positive_share": in_positive / n if n else None,
        "matrix": {req: dict(row.most_common()) for req, row in sorted(matrix.items())},
    }


def unmapped_words(records: Iterable[StatRecord]) -> Counter[str]:
    """Teacher label words (``raw_labels``) that the taxonomy map cannot place, lower-cased."""
    counter: Counter[str] = Counter()
    for record in records:
        for word in record.raw_labels or {}:
            if map_label(word) is None:
                counter[word.strip().lower()] += 1
    return counter


def label_stats(
    records: Sequence[StatRecord],
    label_names: Sequence[str] = LABELS,
    unmapped: Counter[str] | None = None,
    top: int = 20,
) -> dict[str, Any]:
    """Every label statistic of the module doc in one dict (what reports and the manifest show).

    ``unmapped``: the unmapped words when the caller knows more than ``raw_labels`` do (a synthesis
    run counts the words of utterances it dropped too); default: :func:`unmapped_words`.
    """
    counts = label_counts(records, label_names)
    unmapped = unmapped_words(records) if unmapped is None else unmapped
    has_neutral = NEUTRAL in label_names
    return {
        "positive_threshold": POSITIVE_THRESHOLD,
        "examples": len(records),
        "labels_per_example": labels_per_example(records),
        "per_label": counts,
        "per_label_share": label_shares(counts),
        "levels": level_histogram(records),
        "neutral": neutral_share(records) if has_neutral else None,
        "requested_vs_primary": requested_vs_primary(records),
        "unmapped_total": sum(unmapped.values()),
        "unmapped_top": unmapped.most_common(top),
    }
