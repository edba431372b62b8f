"""Fine-tuning an encoder as a multi-label emotion classifier, with dev evaluation, checkpoints and calibration.

The output directory is a plain ``transformers`` model directory (``AutoModelForSequenceClassification`` and
``pipeline("text-classification", top_k=None)`` load it unchanged: id2label set, multi-label problem type so the
pipeline applies a sigmoid), plus ``thresholds.json`` (the calibrated decision policy),
``training_config.json`` and ``train_summary.json``. ``checkpoint/`` holds the last finished epoch with the
optimizer and scheduler state, so an interrupted run resumes where it stopped.

Under ``torchrun --nproc_per_node N`` (or ``accelerate launch``) the same function trains data-parallel:
see :mod:`emopillars.training.distributed` (the same global batches, dev metrics of the whole dev set,
rank 0 alone writes). Mixed precision (bf16 / fp16) is :mod:`emopillars.training.amp`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from emopillars.data.example import LabeledData
from emopillars.evaluation.metrics import multilabel_report
from emopillars.evaluation.thresholds import ThresholdPolicy, best_global_threshold
from emopillars.files import replace_folder
from emopillars.inference.encoding import InputEncoder, iterate_batches, length_grouped_batches
from emopillars.inference.loading import load_tokenizer, quiet_transformers
from emopillars.inference.precision import resolve_bf16
from emopillars.inference.scoring import score_encoded
from emopillars.training import distributed
from emopillars.training.amp import Amp
from emopillars.training.calibration import choose_policy
from emopillars.training.config import TrainConfig
from emopillars.training.losses import MultiLabelLoss, SoftmaxLoss, positive_class_weights
from emopillars.training.model import build_model, resolve_model
from emopillars.training.model_card import write_model_card

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
SUMMARY_FILE = "train_summary.json"


@dataclass
class TrainResult:
    """What a run produced and how it went."""

    model_dir: str
    policy: ThresholdPolicy
    dev_metrics: dict | None = None
    train_examples_per_s: float = 0.0
    wall_time_s: float = 0.0
    epochs_run: int = 0
    best_epoch: int | None = None
    history: list[dict] = field(default_factory=list)
    selection_metric: str = "macro_f1"
    stopped_early: bool = False
    resumed_train_s: float = 0.0
    """Epoch seconds restored from a checkpoint: training done by an earlier, interrupted process."""
    dev_scores: np.ndarray | None = field(default=None, repr=False)
    """The best epoch's scores on the dev data (what the policy was calibrated on); not saved."""

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("dev_scores")
        data["policy"] = self.policy.to_dict()
        return data


@dataclass
class _State:
    """Progress that a checkpoint restores."""

    epochs_done: int = 0
    best_score: float = -1.0
    best_epoch: int | None = None
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    train_examples: int = 0
    stopped_early: bool = False


@dataclass
class Selection:
    """How the best epoch is chosen: ``score(dev_scores) -> float``, higher is better, on the model's columns.

    The default (``None`` in ``train``) is the macro-F1 over all labels at the best global threshold. A task
    passes its own metric instead (ISEAR: argmax macro-F1 over its 7 columns; EmoContext: the official
    micro-F1), so the epoch kept is the one the task would report best.
    """

    name: str
    score: Callable[[np.ndarray], float]


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_threads(num_threads: int | None) -> int:
    """Use every core by default (torch often starts with fewer on small VMs)."""
    threads = num_threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads


def limit_data(data: LabeledData, limit: int | None, seed: int) -> LabeledData:
    """A seeded random sample of ``limit`` rows (all rows when ``limit`` is None or larger)."""
    if limit is None or limit >= len(data):
        return data
    rows = sorted(random.Random(seed).sample(range(len(data)), limit))
    return data.subset(rows)


def _check_labels(config: TrainConfig, train_data: LabeledData, dev_data: LabeledData | None) -> list[str]:
    labels = list(config.label_names or train_data.label_names)
    if list(train_data.label_names) != labels:
        raise ValueError(f"training data labels {train_data.label_names} differ from the configured {labels}")
    if dev_data is not None and list(dev_data.label_names) != labels:
        raise ValueError(f"dev data labels {dev_data.label_names} differ from the training labels {labels}")
    if len(train_data) == 0:
        raise ValueError("the training data is empty")
    return labels


