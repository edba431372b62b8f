"""``emopillars adapt``: fine-tune a checkpoint or a plain encoder on a task under the task's protocol."""

from __future__ import annotations

import json

from emopillars.cli._options import (
    LibraryDefaultsFormatter,
    check_output_dir,
    given,
    int_at_least,
    learning_rate,
    library_default,
    nonnegative_int,
    positive_int,
)

ORDER = 40
ADAPT = "emopillars.adapt.run:adapt"


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
        formatter_class=LibraryDefaultsFormatter,
    )
    parser.add_argument("--task", required=True, help="task name or task YAML path")
    library_default(
        parser.add_argument("--from", dest="start", help="checkpoint dir, encoder dir, alias or hub id"),
        "emopillars.training.config:TrainConfig",
        "model",
    )
    parser.add_argument("--out", required=True, help="output folder (result.json, per-run metrics, models)")
    library_default(
        parser.add_argument("--head", choices=HEAD_POLICIES, help="keep the 28-label head or a new one"), ADAPT, "head"
    )
    parser.add_argument("--epochs", type=positive_int, help="override the task's / profile's epochs")
    parser.add_argument("--limit", type=positive_int, help="at most N training rows per run (random, seeded)")
    library_default(
        parser.add_argument("--seed", type=nonnegative_int, help="training seed (folds use the protocol's own seed)"),
        ADAPT,
        "seed",
    )
    library_default(
        parser.add_argument("--profile", choices=PROFILES, help="quick: fewer epochs/rows, shorter inputs"),
        ADAPT,
        "profile",
    )
    parser.add_argument("--max-length", type=int_at_least(8), help="override the maximum input length in tokens")
    parser.add_argument("--batch-size", type=positive_int, help="override the training batch size")
    parser.add_argument("--lr", type=learning_rate, help="override the learning rate")
    parser.add_argument("--keep-models", action="store_true", help="keep every fold's model (k-fold tasks)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from emopillars.adapt.run import adapt
    from emopillars.training.config import TrainConfig

    check_output_dir(args.out, "--out")
    result = adapt(
        args.task,
        args.start if args.start is not None else TrainConfig.model,
        out_dir=args.out,
        overrides=given(args, ["max_length", "batch_size", "lr"]),
        keep_models=True if args.keep_models else None,
        **given(args, ["head", "seed", "profile", "epochs", "limit"]),
    )
    from emopillars.training.distributed import launcher_world

    if launcher_world()[0] != 0:  # under torchrun: rank 0 alone reports
        return 0
    print(f"task {result['task']} from {result['start']} (head {result['head']}, profile {result['profile']})")
    print(f"protocol: {result['protocol']}")
    for name, stat in result["metrics"].items():
        spread = f" ± {stat['std']:.4f} over {len(stat['values'])} runs" if len(stat["values"]) > 1 else ""
        print(f"  {name}: {stat['mean']:.4f}{spread}")
    print(f"wall time {result['wall_s']:.0f} s; written to {args.out}/result.json")
    if args.verbose:
        print(json.dumps(result["runs"], indent=2))
    return 0
