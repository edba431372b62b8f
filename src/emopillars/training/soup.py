"""A model soup: one model whose encoder is the average of several fine-tuned ones (Wortsman et al., 2022).

Runs fine-tuned from the same pretrained encoder with different seeds stay in one basin of the loss, so the
uniform average of their encoder weights is one model of the same size that is often as good as their
ensemble (which costs the members' size at inference). Measured on GoEmotions with all-mpnet-base-v2, seeds 13
and 14 (BENCHMARKS.md): test macro-F1 0.538 / 0.543 for the members, 0.549 for their two-model ensemble (220M),
0.561 for the soup with its head refit (110M), each with a global threshold chosen on dev.

The classification heads are *not* averaged: each run starts its head from its own random weights, so the
heads of two runs have nothing in common (cosine similarity of their weights ~0.00) and their average is
noise. The soup keeps the first member's head; the caller refits it on the frozen soup encoder
(``TrainConfig.freeze_encoder``), which is cheap: one forward pass over the training data per epoch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from emopillars.files import replace_folder
from emopillars.inference.loading import load_tokenizer, quiet_transformers
from emopillars.training.config import CONFIG_FILE, TrainConfig

log = logging.getLogger(__name__)

SOUP_FILE = "soup.json"


def _load(folder: Path):
    from transformers import AutoModelForSequenceClassification

    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no fine-tuned model (no config.json): was the model kept?")
    with quiet_transformers():
        return AutoModelForSequenceClassification.from_pretrained(folder, dtype="float32")


def encoder_parameter(name: str, prefix: str) -> bool:
    """True for the weights of the pretrained encoder (averaged); the rest is the head (kept from member 1)."""
    return name.startswith(prefix + ".")


def soup_models(members: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Average the encoders of ``members`` (fine-tuned model folders of one architecture and label set) into
    ``out_dir``; the head is the first member's. ``out_dir`` is a checkpoint (training config included) that
    training can start from with ``init_from`` and ``head="keep"``."""
    import torch

    folders = [Path(member) for member in members]
    if len(folders) < 2:
        raise ValueError(f"a soup needs at least two models, got {len(folders)}")
    first = _load(folders[0])
    prefix = first.base_model_prefix
    state = {name: value.detach().clone().float() for name, value in first.state_dict().items()}
    averaged = [name for name in state if encoder_parameter(name, prefix) and state[name].is_floating_point()]
    if not averaged:
        raise ValueError(f"{folders[0]}: no encoder weights under {prefix!r} to average")
    labels = first.config.id2label
    for folder in folders[1:]:
        other = _load(folder)
        if type(other) is not type(first) or other.config.id2label != labels:
            raise ValueError(f"{folder} is not the same architecture and label set as {folders[0]}: no soup")
        theirs = other.state_dict()
        mismatch = [name for name in averaged if name not in theirs or theirs[name].shape != state[name].shape]
        if mismatch:
            raise ValueError(f"{folder} differs from {folders[0]} in {mismatch[:3]}: no soup")
        for name in averaged:
            state[name] += theirs[name].float()
        del other, theirs
    with torch.no_grad():
        for name in averaged:
            state[name] /= len(folders)
    first.load_state_dict(state)
    out = Path(out_dir)
    config = TrainConfig.load(folders[0]) if (folders[0] / CONFIG_FILE).is_file() else None
    with replace_folder(out) as staging:
        with quiet_transformers():
            first.save_pretrained(staging)
            load_tokenizer(str(folders[0])).save_pretrained(staging)
        if config is not None:
            config.output_dir = str(out)
            config.save(staging)
        record = {"members": [str(f) for f in folders], "averaged": len(averaged), "kept": len(state) - len(averaged)}
        (staging / SOUP_FILE).write_text(json.dumps(record, indent=2) + "\n")
    log.info("soup of %d models in %s: %d tensors averaged, head of %s", len(folders), out, len(averaged), folders[0])
    return out
