"""Head policies: how a task's labels meet the classifier's output layer, and how scores become predictions.

- ``keep``: keep the 28-label taxonomy head of the starting checkpoint (what it learnt from synthetic
  data about *joy* or *remorse* is used as is). Task labels are mapped onto the taxonomy
  (``TaskSpec.taxonomy_map``: ISEAR shame -> embarrassment, guilt -> remorse; EmoContext happy -> joy,
  ...), the model trains on 28-label targets, and the task reads only its mapped columns. A task label
  with no taxonomy class (EmoContext ``others``) is trained and read as ``neutral`` (``none_as``): the
  taxonomy's "no emotion" class is the closest thing, and it keeps prediction a plain argmax, with no
  extra threshold to choose (EmoContext reports on dev, so nothing may be chosen there).
  From a plain encoder, ``keep`` means a fresh 28-label head trained on the same mapped targets.
- ``new``: a fresh head over the task's own labels; from a checkpoint only the encoder body is reused.

Single-label tasks predict the argmax over their columns; multi-label tasks use thresholds chosen on a
selection (dev) set, never on the reported set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emopillars.adapt.tasks import TaskSpec
from emopillars.data.example import Example, LabeledData
from emopillars.taxonomy import LABELS

HEAD_POLICIES = ("keep", "new")


@dataclass
class HeadPolicy:
    """Maps task labels to model output columns (``columns[i]`` is the column of ``task_labels[i]``)."""

    kind: str
    task_labels: list[str]
    model_labels: list[str]
    columns: list[int]
    multi_label: bool
    mapping: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_task(cls, task: TaskSpec, kind: str) -> HeadPolicy:
        if kind not in HEAD_POLICIES:
            raise ValueError(f"head must be one of {HEAD_POLICIES}, got {kind!r}")
        if kind == "new":
            labels = list(task.labels)
            return cls(kind, labels, labels, list(range(len(labels))), task.multi_label, {x: x for x in labels})
        mapping = task.taxonomy_map()
        model_labels = list(LABELS)
        columns = [model_labels.index(mapping[label]) for label in task.labels]
        return cls(kind, list(task.labels), model_labels, columns, task.multi_label, mapping)

    def to_model_data(self, data: LabeledData) -> LabeledData:
        """The task's examples relabelled into the model's label space (same examples, new label dicts)."""
        if self.kind == "new":
            return LabeledData(
                list(data.examples), list(self.model_labels), data.source, data.skipped, self.multi_label
            )
        examples = [
            Example(
                text=example.text,
                labels={
                    self.mapping[label]: level for label, level in example.labels.items() if label in self.mapping
                },
                context=example.context,
                speaker=example.speaker,
                id=example.id,
                group=example.group,
                meta=example.meta,
            )
            for example in data.examples
        ]
        return LabeledData(examples, list(self.model_labels), data.source, data.skipped, True)

    def task_scores(self, scores: np.ndarray) -> np.ndarray:
        """(n, n_model) model scores -> (n, n_task) scores of the task's columns, in task label order."""
        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[1] != len(self.model_labels):
            raise ValueError(f"expected scores of shape (n, {len(self.model_labels)}), got {scores.shape}")
        return scores[:, self.columns]

    def predict_single(self, scores: np.ndarray) -> np.ndarray:
        """Argmax over the task's columns: one task label index per row."""
        return self.task_scores(scores).argmax(axis=1)


def argmax_predictions(task_scores: np.ndarray) -> np.ndarray:
    """Single-label decision: one-hot (n, n_task) of the best-scoring class of each row."""
    out = np.zeros_like(task_scores, dtype=int)
    if len(task_scores):
        out[np.arange(len(task_scores)), task_scores.argmax(axis=1)] = 1
    return out


def fit_threshold_policy(
    dev_targets: np.ndarray, dev_scores: np.ndarray, label_names: list[str], kind: str = "global"
):
    """A ``ThresholdPolicy`` over the task's columns, chosen on a selection set (dev) for best macro-F1."""
    from emopillars.evaluation.thresholds import ThresholdPolicy

    return ThresholdPolicy.fit(dev_targets, dev_scores, list(label_names), kind=kind)