_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def _depth(name: str, n_layers: int) -> int:
    """Where a parameter sits: 0 for the embeddings, ``i + 1`` for encoder layer ``i``, ``n_layers + 1`` for the
    rest of the body (a shared relative-position bias, final norms)."""
    match = _LAYER.search(name)
    if match:
        return int(match.group(1)) + 1
    if "embeddings" in name:
        return 0
    return n_layers + 1


def is_head_parameter(name: str) -> bool:
    """The head: classifier and pooler (trained at ``head_lr``; all that trains with ``freeze_encoder``)."""
    return name.startswith(("classifier", "pooler")) or ".pooler." in name


def freeze_encoder(model) -> None:
    """Leave only the head trainable (``TrainConfig.freeze_encoder``)."""
    for name, param in model.named_parameters():
        if not is_head_parameter(name):
            param.requires_grad_(False)


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases and norms; the head (pooler + classifier) may get its own lr.

    With ``layer_lr_decay < 1`` each encoder layer trains at ``lr * decay**(top - depth)``: the lower layers,
    which hold general language knowledge, move less than the top ones (Howard & Ruder 2018; Sun et al.
    2019 for BERT text classification).
    """
    named = [(name, param) for name, param in model.named_parameters() if param.requires_grad]
    if not named:
        raise ValueError(f"{type(model).__name__} has no trainable parameters (freeze_encoder found no head?)")
    depths = [_LAYER.search(name) for name, _ in named]
    n_layers = max((int(m.group(1)) + 1 for m in depths if m), default=0)
    groups: dict[tuple[bool, bool, int], list] = {}
    for name, param in named:
        is_head = is_head_parameter(name)
        no_decay = param.ndim < 2
        depth = 0 if is_head else _depth(name, n_layers)
        groups.setdefault((is_head, no_decay, depth), []).append(param)
    param_groups = []
    for (is_head, no_decay, depth), params in groups.items():
        if is_head:
            lr = config.head_lr or config.lr
        else:
            lr = config.lr * config.layer_lr_decay ** (n_layers - depth) if depth <= n_layers else config.lr
        param_groups.append({"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else config.weight_decay})
    return torch.optim.AdamW(param_groups)


def _scheduler(optimizer, total_steps: int, warmup_ratio: float):
    """Linear warmup then linear decay to 0."""
    warmup = int(round(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _save_model(model, tokenizer, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)


def _save_checkpoint(
    directory: Path, model, tokenizer, optimizer, scheduler, state: _State, config: TrainConfig, amp: Amp | None = None
):
    """Write the checkpoint to a temporary folder and swap it in, so a kill never leaves half a checkpoint."""
    with replace_folder(directory) as staging:
        _save_model(model, tokenizer, staging)
        torch.save(optimizer.state_dict(), staging / "optimizer.pt")
        torch.save(scheduler.state_dict(), staging / "scheduler.pt")
        if amp is not None and amp.scaler is not None:
            torch.save(amp.state_dict(), staging / "scaler.pt")
        rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
        torch.save(rng, staging / "rng.pt")
        (staging / "state.json").write_text(json.dumps(asdict(state), indent=2))
        config.save(staging)


def _load_state(directory: Path) -> _State:
    data = json.loads((directory / "state.json").read_text())
    return _State(**data)


def train(
    config: TrainConfig,
    train_data: LabeledData,
    dev_data: LabeledData | None = None,
    progress: bool = True,
    selection: Selection | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``train_data``; evaluate on ``dev_data`` each epoch; calibrate; save.

    ``selection`` chooses the best epoch (default: thresholded macro-F1 over all labels, see ``Selection``).
    """
    start = time.perf_counter()
    dist = distributed.setup()
    configure_threads(config.num_threads or (dist.default_threads() if dist.enabled else None))
    set_seed(config.seed)
    labels = _check_labels(config, train_data, dev_data)
    config.label_names = labels
    out = Path(config.output_dir)
    checkpoint = out / CHECKPOINT_DIR
    resuming = config.resume and (checkpoint / "state.json").is_file()
    if config.resume and not resuming:
        log.info("no checkpoint in %s: starting from the beginning", checkpoint)
    if not config.resume and (checkpoint / "state.json").is_file():
        previous = _load_state(checkpoint)
        done = previous.epochs_done
        if done < config.epochs and not previous.stopped_early:
            raise ValueError(
                f"{out} holds an unfinished run ({done} of its epochs done): pass --resume to continue it, "
                "or choose another output directory"
            )

    n_train = len(train_data)
    train_data = limit_data(train_data, config.limit, config.seed)
    if dev_data is not None:
        dev_limit = config.dev_limit
        if dev_limit is None and config.limit is not None and config.limit < n_train:
            dev_limit = max(1, math.ceil(len(dev_data) * config.limit / n_train))  # same share as train
        dev_data = limit_data(dev_data, dev_limit, config.seed)
        if len(dev_data) == 0:
            dev_data = None

    device = dist.device
    precision = resolve_bf16(False if config.fp16 else config.bf16, device)
    bf16 = precision.bf16
    source = str(checkpoint) if resuming else resolve_model(config.init_from or config.model)
    tokenizer = load_tokenizer(source)
    model = build_model(source, labels, config, resuming=resuming).to(device)
    if config.freeze_encoder:
        freeze_encoder(model)
    elif config.gradient_checkpointing:
        _checkpoint_activations(model)
    amp = Amp.choose(device, bf16, config.fp16)
    encoder = InputEncoder.for_model(tokenizer, model.config, config.max_length, config.context_aware, config.emoji)
    log.info(
        "training %s on %d examples (%d dev), %d labels, context_aware=%s, %s, device=%s, threads=%d, processes=%d",
        config.model if not config.init_from else config.init_from,
        len(train_data),
        len(dev_data) if dev_data is not None else 0,
        len(labels),
        config.context_aware,
        "fp16 (loss-scaled)" if config.fp16 else precision.describe(),
        device,
        torch.get_num_threads(),
        dist.world,
    )

    train_encoded = encoder.encode(train_data.examples)
    targets = torch.from_numpy(train_data.targets(soft=config.soft_targets, threshold=config.label_threshold))
    hard = train_data.targets(soft=False, threshold=config.label_threshold)
    loss_fn = _loss(config, labels, hard)
    dev_encoded = encoder.encode(dev_data.examples) if dev_data is not None else []
    dev_true = dev_data.targets(soft=False, threshold=config.label_threshold) if dev_data is not None else None

    batches_per_epoch = math.ceil(len(train_encoded) / config.batch_size)
    steps_per_epoch = math.ceil(batches_per_epoch / config.grad_accum)
    optimizer = _optimizer(model, config)
    scheduler = _scheduler(optimizer, steps_per_epoch * config.epochs, config.warmup_ratio)
    state = _State()
    if resuming:
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=False))
        scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=False))
        if (checkpoint / "scaler.pt").is_file():
            amp.load_state_dict(torch.load(checkpoint / "scaler.pt", weights_only=False))
        rng = torch.load(checkpoint / "rng.pt", weights_only=False)
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        state = _load_state(checkpoint)
        log.info("resumed from %s after epoch %d", checkpoint, state.epochs_done)
    resumed_train_s = state.train_seconds

    if dist.is_main:  # one writer: the other ranks never touch the output folder
        out.mkdir(parents=True, exist_ok=True)
    trained = dist.wrap(model)  # DDP under a launcher (same module, gradients all-reduced); else the model itself
    best_scores: np.ndarray | None = None
    lengths = [len(item) for item in train_encoded]
    select_name = selection.name if selection is not None else "macro_f1"
    for epoch in range(state.epochs_done, config.epochs if not state.stopped_early else state.epochs_done):
        epoch_start = time.perf_counter()
        batches = length_grouped_batches(lengths, config.batch_size, seed=config.seed + epoch)
        mean_loss = _train_epoch(
            trained,
            encoder,
            train_encoded,
            targets,
            batches,
            loss_fn,
            optimizer,
            scheduler,
            config,
            device,
            bf16,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            progress=progress and dist.is_main,
            dist=dist,
            amp=amp,
        )
        seconds = time.perf_counter() - epoch_start
        state.train_seconds += seconds
        state.train_examples += len(train_encoded)
        record = {"epoch": epoch + 1, "loss": mean_loss, "examples_per_s": len(train_encoded) / max(seconds, 1e-9)}
        improved = True
        if dev_encoded and (config.eval_every_epoch or epoch + 1 == config.epochs):
            scores = _score_dev(model, encoder, dev_encoded, config, bf16, dist)
            if selection is None:
                threshold, value = best_global_threshold(dev_true, scores)
                record.update({"dev_macro_f1": value, "dev_threshold": threshold})
            else:
                value = float(selection.score(scores))
                record[f"dev_{selection.name}"] = value
            improved = value > state.best_score
            if improved:
                state.best_score, state.best_epoch, best_scores = value, epoch + 1, scores
        elif not dev_encoded:
            state.best_epoch = epoch + 1
        if improved and dist.is_main:
            _save_model(model, tokenizer, out)
        state.epochs_done = epoch + 1
        state.history.append(record)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"))
        patience = config.early_stopping
        if patience and state.best_epoch is not None and epoch + 1 < config.epochs:
            if epoch + 1 - state.best_epoch >= patience:
                state.stopped_early = True  # every rank sees the same gathered dev scores: all stop together
                log.info(
                    "early stop after epoch %d: dev %s has not improved for %d epoch(s) (best: epoch %d, %.4f)",
                    epoch + 1, select_name, patience, state.best_epoch, state.best_score,
                )  # fmt: skip
        dist.check_in_step(model, f"epoch {epoch + 1}")
        if dist.is_main:
            _save_checkpoint(checkpoint, model, tokenizer, optimizer, scheduler, state, config, amp)
        dist.barrier()  # the other ranks go on (or read the saved model) only once rank 0 has written it
        if state.stopped_early:
            break

    policy, dev_metrics, best_scores = _calibrate(
        config,
        labels,
        out,
        encoder,
        dev_encoded,
        dev_true,
        best_scores,
        bf16,
        multi_label=train_data.multi_label,
        device=device,
        dist=dist,
    )
    if dist.is_main:
        policy.save(out)
        config.save(out)
    result = TrainResult(
        model_dir=str(out),
        policy=policy,
        dev_metrics=dev_metrics,
        train_examples_per_s=state.train_examples / max(state.train_seconds, 1e-9),
        wall_time_s=time.perf_counter() - start,
        epochs_run=state.epochs_done,
        best_epoch=state.best_epoch,
        history=state.history,
        selection_metric=select_name,
        stopped_early=state.stopped_early,
        resumed_train_s=resumed_train_s,
        dev_scores=best_scores,
    )
    summary = {key: value for key, value in result.to_dict().items() if key != "dev_metrics"}
    if dev_metrics:
        summary["dev_macro_f1"] = dev_metrics["macro_f1"]
        summary["dev_micro_f1"] = dev_metrics["micro_f1"]
    if dist.is_main:
        summary["processes"] = dist.world
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        write_model_card(out, config, result, train_data, dev_data)
    dist.close()
    return result


