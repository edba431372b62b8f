"""Loading a trained model folder and predicting emotions with it, batched, on PyTorch or ONNX Runtime.

The folder is the one ``emopillars train`` writes (a plain transformers model, ``thresholds.json``: the
decision policy chosen on dev, ``training_config.json``: how inputs were encoded) or the one
``emopillars export --onnx`` writes (the same side files, ``model.onnx`` instead of the torch weights).
Context-aware models get ``(context [+ character], utterance)`` pairs encoded exactly as in training.
Everything below the class (checks, encoding, the batched loop, bf16 choice, ONNX) is the inference core in
:mod:`emopillars.inference`, which training uses too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emopillars.data.example import Example
from emopillars.evaluation.thresholds import ThresholdPolicy
from emopillars.inference.encoding import InputEncoder
from emopillars.inference.loading import (
    BACKENDS,
    EncodingSettings,
    check_model_dir,
    detect_backend,
    load_tokenizer,
    load_torch_model,
    model_id,
    model_labels,
    read_policy,
    with_kind,
)
from emopillars.inference.precision import Precision, resolve_bf16
from emopillars.inference.scoring import Forward, score_batches, torch_forward

log = logging.getLogger(__name__)


def as_examples(items: Sequence[Example | str | dict]) -> list[Example]:
    """Accept Examples, plain strings, or dicts with ``text`` (and optional ``context``, ``speaker``)."""
    out = []
    for item in items:
        if isinstance(item, Example):
            out.append(item)
        elif isinstance(item, str):
            out.append(Example(text=item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            out.append(Example(text=item["text"], context=item.get("context"), speaker=item.get("speaker")))
        else:
            raise ValueError(f"cannot predict on {type(item).__name__}: pass Example, str or {{'text': ...}}")
    return out


class EmotionClassifier:
    """A trained emotion classifier: scores per label and the labels its calibrated policy predicts."""

    def __init__(
        self,
        forward: Forward,
        encoder: InputEncoder,
        label_names: list[str],
        policy: ThresholdPolicy,
        *,
        backend: str = "torch",
        precision: Precision | None = None,
        model_dir: str | None = None,
        model=None,
    ):
        self.forward = forward
        self.encoder = encoder
        self.label_names = list(label_names)
        self.policy = policy
        self.backend = backend
        self.precision = precision or Precision(False, "off")
        self.model_dir = model_dir
        self.model = model  # the torch module (None on ONNX Runtime)
        self._model_id: str | None = None

    @property
    def context_aware(self) -> bool:
        return self.encoder.context_aware

    @property
    def bf16(self) -> bool:
        return self.precision.bf16

    @property
    def model_id(self) -> str:
        """``FOLDER@SHA256[:12]`` of the weights file (computed once, on first use)."""
        if self._model_id is None:
            self._model_id = model_id(Path(self.model_dir)) if self.model_dir else "in-memory"
        return self._model_id

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str | None = None,
        bf16: bool | str | None = "auto",
        num_threads: int | None = None,
        policy: str | None = None,
        backend: str | None = "auto",
    ) -> EmotionClassifier:
        """Load a model folder.

        ``backend``: ``torch``, ``onnx`` or ``auto`` (ONNX when the folder holds ``model.onnx`` and no torch
        weights). ``bf16``: ``auto`` (on only where the hardware has native bf16), True or False; torch only.
        ``policy`` overrides the saved decision kind (global/per_class/argmax).
        """
        import torch

        path = Path(model_dir).expanduser()
        chosen = detect_backend(path) if backend in (None, "auto") else backend
        if chosen not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: one of auto, {', '.join(BACKENDS)}")
        check_model_dir(path, weights=chosen == "torch")
        labels = model_labels(path)
        saved = read_policy(path, labels)
        if policy:
            saved = with_kind(saved, policy)
        settings = EncodingSettings.read(path)
        tokenizer = load_tokenizer(str(path))
        if num_threads:
            torch.set_num_threads(num_threads)
        if chosen == "onnx":
            from emopillars.inference.onnx import OnnxModel

            runner = OnnxModel(path, num_threads=num_threads)
            if bf16 is True:
                log.warning("bf16 applies to the torch backend only; ONNX Runtime runs its model as exported")
            encoder = InputEncoder.for_model(
                tokenizer, runner.hf_config, settings.max_length, settings.context_aware, settings.emoji
            )
            encoder.use_token_types = encoder.use_token_types and "token_type_ids" in runner.input_names
            precision = Precision(False, f"onnx {runner.quantization}")
            log.info("loaded %s on ONNX Runtime (%s)", path, runner.quantization)
            return cls(runner, encoder, labels, saved, backend="onnx", precision=precision, model_dir=str(path))
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model = load_torch_model(path, target).eval()
        precision = resolve_bf16(bf16, target)
        log.info("loaded %s on torch (%s), %s", path, target, precision.describe())
        encoder = InputEncoder.for_model(
            tokenizer, model.config, settings.max_length, settings.context_aware, settings.emoji
        )
        forward = torch_forward(model, precision.bf16)
        return cls(forward, encoder, labels, saved, precision=precision, model_dir=str(path), model=model)

    def predict_scores(
        self, examples: Sequence[Example | str | dict], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Sigmoid scores, shape (n, n_labels), in input order."""
        import torch

        encoded = self.encoder.encode(as_examples(examples))
        n = len(self.label_names)
        with torch.inference_mode():
            if not progress:
                return score_batches(self.forward, self.encoder, encoded, n, batch_size)
            from tqdm.auto import tqdm

            with tqdm(total=len(encoded), desc="predicting", unit="ex") as bar:
                return score_batches(self.forward, self.encoder, encoded, n, batch_size, progress=bar.update)

    def predict(
        self, examples: Sequence[Example | str | dict], batch_size: int = 64, progress: bool = False
    ) -> list[dict]:
        """``[{"labels": [...], "scores": {label: score}}]`` with labels chosen by the saved policy."""
        scores = self.predict_scores(examples, batch_size=batch_size, progress=progress)
        return self.decode(scores)

    def decode(self, scores: np.ndarray) -> list[dict]:
        """Scores -> ``{"labels": chosen labels, highest score first, "scores": {label: score}}`` per row."""
        decisions = self.policy.apply(scores) if len(scores) else np.zeros_like(scores, dtype=np.int8)
        out = []
        for row, chosen in zip(scores, decisions):
            picked = sorted(np.flatnonzero(chosen).tolist(), key=lambda i: -row[i])
            out.append(
                {
                    "labels": [self.label_names[i] for i in picked],
                    "scores": {name: float(row[i]) for i, name in enumerate(self.label_names)},
                }
            )
        return out

    def metadata(self) -> dict:
        """What a client needs to know about this model: labels, thresholds, encoding, runtime."""
        return {
            "model_id": self.model_id,
            "labels": self.label_names,
            "thresholds": {
                "kind": self.policy.kind,
                "by_label": dict(zip(self.label_names, self.policy.thresholds(len(self.label_names)).tolist())),
                "global_threshold": self.policy.global_threshold,
            },
            "context_aware": self.context_aware,
            "max_length": self.encoder.max_length,
            "emoji": self.encoder.emoji,
            "backend": self.backend,
            "bf16": self.bf16,
            "precision": self.precision.describe(),
        }
