"""Batched scoring of encoded examples: the one inference loop shared by training (dev) and prediction."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch

from emopillars.training.encoding import Encoded, InputEncoder, sorted_batches


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on this device, or nothing."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def bf16_default(device: torch.device) -> bool:
    """Automatic bf16: on where CUDA supports it; on CPU only when asked (it is opt-in there)."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def score_encoded(
    model,
    encoder: InputEncoder,
    encoded: Sequence[Encoded],
    batch_size: int = 64,
    bf16: bool = False,
    progress=None,
) -> np.ndarray:
    """Sigmoid scores (n, n_labels) in input order; batches are sorted by length to cut padding."""
    n_labels = model.config.num_labels
    out = np.zeros((len(encoded), n_labels), dtype=np.float32)
    if not encoded:
        return out
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in sorted_batches([len(item) for item in encoded], batch_size):
                inputs = {k: v.to(device) for k, v in encoder.collate([encoded[i] for i in batch]).items()}
                with autocast(device, bf16):
                    logits = model(**inputs).logits
                out[batch] = torch.sigmoid(logits.float()).cpu().numpy()
                if progress is not None:
                    progress(len(batch))
    finally:
        model.train(was_training)
    return out
