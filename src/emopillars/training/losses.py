"""Multi-label loss: one sigmoid per class, binary cross-entropy, hard or soft targets.

GoEmotions-like data is very imbalanced (neutral ~1/3 of labels, grief < 0.2%). Plain BCE lets the
rare classes collapse to "never"; a positive-class weight of ``sqrt(neg/pos)`` clipped to
``[1, cap]`` raises their gradient without the instability of the full ``neg/pos`` ratio.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def positive_class_weights(targets: np.ndarray, cap: float) -> torch.Tensor | None:
    """``clip(sqrt(neg/pos), 1, cap)`` per class from the (n, k) training targets; ``None`` when ``cap`` is 0.

    Soft targets count by their mass, so a class labelled 0.3 everywhere counts less than one at 1.0.
    """
    if not cap:
        return None
    targets = np.asarray(targets, dtype=np.float64)
    pos = targets.sum(axis=0)
    neg = targets.shape[0] - pos
    ratio = np.sqrt(neg / np.maximum(pos, 1.0))
    return torch.tensor(np.clip(ratio, 1.0, cap), dtype=torch.float32)


class MultiLabelLoss(nn.Module):
    """BCE with logits over all classes; targets in [0, 1] (hard 0/1 or soft levels)."""

    def __init__(self, pos_weight: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("pos_weight", pos_weight if pos_weight is not None else None, persistent=False)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        weight = self.pos_weight.to(logits.device) if self.pos_weight is not None else None
        return nn.functional.binary_cross_entropy_with_logits(
            logits.float(), targets.float(), pos_weight=weight, reduction="mean"
        )
