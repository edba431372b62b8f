"""A training-only second head on the mean-pooled last hidden states.

Sentence encoders such as all-MiniLM-L6-v2 were trained with mean pooling: their first-token ([CLS])
state, which the stock ``*ForSequenceClassification`` head reads, starts out carrying little of the
sentence, and a stock head alone learns slowly (the rare classes not at all). This head reads the
mean of the token states, where the information already is, so from the first steps its loss gives
the encoder useful gradients, while the stock head learns alongside on the same targets. It is
discarded when the model is saved: the output directory stays a stock transformers model.
"""

from __future__ import annotations

import torch
from torch import nn


class MeanPoolingAuxHead(nn.Module):
    def __init__(self, hidden_size: int, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, n_labels)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
        pooled = (hidden_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled))
