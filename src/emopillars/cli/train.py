"""``emopillars train``: fine-tune an encoder as a multi-label emotion classifier and calibrate it on dev."""

from __future__ import annotations

import argparse
import json
import logging

from emopillars.cli._options import (
    LibraryDefaultsFormatter,
    check_output_dir,
    given,
    int_at_least,
    learning_rate,
    library_default,
    nonnegative_float,
    nonnegative_int,
    positive_int,
)
from emopillars.inference.emoji_text import EMOJI_MODES

ORDER = 20
log = logging.getLogger(__name__)


TRAIN_CONFIG = "emopillars.training.config:TrainConfig"

CONFIG_OPTIONS: dict[str, str] = {
    "model": "model",
    "out": "output_dir",
    "epochs": "epochs",
    "lr": "lr",
    "head_lr": "head_lr",
    "batch_size": "batch_size",
    "grad_accum": "grad_accum",
    "max_length": "max_length",
    "context_aware": "context_aware",
    "soft": "soft_targets",
    "pos_weight": "pos_weight",
    "limit": "limit",
    "dev_limit": "dev_limit",
    "seed": "seed",
    "bf16": "bf16",
    "resume": "resume",
    "threshold_policy": "threshold_policy",
    "init_from": "init_from",
    "head": "head",
    "threads": "num_threads",
    "fp16": "fp16",
    "gradient_checkpointing": "gradient_checkpointing",
    "freeze_encoder": "freeze_encoder",
    "emoji": "emoji",
}
"""argparse dest -> ``TrainConfig`` field. Options left unset are not passed: ``TrainConfig``'s defaults apply."""

SAME_AS_LR = "same"


def head_lr(text: str) -> float | str:
    """``--head-lr``: a learning rate, or ``same`` (the body's ``--lr``)."""
    if text.strip().lower() == SAME_AS_LR:
        return SAME_AS_LR
    return learning_rate(text)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", help="data format (default: detected from the file)")
    parser.add_argument("--skip-bad", action="store_true", help="skip (and count) malformed rows instead of failing")
    parser.add_argument("--variant", choices=["orig", "corig", "crewr"], help="synthetic JSONL: which text/context")


