"""``emopillars train``: fine-tune an encoder as a multi-label emotion classifier and calibrate it on dev."""

from __future__ import annotations

import argparse
import json
import logging

ORDER = 20
log = logging.getLogger(__name__)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", help="data format (default: detected from the file)")
    parser.add_argument("--skip-bad", action="store_true", help="skip (and count) malformed rows instead of failing")
    parser.add_argument("--variant", choices=["orig", "corig", "crewr"], help="synthetic JSONL: which text/context")


def add_inference_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that runs a trained classifier (evaluate, predict)."""
    parser.add_argument(
        "--threshold-policy",
        choices=["global", "per_class", "argmax"],
        help="override the decision policy saved with the model",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast inference")
    parser.add_argument("--threads", type=int, help="torch CPU threads")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="fine-tune an emotion classifier (multi-label, sigmoid + BCE)")
    p.add_argument("--train", required=True, help="training data file")
    p.add_argument("--dev", help="dev data file (per-epoch evaluation, best checkpoint, threshold calibration)")
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--model", default="minilm", help="minilm (default), mpnet, a local model dir or a hub id")
    add_data_options(p)
    p.add_argument("--dev-format", help="format of the dev file (default: --format, else detected)")
    p.add_argument("--train-split", help="synthetic JSONL: split to train on (train/dev/test)")
    p.add_argument("--dev-split", help="synthetic JSONL: split to calibrate on")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, help="use at most N training rows (dev shrinks in proportion)")
    p.add_argument("--dev-limit", type=int, help="use at most N dev rows")
    p.add_argument("--context-aware", action="store_true", help="encode (context [+ character], utterance) pairs")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default from TrainConfig)")
    p.add_argument("--head-lr", type=float, help="separate learning rate for the pooler and classifier")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--max-length", type=int, help="max tokens per input (default 128, context-aware 256)")
    p.add_argument("--soft", action="store_true", help="train on soft label levels instead of 0/1 targets")
    p.add_argument("--pos-weight", type=float, help="cap of the positive-class weight sqrt(neg/pos); 0 = off")
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on with CUDA support, off on CPU)",
    )
    p.add_argument("--fp16", action="store_true", help="fp16 autocast with loss scaling (GPUs without bf16)")
    p.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute activations in backward: less memory"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument(
        "--threshold-policy",
        choices=["auto", "global", "per_class", "argmax"],
        default="auto",
        help="decision policy saved with the model (auto: better one by cross-fitted dev macro-F1)",
    )
    p.add_argument("--init-from", help="a model directory trained earlier to continue from")
    p.add_argument("--head", choices=["new", "keep"], default="new", help="with --init-from: new or kept head")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def load_data(path, fmt, args, split=None):
    from emopillars.data.loaders import load

    return load(path, fmt, skip_bad=args.skip_bad, variant=args.variant, split=split)


def run(args) -> int:
    from emopillars.training import TrainConfig, train

    options = {
        "model": args.model,
        "output_dir": args.out,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "grad_accum": args.grad_accum,
        "max_length": args.max_length,
        "context_aware": args.context_aware,
        "soft_targets": args.soft,
        "limit": args.limit,
        "dev_limit": args.dev_limit,
        "seed": args.seed,
        "bf16": args.bf16,
        "resume": args.resume,
        "threshold_policy": args.threshold_policy,
        "init_from": args.init_from,
        "head": args.head,
        "num_threads": args.threads,
        "head_lr": args.head_lr,
        "fp16": args.fp16,
        "gradient_checkpointing": args.gradient_checkpointing,
    }
    if args.lr is not None:
        options["lr"] = args.lr
    if args.pos_weight is not None:
        options["pos_weight"] = args.pos_weight
    config = TrainConfig(**options)
    train_data = load_data(args.train, args.format, args, split=args.train_split)
    dev_data = load_data(args.dev, args.dev_format or args.format, args, split=args.dev_split) if args.dev else None
    if train_data.has_context and not args.context_aware:
        log.info("the training data has contexts; they are ignored unless you pass --context-aware")
    if args.context_aware and not train_data.has_context:
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
