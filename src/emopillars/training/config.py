"""Training settings: one dataclass that validates itself and round-trips through ``training_config.json``.

The file is saved beside the model, so prediction rebuilds exactly the input encoding used in training
(context-aware or not, maximum length) without being told again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from emopillars.inference.emoji_text import EMOJI_MODES
from emopillars.inference.precision import parse_bf16

CONFIG_FILE = "training_config.json"
POLICIES = ("auto", "global", "per_class", "argmax")
HEADS = ("keep", "new")
POOLER_INITS = ("keep", "reinit", "identity")
POOLINGS = ("mean", "cls")
LOSSES = ("bce", "softmax")


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    ``model``: a hub id, a local HF directory, or an alias (``minilm``, ``mpnet``).
    ``init_from``: a model directory trained earlier (by this toolkit) to continue from; ``head="new"``
    re-initialises the classification layer (other label set), ``"keep"`` reuses it (same labels).
    ``head_lr``: learning rate of the pooler + classifier (``None``: same as ``lr``). A freshly initialised head
    learns slowly at the body's 1e-4: on ISEAR (2,500 rows, 2 epochs) the model collapsed onto 2 of 7 classes
    (accuracy 0.23) with ``head_lr=None`` and reached accuracy 0.57 / macro-F1 0.56 with 2e-3.
    ``pos_weight``: cap of the per-class positive weight ``clip(sqrt(neg/pos), 1, cap)``; 0 turns it off.
    ``pooling``: ``mean`` appends a frozen mean-pooling layer that the stock head reads (see ``pooling.py``;
    the model still loads with AutoModelForSequenceClassification), ``cls`` keeps the stock first-token pooler.
    ``pooler_init``: ``keep`` the encoder's pooler, or ``reinit`` / ``identity`` it before fine-tuning.
    ``bf16``: ``"auto"`` (or ``None``) = on only where the hardware has native bf16 (CUDA bf16, a CPU with
    AVX512-BF16 or AMX; see :mod:`emopillars.inference.precision`), ``True``/``False`` forces it.
    ``threshold_policy``: ``auto`` picks global or per-class thresholds by cross-fitted dev macro-F1.
    ``layer_lr_decay``: layer-wise learning-rate decay; encoder layer ``i`` (0-based) of ``L`` trains at
    ``lr * decay**(L - 1 - i)`` (the top layer at ``lr``), the embeddings at ``lr * decay**L`` (1.0 = off).
    ``early_stopping``: stop after this many epochs without a better dev score (``None`` = run every epoch);
    the saved model is always the best epoch's.
    ``loss``: ``bce`` (one sigmoid per label, multi-label) or ``softmax`` (cross-entropy over ``loss_labels``,
    all labels when unset: for single-label tasks; the other columns get no gradient).
    ``fp16``: fp16 autocast with loss scaling (GPUs without bf16); excludes ``bf16=True``.
    ``emoji``: ``keep`` the text as it is, or ``names``: spell each emoji out in words before tokenising (for
    chat text and encoders whose vocabulary maps emoji to ``[UNK]``; see :mod:`emopillars.inference.emoji_text`).
    ``gradient_checkpointing``: recompute activations in the backward pass (less memory, ~30% more time), so
    roberta-large fits at the paper's batch sizes; with ``grad_accum`` the batch is ``batch_size * grad_accum``.
    ``freeze_encoder``: train the head alone (pooler + classifier, at ``head_lr``); the encoder keeps its loaded
    weights and runs without dropout. Linear probing, and the head refit of a model soup (:mod:`.soup`).
    """

    model: str = "minilm"
    output_dir: str = "model"
    epochs: int = 3
    lr: float = 1e-4
    head_lr: float | None = 2e-3
    batch_size: int = 32
    grad_accum: int = 1
    max_length: int | None = None
    context_aware: bool = False
    soft_targets: bool = False
    label_threshold: float = 0.3
    pos_weight: float = 10.0
    pooling: str = "mean"
    pooler_init: str = "keep"
    limit: int | None = None
    dev_limit: int | None = None
    seed: int = 42
    bf16: bool | str | None = "auto"
    fp16: bool = False
    gradient_checkpointing: bool = False
    freeze_encoder: bool = False
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_every_epoch: bool = True
    label_names: list[str] | None = None
    init_from: str | None = None
    head: str = "new"
    threshold_policy: str = "auto"
    num_threads: int | None = None
    resume: bool = False
    layer_lr_decay: float = 1.0
    early_stopping: int | None = None
    loss: str = "bce"
    loss_labels: list[str] | None = None
    emoji: str = "keep"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.bf16 = parse_bf16(self.bf16)
        except ValueError as exc:
            raise ValueError(f"TrainConfig.{exc}") from None
        if self.fp16 and self.bf16 is True:
            raise ValueError("TrainConfig: choose bf16 or fp16, not both")
        if self.max_length is None:
            self.max_length = 256 if self.context_aware else 128
        positive_ints = {"epochs": self.epochs, "batch_size": self.batch_size, "grad_accum": self.grad_accum}
        positive_ints["max_length"] = self.max_length
        for name, value in positive_ints.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        if self.max_length < 8:
            raise ValueError(f"TrainConfig.max_length must be at least 8, got {self.max_length}")
        for name in ("limit", "dev_limit", "num_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"TrainConfig.{name} must be a positive integer or None, got {value!r}")
        if not (0 < self.lr < 1):
            raise ValueError(f"TrainConfig.lr must be in (0, 1), got {self.lr!r}")
        if self.head_lr is not None and not (0 < self.head_lr < 1):
            raise ValueError(f"TrainConfig.head_lr must be in (0, 1) or None, got {self.head_lr!r}")
        if not (0 <= self.warmup_ratio < 1):
            raise ValueError(f"TrainConfig.warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.weight_decay < 0:
            raise ValueError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.max_grad_norm < 0:
            raise ValueError(f"TrainConfig.max_grad_norm must be >= 0 (0 = no clipping), got {self.max_grad_norm!r}")
        if self.pos_weight < 0 or (0 < self.pos_weight < 1):
            raise ValueError(f"TrainConfig.pos_weight must be 0 (off) or a cap >= 1, got {self.pos_weight!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"TrainConfig.pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.pooler_init not in POOLER_INITS:
            raise ValueError(f"TrainConfig.pooler_init must be one of {POOLER_INITS}, got {self.pooler_init!r}")
        if not (0 < self.label_threshold <= 1):
            raise ValueError(f"TrainConfig.label_threshold must be in (0, 1], got {self.label_threshold!r}")
        if self.threshold_policy not in POLICIES:
            raise ValueError(f"TrainConfig.threshold_policy must be one of {POLICIES}, got {self.threshold_policy!r}")
        if not (0 < self.layer_lr_decay <= 1):
            raise ValueError(f"TrainConfig.layer_lr_decay must be in (0, 1], got {self.layer_lr_decay!r}")
        if self.early_stopping is not None and (not isinstance(self.early_stopping, int) or self.early_stopping < 1):
            raise ValueError(f"TrainConfig.early_stopping must be a positive integer or None: {self.early_stopping!r}")
        if self.emoji not in EMOJI_MODES:
            raise ValueError(f"TrainConfig.emoji must be one of {EMOJI_MODES}, got {self.emoji!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"TrainConfig.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.loss_labels is not None:
            self.loss_labels = list(self.loss_labels)
            if len(self.loss_labels) < 2 or len(set(self.loss_labels)) != len(self.loss_labels):
                raise ValueError("TrainConfig.loss_labels must list at least 2 unique labels")
            if self.label_names is not None and set(self.loss_labels) - set(self.label_names):
                raise ValueError("TrainConfig.loss_labels must be among label_names")
        if self.head not in HEADS:
            raise ValueError(f"TrainConfig.head must be one of {HEADS}, got {self.head!r}")
        if not self.model:
            raise ValueError("TrainConfig.model must name a model (alias, directory or hub id)")
        if not self.output_dir:
            raise ValueError("TrainConfig.output_dir must not be empty")
        if self.label_names is not None:
            if not self.label_names or len(set(self.label_names)) != len(self.label_names):
                raise ValueError("TrainConfig.label_names must be a non-empty list of unique names")
            self.label_names = list(self.label_names)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accum

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Rebuild from a dict; unknown keys (from a newer version) are kept in ``extra``, not fatal."""
        known = {f.name for f in fields(cls)}
        kwargs = {key: value for key, value in data.items() if key in known}
        unknown = {key: value for key, value in data.items() if key not in known}
        if unknown:
            kwargs["extra"] = {**kwargs.get("extra", {}), **unknown}
        return cls(**kwargs)

    def save(self, directory: str | Path) -> Path:
        """Write ``training_config.json`` into ``directory`` atomically (never half a file)."""
        from emopillars.files import atomic_write_json

        path = Path(directory) / CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, directory: str | Path) -> TrainConfig:
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {directory} a model trained by emopillars?")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)
