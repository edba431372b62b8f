"""Loading a trained model directory and predicting emotions with it, batched.

The directory is the one ``emopillars train`` writes: a plain transformers model, ``thresholds.json``
(the decision policy chosen on dev) and ``training_config.json`` (how inputs were encoded). Context-aware
models get ``(context [+ character], utterance)`` pairs encoded exactly as in training.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from emopillars.data.example import Example
from emopillars.evaluation.thresholds import THRESHOLDS_FILE, ThresholdPolicy
from emopillars.training.config import CONFIG_FILE, TrainConfig
from emopillars.training.encoding import InputEncoder
from emopillars.training.model import load_tokenizer, quiet_transformers
from emopillars.training.scoring import bf16_default, score_encoded

log = logging.getLogger(__name__)


def as_examples(items: Sequence[Example | str | dict]) -> list[Example]:
    """Accept Examples, plain strings, or dicts with ``text`` (and optional ``context``, ``speaker``)."""
    out = []
    for item in items:
        if isinstance(item, Example):
            out.append(item)
        elif isinstance(item, str):
            out.append(Example(text=item))
        elif isinstance(item, dict) and "text" in item:
            out.append(Example(text=item["text"], context=item.get("context"), speaker=item.get("speaker")))
        else:
            raise ValueError(f"cannot predict on {type(item).__name__}: pass Example, str or {{'text': ...}}")
    return out


class EmotionClassifier:
    """A trained emotion classifier: scores per label and the labels its calibrated policy predicts."""

    def __init__(
        self,
        model,
        tokenizer,
        policy: ThresholdPolicy,
        config: TrainConfig | None = None,
        bf16: bool = False,
        model_dir: str | None = None,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.policy = policy
        self.config = config
        self.bf16 = bf16
        self.model_dir = model_dir
        self.label_names = [model.config.id2label[i] for i in range(model.config.num_labels)]
        context_aware = bool(config.context_aware) if config else False
        max_length = config.max_length if config else 128
        self.encoder = InputEncoder.for_model(tokenizer, model.config, max_length, context_aware)

    @property
    def context_aware(self) -> bool:
        return self.encoder.context_aware

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str | None = None,
        bf16: bool | None = None,
        num_threads: int | None = None,
        policy: str | None = None,
    ) -> EmotionClassifier:
        """Load a model directory; ``policy`` overrides the saved decision kind (global/per_class/argmax)."""
        from transformers import AutoModelForSequenceClassification

        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a model directory (no config.json)")
        if num_threads:
            torch.set_num_threads(num_threads)
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(path).to(target)
        tokenizer = load_tokenizer(str(path))
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        config = TrainConfig.load(path) if (path / CONFIG_FILE).is_file() else None
        if config is None:
            log.warning("%s has no %s: encoding inputs context-less, max length 128", path, CONFIG_FILE)
        if (path / THRESHOLDS_FILE).is_file():
            saved = ThresholdPolicy.load(path)
        else:
            log.warning("%s has no %s: using one global threshold of 0.5", path, THRESHOLDS_FILE)
            saved = ThresholdPolicy(kind="global", global_threshold=0.5, label_names=labels)
        if saved.label_names and saved.label_names != labels:
            raise ValueError(f"{path}: thresholds.json labels differ from the model's id2label")
        if policy:
            saved = _with_kind(saved, policy)
        use_bf16 = bf16_default(target) if bf16 is None else bool(bf16)
        return cls(model, tokenizer, saved, config, bf16=use_bf16, model_dir=str(path))

    def predict_scores(
        self, examples: Sequence[Example | str | dict], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Sigmoid scores, shape (n, n_labels), in input order."""
        items = as_examples(examples)
        encoded = self.encoder.encode(items)
        if not progress:
            return score_encoded(self.model, self.encoder, encoded, batch_size=batch_size, bf16=self.bf16)
        from tqdm.auto import tqdm

        with tqdm(total=len(encoded), desc="predicting", unit="ex") as bar:
            return score_encoded(self.model, self.encoder, encoded, batch_size, self.bf16, progress=bar.update)

    def predict(
        self, examples: Sequence[Example | str | dict], batch_size: int = 64, progress: bool = False
    ) -> list[dict]:
        """``[{"labels": [...], "scores": {label: score}}]`` with labels chosen by the saved policy."""
        scores = self.predict_scores(examples, batch_size=batch_size, progress=progress)
        return self.decode(scores)

    def decode(self, scores: np.ndarray) -> list[dict]:
        decisions = self.policy.apply(scores) if len(scores) else np.zeros_like(scores, dtype=np.int8)
        out = []
        for row, chosen in zip(scores, decisions):
            labels = [self.label_names[i] for i in np.flatnonzero(chosen)]
            labels.sort(key=lambda name: -row[self.label_names.index(name)])
            out.append({"labels": labels, "scores": {name: float(row[i]) for i, name in enumerate(self.label_names)}})
        return out


def _with_kind(policy: ThresholdPolicy, kind: str) -> ThresholdPolicy:
    if kind not in ThresholdPolicy.KINDS:
        raise ValueError(f"unknown threshold policy {kind!r}: one of {', '.join(ThresholdPolicy.KINDS)}")
    if kind == "per_class" and not policy.per_class:
        raise ValueError("this model has no per-class thresholds saved")
    return ThresholdPolicy.from_dict({**policy.to_dict(), "kind": kind})
