"""The texts an audit scores: a fixed random sample of a human-labelled dataset, with its gold labels.

``goemotions`` (``--split train|dev|test``, 28 labels, multi-label), ``isear`` (its 7 classes, single-label;
ISEAR has no official split, so the whole file is sampled, without its "[ No response" non-answers), or a
path any :func:`emopillars.data.loaders.load` format reads. Gold labels outside the 28-label taxonomy are
mapped with :func:`emopillars.taxonomy.map_label` for multi-label data; single-label data keep their own
classes, and the teacher's primary label is mapped onto them (ISEAR:
:data:`~emopillars.teacher.metrics.ISEAR_CLASS_MAP`).

The sample is the first ``n`` rows of a permutation drawn with ``numpy.random.default_rng(seed)``, kept in file
order: the same ``(data, split, n, seed)`` always gives the same texts, so audits of different teachers
compare, and a smaller sample is part of a larger one with the same seed (a quick ``--n 100`` screening
run answers a third of a later ``--n 300`` run from the LLM cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emopillars import settings
from emopillars.data.example import LabeledData
from emopillars.taxonomy import LABELS, map_label
from emopillars.teacher.metrics import ISEAR_CLASS_MAP

NAMED = ("goemotions", "isear")


@dataclass
class AuditItems:
    """Rows for the labels step (``id``, ``utterance``) with their gold labels, and how to score them."""

    rows: list[dict]
    gold: list[list[str]]
    dataset: str
    source: str
    split: str | None
    multi_label: bool
    classes: list[str] = field(default_factory=lambda: list(LABELS))
    class_map: dict[str, str] = field(default_factory=dict)
    population: int = 0

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self) -> dict:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "split": self.split,
            "multi_label": self.multi_label,
            "classes": self.classes,
            "items": len(self.rows),
            "population": self.population,
        }


def _load(data: str, split: str) -> tuple[LabeledData, str, str | None]:
    from emopillars.data.loaders import load
    from emopillars.data.loaders.goemotions import load_goemotions
    from emopillars.data.loaders.isear import load_isear

    if data == "goemotions":
        path = settings.dataset_path("goemotions", f"{split}.tsv")
        return load_goemotions(path), "goemotions", split
    if data == "isear":
        path = settings.dataset_path("isear", "isear.csv")
        return load_isear(path, drop_no_response=True), "isear", None
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"audit data {data!r} is neither {' nor '.join(NAMED)} nor an existing file")
    return load(path), path.stem, None


def sample_indices(population: int, n: int | None, seed: int) -> list[int]:
    """``n`` distinct indices of ``range(population)`` drawn with ``seed``, ascending (all when n is None)."""
    if n is None or n >= population:
        return list(range(population))
    if n <= 0:
        raise ValueError(f"--n must be > 0, got {n}")
    return sorted(int(i) for i in np.random.default_rng(seed).permutation(population)[:n])


def load_items(data: str = "goemotions", split: str = "dev", n: int | None = 300, seed: int = 0) -> AuditItems:
    labelled, name, used_split = _load(data, split)
    chosen = sample_indices(len(labelled), n, seed)
    rows, gold = [], []
    multi = labelled.multi_label
    if multi:
        classes, class_map = list(LABELS), {}
    else:
        classes = list(labelled.label_names)
        class_map = dict(ISEAR_CLASS_MAP) if name == "isear" else _class_map(classes)
    for i in chosen:
        example = labelled.examples[i]
        positive = example.positive()
        if multi:
            mapped = [map_label(label) for label in positive]
            missing = [label for label, m in zip(positive, mapped) if m is None]
            if missing:
                raise ValueError(f"{labelled.source}: gold labels outside the taxonomy: {missing}")
            positive = list(dict.fromkeys(m for m in mapped if m))
        rows.append({"id": f"item{i}", "utterance": example.text, "source_id": example.id})
        gold.append(positive)
    return AuditItems(
        rows, gold, name, labelled.source, used_split, multi, classes, class_map, population=len(labelled)
    )


def _class_map(classes: list[str]) -> dict[str, str]:
    """Taxonomy label -> class of a single-label dataset, for class names the taxonomy map knows."""
    out = {}
    for c in classes:
        label = map_label(c)
        if label is not None:
            out.setdefault(label, c)
    if not out:
        raise ValueError(f"none of the classes {classes} maps onto the 28-label taxonomy")
    return out
