"""One soft label set from several answers: K samples of one teacher, and several raters.

**Samples** (self-consistency, ``--label-samples K``): the K answers of one rater are averaged per label,
a label missing from an answer counting as level 0 there. So a label every sample names at 0.8 keeps
0.8, and one that a single sample of three names at 0.9 drops to 0.3: its level falls in proportion to
the samples that name it. **Raters** (``--label-llm``, ``--label-model``): the raters' own (sample-averaged)
levels are averaged the same way, each rater weighing the same.

What counts as an answer: a parsed answer is one, even when it names no label or none at level >= 0.3
(it is a vote for "none of these"); a *failed* answer (the call failed, or the answer could not be parsed
after the LLM layer's retries) is not, and leaves the average over the others. A rater whose samples all
failed is left out of the rater average; an item no rater answered has no labels (``None``).

Levels are rounded to 3 decimals; labels are ordered by level, highest first, ties in the order the
answers first named them (so with one answer the teacher's own order is kept and its primary stays first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from emopillars.taxonomy import LABELS, POSITIVE_THRESHOLD

Levels = Mapping[str, float]


def average_levels(answers: Sequence[Levels | None]) -> dict[str, float] | None:
    """The per-label mean over the answers that exist (``None`` entries are failures and are skipped)."""
    present = [a for a in answers if a is not None]
    if not present:
        return None
    totals: dict[str, float] = {}
    for answer in present:
        for label, level in answer.items():
            totals[label] = totals.get(label, 0.0) + float(level)
    n = len(present)
    order = {label: i for i, label in enumerate(totals)}
    means = {label: round(total / n, 3) for label, total in totals.items()}
    ranked = sorted((label for label in means if means[label] > 0), key=lambda label: (-means[label], order[label]))
    return {label: means[label] for label in ranked}


def combine(per_rater_samples: Mapping[str, Sequence[Levels | None]]) -> tuple[dict[str, float] | None, dict]:
    """(aggregated levels, each rater's sample-averaged levels) for one item.

    ``per_rater_samples``: rater name -> its K answers (None = failed). A rater with no answer maps to None
    in the second result.
    """
    per_rater = {name: average_levels(samples) for name, samples in per_rater_samples.items()}
    return average_levels(list(per_rater.values())), per_rater


def positive_set(levels: Levels | None, threshold: float = POSITIVE_THRESHOLD) -> set[str]:
    return {label for label, level in (levels or {}).items() if level >= threshold}


def _primary(levels: Levels | None, threshold: float = POSITIVE_THRESHOLD) -> str | None:
    if not levels:
        return None
    label = max(levels, key=lambda k: levels[k])  # first of the highest: dicts keep the answer's order
    return label if levels[label] >= threshold else None


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    from emopillars.teacher.metrics import cohen_kappa

    return cohen_kappa(a, b)


def rater_agreement(
    per_rater: Mapping[str, Sequence[Levels | None]],
    labels: Sequence[str] = LABELS,
    threshold: float = POSITIVE_THRESHOLD,
) -> dict:
    """How much the raters agree, pairwise over the items both answered.

    For each pair: ``kappa`` (Cohen's, pooled over item x label positive decisions), ``primary_agreement``
    (share of items with the same primary label), ``jaccard`` (mean overlap of the positive sets) and
    ``items``. ``mean_kappa`` averages the pairs; ``answered`` counts each rater's answered items.
    """
    names = list(per_rater)
    index = {label: i for i, label in enumerate(labels)}
    out: dict = {"raters": names, "answered": {n: sum(x is not None for x in per_rater[n]) for n in names}}
    pairs = []
    for a, b in combinations(names, 2):
        both = [(x, y) for x, y in zip(per_rater[a], per_rater[b]) if x is not None and y is not None]
        if not both:
            pairs.append({"a": a, "b": b, "items": 0, "kappa": None, "primary_agreement": None, "jaccard": None})
            continue
        ma = np.zeros((len(both), len(labels)), dtype=bool)
        mb = np.zeros_like(ma)
        jaccards, same_primary = [], 0
        for row, (x, y) in enumerate(both):
            sx, sy = positive_set(x, threshold), positive_set(y, threshold)
            for label in sx:
                if label in index:
                    ma[row, index[label]] = True
            for label in sy:
                if label in index:
                    mb[row, index[label]] = True
            jaccards.append(len(sx & sy) / len(sx | sy) if sx | sy else 1.0)
            same_primary += _primary(x, threshold) == _primary(y, threshold)
        pairs.append(
            {
                "a": a,
                "b": b,
                "items": len(both),
                "kappa": round(_kappa(ma, mb), 4),
                "primary_agreement": round(same_primary / len(both), 4),
                "jaccard": round(float(np.mean(jaccards)), 4),
            }
        )
    out["pairs"] = pairs
    kappas = [p["kappa"] for p in pairs if p["kappa"] is not None]
    out["mean_kappa"] = round(float(np.mean(kappas)), 4) if kappas else None
    return out
