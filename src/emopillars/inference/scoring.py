"""Batched scoring of encoded examples: the one inference loop shared by training (dev), prediction and serving.

Batches are sorted by length, so each one is padded only to its own longest item (on GoEmotions this halves
the tokens a fixed-order batch of 64 computes); scores come back in input order. The loop is the same for
every runtime: a *forward* function maps one padded batch to logits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import numpy as np
import torch

from emopillars.inference.encoding import Encoded, InputEncoder, sorted_batches

Forward = Callable[[dict[str, torch.Tensor]], np.ndarray]
"""A padded batch (``input_ids``, ``attention_mask``, maybe ``token_type_ids``) -> logits, shape (batch, labels)."""


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on this device, or nothing."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function in float32, without overflow for large negative logits."""
    logits = np.asarray(logits, dtype=np.float32)
    return (0.5 * (np.tanh(0.5 * logits) + 1.0)).astype(np.float32)


def score_batches(
    forward: Forward,
    encoder: InputEncoder,
    encoded: Sequence[Encoded],
    n_labels: int,
    batch_size: int = 64,
    progress=None,
) -> np.ndarray:
    """Sigmoid scores (n, n_labels) in input order, from any runtime's ``forward``."""
    if batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    out = np.zeros((len(encoded), n_labels), dtype=np.float32)
    for batch in sorted_batches([len(item) for item in encoded], batch_size):
        out[batch] = sigmoid(forward(encoder.collate([encoded[i] for i in batch])))
        if progress is not None:
            progress(len(batch))
    return out


def torch_forward(model, bf16: bool = False) -> Forward:
    """The forward function of a torch sequence classifier (on its own device, bf16 autocast when asked)."""
    device = next(model.parameters()).device

    def forward(inputs: dict[str, torch.Tensor]) -> np.ndarray:
        inputs = {k: v.to(device) for k, v in inputs.items()}
        with autocast(device, bf16):
            logits = model(**inputs).logits
        return logits.float().cpu().numpy()

    return forward


def score_encoded(
    model,
    encoder: InputEncoder,
    encoded: Sequence[Encoded],
    batch_size: int = 64,
    bf16: bool = False,
    progress=None,
) -> np.ndarray:
    """Sigmoid scores of a torch model (evaluation mode, no gradients); its training mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return score_batches(
                torch_forward(model, bf16), encoder, encoded, model.config.num_labels, batch_size, progress
            )
    finally:
        model.train(was_training)