def add_inference_options(parser: argparse.ArgumentParser, owner: str) -> None:
    """Options of every command that runs a trained classifier (evaluate, predict); ``owner`` holds the
    library default of ``batch_size`` shown in the help."""
    parser.add_argument(
        "--threshold-policy",
        choices=["global", "per_class", "argmax"],
        help="override the decision policy saved with the model",
    )
    library_default(
        parser.add_argument("--batch-size", type=positive_int, help="examples per batch"), owner, "batch_size"
    )
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast inference")
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads")
    library_default(
        parser.add_argument(
            "--backend", choices=["auto", "torch", "onnx"], help="runtime (auto: ONNX for an exported folder)"
        ),
        "emopillars.serving.predictor:EmotionClassifier.load",
        "backend",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune an emotion classifier (multi-label, sigmoid + BCE)",
        formatter_class=LibraryDefaultsFormatter,
    )

    def option(*names: str, field: str | None = None, **kwargs) -> None:
        action = p.add_argument(*names, **kwargs)
        if field:
            library_default(action, TRAIN_CONFIG, field)

    option("--train", required=True, help="training data file")
    option("--dev", help="dev data file (per-epoch evaluation, best checkpoint, threshold calibration)")
    option("--out", required=True, help="output model directory")
    option("--model", field="model", help="minilm, mpnet, a local model dir or a hub id")
    add_data_options(p)
    option("--dev-format", help="format of the dev file (default: --format, else detected)")
    option("--train-split", help="synthetic JSONL: split to train on (train/dev/test)")
    option("--dev-split", help="synthetic JSONL: split to calibrate on")
    option("--epochs", type=positive_int, field="epochs", help="training epochs")
    option("--limit", type=positive_int, help="use at most N training rows (dev shrinks in proportion)")
    option("--dev-limit", type=positive_int, help="use at most N dev rows")
    option(
        "--context-aware", action="store_true", default=None, help="encode (context [+ character], utterance) pairs"
    )
    option("--lr", type=learning_rate, field="lr", help="learning rate of the encoder")
    option(
        "--head-lr",
        type=head_lr,
        field="head_lr",
        help=f"learning rate of the pooler and classifier, or '{SAME_AS_LR}' for --lr",
    )
    option("--batch-size", type=positive_int, field="batch_size", help="examples per batch")
    option("--grad-accum", type=positive_int, field="grad_accum", help="gradient accumulation steps")
    option("--max-length", type=int_at_least(8), help="max tokens per input (default 128, context-aware 256)")
    option(
        "--emoji",
        choices=list(EMOJI_MODES),
        field="emoji",
        help="names: spell emoji out in words before tokenising (chat text; vocabularies without emoji)",
    )
    option("--soft", action="store_true", default=None, help="train on soft label levels instead of 0/1 targets")
    option(
        "--pos-weight",
        type=nonnegative_float,
        field="pos_weight",
        help="cap (>= 1) of the positive-class weight sqrt(neg/pos); 0 = off",
    )
    option(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        field="bf16",
        help="force bf16 autocast on (--bf16) or off (--no-bf16); auto: on where the hardware has native bf16",
    )
    option(
        "--fp16",
        action="store_true",
        default=None,
        field="fp16",
        help="fp16 autocast with loss scaling (GPUs without bf16)",
    )
    option(
        "--gradient-checkpointing",
        action="store_true",
        default=None,
        field="gradient_checkpointing",
        help="recompute activations in backward: less memory",
    )
    option("--seed", type=nonnegative_int, field="seed", help="random seed")
    option("--resume", action="store_true", default=None, help="continue from OUT/checkpoint")
    option(
        "--threshold-policy",
        choices=["auto", "global", "per_class", "argmax"],
        field="threshold_policy",
        help="decision policy saved with the model (auto: better one by cross-fitted dev macro-F1)",
    )
    option("--init-from", help="a model directory trained earlier to continue from")
    option("--head", choices=["new", "keep"], field="head", help="with --init-from: new or kept head")
    option(
        "--freeze-encoder",
        action="store_true",
        default=None,
        field="freeze_encoder",
        help="train the head alone (at --head-lr); the encoder stays as loaded (e.g. a soup's head refit)",
    )
    option("--threads", type=positive_int, help="torch CPU threads (default: all cores)")
    option("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def build_config(args):
    """The ``TrainConfig`` of a parsed ``train`` command line: given options only, the rest its defaults."""
    from emopillars.training.config import TrainConfig

    options = given(args, CONFIG_OPTIONS)
    if options.get("head_lr") == SAME_AS_LR:
        options["head_lr"] = None
    return TrainConfig(**options)


def load_data(path, fmt, args, split=None):
    from emopillars.data.loaders import load

    return load(path, fmt, skip_bad=args.skip_bad, variant=args.variant, split=split)


def run(args) -> int:
    # Cheap checks first (output folder, data files), so bad input fails in a second, before torch is imported.
    check_output_dir(args.out, "--out")
    train_data = load_data(args.train, args.format, args, split=args.train_split)
    dev_data = load_data(args.dev, args.dev_format or args.format, args, split=args.dev_split) if args.dev else None
    if not train_data.label_names:
        raise ValueError(f"{args.train} holds no labels: train needs labelled data")
    config = build_config(args)
    from emopillars.training import train

    if train_data.has_context and not config.context_aware:
        log.info("the training data has contexts; they are ignored unless you pass --context-aware")
    if config.context_aware and not train_data.has_context:
        log.warning("--context-aware, but the training data has no contexts: inputs are utterances only")
    result = train(config, train_data, dev_data, progress=not args.no_progress)
    from emopillars.training.distributed import launcher_world

    if launcher_world()[0] != 0:  # under torchrun: rank 0 alone reports
        return 0
    summary = {
        "model_dir": result.model_dir,
        "policy": result.policy.kind,
        "global_threshold": result.policy.global_threshold,
        "dev_macro_f1": result.dev_metrics["macro_f1"] if result.dev_metrics else None,
        "dev_micro_f1": result.dev_metrics["micro_f1"] if result.dev_metrics else None,
        "best_epoch": result.best_epoch,
        "train_examples_per_s": round(result.train_examples_per_s, 1),
        "wall_time_s": round(result.wall_time_s, 1),
    }
    print(json.dumps(summary, indent=2))
    return 0
