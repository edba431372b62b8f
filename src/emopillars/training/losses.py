"""Losses: one sigmoid per class with binary cross-entropy (multi-label), or a softmax over some columns.

GoEmotions-like data is very imbalanced (neutral ~1/3 of labels, grief < 0.2%). Plain BCE lets the
rare classes collapse to "never"; a positive-class weight of ``sqrt(neg/pos)`` clipped to
``[1, cap]`` raises their gradient without the instability of the full ``neg/pos`` ratio.

Single-label tasks (ISEAR, EmoContext) have exactly one class per example: cross-entropy over the task's
columns (``SoftmaxLoss``) is the loss their literature uses, makes the classes compete, and gives scores
whose log-ratios a class-prior correction can shift (see ``evaluation/decision.py``). Under the ``keep``
head the model still has 28 outputs; the columns outside the task get no gradient.
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


class SoftmaxLoss(nn.Module):
    """Cross-entropy over ``columns`` of the logits; the target class is the argmax of the targets there.

    ``class_weight`` (one per column) re-weights the classes (``None``: equal).
    """

    def __init__(self, columns: list[int] | None = None, class_weight: torch.Tensor | None = None):
        super().__init__()
        self.columns = None if columns is None else list(columns)
        self.register_buffer("class_weight", class_weight, persistent=False)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.columns is not None:
            logits, targets = logits[:, self.columns], targets[:, self.columns]
        weight = self.class_weight.to(logits.device) if self.class_weight is not None else None
        return nn.functional.cross_entropy(logits.float(), targets.float().argmax(dim=1), weight=weight)
