"""An adapted model's task and head (it remembers them), and its task scores on one of the task's splits,
computed once and cached beside the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emopillars.adapt.decide import load_adapted
from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.run import load_split
from emopillars.adapt.tasks import TaskSpec
from emopillars.data.example import LabeledData


def adapted_task(model_dir: Path) -> tuple[TaskSpec, HeadPolicy]:
    """The task and head policy an ``emopillars adapt`` model was adapted with (exits with a message otherwise)."""
    saved = load_adapted(model_dir)
    if saved is None:
        raise SystemExit(f"{model_dir} does not remember its task (no adapted_task.json): adapt it first")
    task = TaskSpec.model_validate(saved["task"])
    return task, HeadPolicy.for_task(task, saved["head"])


def split_scores(model_dir: Path, task: TaskSpec, head: HeadPolicy, split: str) -> tuple[np.ndarray, LabeledData]:
    """(scores over the task's columns, the split's rows); the scores are cached in ``{split}_scores.npz``."""
    data = load_split(task, split)
    cache = model_dir / f"{split}_scores.npz"
    if cache.is_file():
        scores = np.load(cache)["scores"]
        if len(scores) == len(data):
            return scores, data
    from emopillars.serving import EmotionClassifier

    classifier = EmotionClassifier.load(model_dir)
    scores = head.task_scores(classifier.predict_scores(data.examples, batch_size=64, progress=True))
    np.savez(cache, scores=scores)
    return scores, data
