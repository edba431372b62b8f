"""``emopillars adapt``: fine-tune a checkpoint or a plain encoder on a task under the task's protocol."""

from __future__ import annotations

import argparse
import json

ORDER = 40


def register(subparsers) -> None:
    from emopillars.adapt.heads import HEAD_POLICIES
    from emopillars.adapt.run import PROFILES
    from emopillars.adapt.tasks import shipped_tasks

    parser = subparsers.add_parser(
        "adapt",
        help="fine-tune a model on a task (two-stage training) and score it under the task's protocol",
        description="Start from a checkpoint trained by emopillars (e.g. on synthetic data) or a plain encoder, "
        "fine-tune on the task's training data and report the protocol's metrics. "
        f"Shipped tasks: {', '.join(shipped_tasks())}; or give a task YAML.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--task", required=True, help="task name or task YAML path")
    parser.add_argument("--from", dest="start", default="minilm", help="checkpoint dir, encoder dir, alias or hub id")
    parser.add_argument("--out", required=True, help="output folder (result.json, per-run metrics, models)")
    parser.add_argument("--head", choices=HEAD_POLICIES, default="keep", help="keep the 28-label head or a new one")
    parser.add_argument("--epochs", type=int, default=None, help="override the task's / profile's epochs")
    parser.add_argument("--limit", type=int, default=None, help="at most N training rows per run (random, seeded)")
    parser.add_argument("--seed", type=int, default=13, help="training seed (folds use the protocol's own seed)")
    parser.add_argument("--profile", choices=PROFILES, default="full", help="quick: fewer epochs/rows, shorter inputs")
    parser.add_argument("--max-length", type=int, default=None, help="override the maximum input length in tokens")
    parser.add_argument("--batch-size", type=int, default=None, help="override the training batch size")
    parser.add_argument("--lr", type=float, default=None, help="override the learning rate")
    parser.add_argument("--keep-models", action="store_true", help="keep every fold's model (k-fold tasks)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from emopillars.adapt.run import adapt

    overrides = {
        key: value
        for key, value in {"max_length": args.max_length, "batch_size": args.batch_size, "lr": args.lr}.items()
        if value is not None
    }
    for name in ("epochs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be a positive integer")
    result = adapt(
        args.task,
        args.start,
        head=args.head,
        seed=args.seed,
        profile=args.profile,
        out_dir=args.out,
        epochs=args.epochs,
        limit=args.limit,
        overrides=overrides,
        keep_models=True if args.keep_models else None,
    )
    print(f"task {result['task']} from {result['start']} (head {result['head']}, profile {result['profile']})")
    print(f"protocol: {result['protocol']}")
    for name, stat in result["metrics"].items():
        spread = f" ± {stat['std']:.4f} over {len(stat['values'])} runs" if len(stat["values"]) > 1 else ""
        print(f"  {name}: {stat['mean']:.4f}{spread}")
    print(f"wall time {result['wall_s']:.0f} s; written to {args.out}/result.json")
    if args.verbose:
        print(json.dumps(result["runs"], indent=2))
    return 0
