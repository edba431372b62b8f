"""The one example type every loader returns, and the labelled collection around it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Example:
    """One utterance with optional context and speaker, and its label scores.

    ``labels`` maps label name -> level in [0, 1]; absent labels are 0. Hard datasets use 1.0.
    ``group`` ties examples that must stay in the same split or fold (a plot, a dialogue, a text).
    """

    text: str
    labels: dict[str, float] = field(default_factory=dict)
    context: str | None = None
    speaker: str | None = None
    id: str | None = None
    group: str | None = None
    meta: dict = field(default_factory=dict)

    def positive(self, threshold: float = 0.3) -> list[str]:
        return [label for label, level in self.labels.items() if level >= threshold]


@dataclass
class LabeledData:
    """Examples over a named label set, as loaded from one file."""

    examples: list[Example]
    label_names: list[str]
    source: str = ""
    skipped: int = 0
    multi_label: bool = True

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.subset(range(len(self.examples))[index])
        return self.examples[index]

    def subset(self, indices: Sequence[int]) -> LabeledData:
        return LabeledData(
            [self.examples[i] for i in indices], list(self.label_names), self.source, 0, self.multi_label
        )

    def targets(self, soft: bool = False, threshold: float = 0.3) -> np.ndarray:
        """A (n, n_labels) float32 matrix: levels when ``soft``, else 1.0 where level >= threshold."""
        index = {label: i for i, label in enumerate(self.label_names)}
        out = np.zeros((len(self.examples), len(self.label_names)), dtype=np.float32)
        for row, example in enumerate(self.examples):
            for label, level in example.labels.items():
                col = index.get(label)
                if col is None:
                    continue
                out[row, col] = float(level) if soft else float(level >= threshold)
        return out

    @property
    def has_context(self) -> bool:
        return any(example.context for example in self.examples)
