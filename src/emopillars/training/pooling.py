"""Mean pooling inside a stock ``*ForSequenceClassification`` model: one extra, frozen encoder layer.

Why: sentence encoders such as all-MiniLM-L6-v2 were trained with *mean* pooling. The stock
classification head reads the first token ([CLS]) through the pooler instead, and on this checkpoint it
barely learns (measured: dev macro-F1 0.07-0.12 with a CLS head vs 0.21 with a mean-pooling head, same
data and recipe). A custom head would fix that but would no longer load with
``AutoModelForSequenceClassification`` / ``pipeline`` unchanged.

How: a BERT-style (post-LayerNorm) layer can compute the masked mean exactly enough. We append one layer
whose query and key weights are zero, so every token attends uniformly to all non-padding tokens (the
same tokens sentence-transformers averages: [CLS] and [SEP] included); its value and output projections
are ``scale * identity``, so after the residual connection the first token holds
``LayerNorm(scale * mean + h_cls) ~= LayerNorm(mean)`` (LayerNorm is scale-invariant, and ``h_cls/scale``
vanishes); its feed-forward block is zero, so the second LayerNorm leaves that unchanged. The stock pooler
(dense + tanh, reset to identity) and classifier then read the normalised mean embedding. The layer is
frozen during training. The saved config simply says ``num_hidden_layers + 1``, and
``emopillars_pooling: "mean"`` records why.
"""

from __future__ import annotations

import copy
import logging

import torch

log = logging.getLogger(__name__)

POOLING_KEY = "emopillars_pooling"
DEFAULT_SCALE = 1e4


def _bert_style_layers(model):
    """The encoder's layer list when its layers have the BERT (post-LN) structure, else None."""
    encoder = getattr(model.base_model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList) or not len(layers):
        return None
    last = layers[-1]
    try:
        parts = (
            last.attention.self.query,
            last.attention.self.key,
            last.attention.self.value,
            last.attention.output.dense,
            last.attention.output.LayerNorm,
            last.intermediate.dense,
            last.output.dense,
            last.output.LayerNorm,
        )
    except AttributeError:
        return None
    if not all(isinstance(p, torch.nn.Module) for p in parts):
        return None
    if getattr(model.config, "position_embedding_type", "absolute") not in ("absolute", None):
        return None  # relative position scores would make the attention non-uniform
    return layers


def supports_mean_pooling(model) -> bool:
    return _bert_style_layers(model) is not None


def add_mean_pooling_layer(model, scale: float = DEFAULT_SCALE) -> bool:
    """Append the frozen mean-pooling layer and reset the pooler to identity; False when unsupported."""
    if getattr(model.config, POOLING_KEY, None) == "mean":
        return True
    layers = _bert_style_layers(model)
    if layers is None:
        log.warning("%s has no BERT-style layers: keeping first-token (CLS) pooling", type(model).__name__)
        return False
    layer = copy.deepcopy(layers[-1])
    hidden = model.config.hidden_size
    eye = torch.eye(hidden)
    with torch.no_grad():
        for linear in (layer.attention.self.query, layer.attention.self.key):
            linear.weight.zero_()
            linear.bias.zero_()
        layer.attention.self.value.weight.copy_(eye)
        layer.attention.self.value.bias.zero_()
        layer.attention.output.dense.weight.copy_(eye * scale)
        layer.attention.output.dense.bias.zero_()
        for norm in (layer.attention.output.LayerNorm, layer.output.LayerNorm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        for linear in (layer.intermediate.dense, layer.output.dense):
            linear.weight.zero_()
            linear.bias.zero_()
    for module in layer.modules():
        if hasattr(module, "layer_idx"):
            module.layer_idx = len(layers)
    layers.append(layer)
    model.config.num_hidden_layers = len(layers)
    setattr(model.config, POOLING_KEY, "mean")
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None and hasattr(pooler, "dense"):
        with torch.no_grad():
            pooler.dense.weight.copy_(eye)
            pooler.dense.bias.zero_()
    freeze_pooling_layer(model)
    return True


def freeze_pooling_layer(model) -> None:
    """Keep the mean-pooling layer fixed while the rest trains (a no-op for CLS-pooled models)."""
    if getattr(model.config, POOLING_KEY, None) != "mean":
        return
    layers = _bert_style_layers(model)
    if layers is not None:
        for param in layers[-1].parameters():
            param.requires_grad_(False)