def _loss(config: TrainConfig, labels: list[str], hard: np.ndarray):
    """The training loss the config asks for; softmax needs one positive label per row among its columns."""
    if config.loss == "bce":
        return MultiLabelLoss(positive_class_weights(hard, config.pos_weight))
    names = config.loss_labels or labels
    unknown = [name for name in names if name not in labels]
    if unknown:
        raise ValueError(f"loss_labels {unknown} are not among the model's labels")
    columns = [labels.index(name) for name in names]
    missing = int((hard[:, columns].sum(axis=1) == 0).sum())
    if missing:
        raise ValueError(
            f"the softmax loss needs one label per example among {names}; {missing} training rows have none "
            "(use loss: bce for multi-label data)"
        )
    return SoftmaxLoss(columns)


def _checkpoint_activations(model) -> None:
    """Gradient (activation) checkpointing, non-reentrant so that it works under DDP (transformers 5 renamed it)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def _score_dev(model, encoder, dev_encoded, config, bf16, dist) -> np.ndarray:
    """Dev scores of the whole dev set: each rank scores its share, then every rank gets all of them in order."""
    rows = dist.split_rows(len(dev_encoded))
    mine = [dev_encoded[i] for i in rows]
    part = score_encoded(model, encoder, mine, batch_size=max(64, config.batch_size), bf16=bf16)
    return dist.gather_rows(part, len(dev_encoded))


def _train_epoch(
    model,
    encoder,
    encoded,
    targets,
    batches,
    loss_fn,
    optimizer,
    scheduler,
    config,
    device,
    bf16,
    desc: str,
    progress: bool,
    dist: distributed.Dist | None = None,
    amp: Amp | None = None,
) -> float:
    dist = dist or distributed.Dist(device=device)
    amp = amp or Amp.choose(device, bf16, False)
    shards = [dist.shard(batch) for batch in batches]  # this rank's rows of each global batch, loss weights
    model.train()
    if config.freeze_encoder:  # the frozen encoder computes the same features every epoch: no dropout
        getattr(model, "module", model).base_model.eval()
    total_loss, seen_batches = 0.0, 0
    bar = tqdm(
        total=len(encoded),
        desc=desc,
        unit="ex",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
        mininterval=0.2 if sys.stderr.isatty() else 30.0,  # a log file gets a line every 30 s, not a flood
    )
    optimizer.zero_grad(set_to_none=True)
    try:
        local_batches = [rows for rows, _ in shards]
        for step, (rows, inputs) in enumerate(iterate_batches(encoded, local_batches, encoder), start=1):
            inputs = {k: v.to(device) for k, v in inputs.items()}
            weight = shards[step - 1][1]
            syncing = step % config.grad_accum == 0 or step == len(batches)
            with dist.no_sync(model, syncing):  # accumulate locally; all-reduce once per optimizer step
                with amp.autocast():
                    logits = model(**inputs).logits
                loss = loss_fn(logits, targets[rows].to(device))
                amp.backward(loss * (weight / config.grad_accum))
            if syncing:
                amp.step(optimizer, model.parameters(), config.max_grad_norm)
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            total_loss += float(loss.detach()) * weight
            seen_batches += 1
            bar.update(len(batches[step - 1]))
            bar.set_postfix(loss=f"{total_loss / seen_batches:.4f}", refresh=False)
    finally:
        bar.close()
    return dist.sum(total_loss) / dist.world / max(1, seen_batches)  # the mean loss of the global batches


def _calibrate(config, labels, out, encoder, dev_encoded, dev_true, best_scores, bf16, multi_label, device, dist=None):
    """Choose the decision policy on dev with the best model's scores; without dev, a fixed default."""
    if not dev_encoded:
        kind = (
            "argmax"
            if not multi_label
            else ("global" if config.threshold_policy == "auto" else config.threshold_policy)
        )
        if kind == "per_class":
            raise ValueError("per-class thresholds need dev data to be chosen on")
        log.warning("no dev data: decision policy %s with threshold 0.5 (not calibrated)", kind)
        return ThresholdPolicy(kind=kind, global_threshold=0.5, label_names=labels), None, None
    if best_scores is None:  # resumed after the best epoch: score dev with the saved best model
        model = build_model(str(out), labels, config, resuming=True).to(device)
        best_scores = _score_dev(model, encoder, dev_encoded, config, bf16, dist or distributed.Dist(device=device))
    policy = choose_policy(dev_true, best_scores, labels, config.threshold_policy, multi_label, seed=config.seed)
    metrics = multilabel_report(dev_true, policy.apply(best_scores), labels)
    metrics["policy"] = policy.kind
    return policy, metrics, best_scores
