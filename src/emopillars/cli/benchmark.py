"""``emopillars benchmark SUITE.yaml``: run or resume an adaptation suite and write the results table."""

from __future__ import annotations

import argparse

from emopillars.cli._options import check_output_dir, positive_int

ORDER = 45


def register(subparsers) -> None:
    from emopillars.adapt.run import PROFILES

    parser = subparsers.add_parser(
        "benchmark",
        help="run (or resume) a benchmark suite of adaptation cells; write results.md and results.json",
        description="Runs tasks x starting points x heads x seeds from a suite YAML. Finished cells are cached "
        "under OUT/cells, so rerunning the same command after an interruption resumes it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("suite", help="suite YAML (e.g. benchmarks/suite_quick.yaml)")
    parser.add_argument("--out", default=None, help="output folder (default: the suite's out_dir)")
    parser.add_argument("--profile", choices=PROFILES, default=None, help="override the suite's profile")
    parser.add_argument("--limit", type=positive_int, default=None, help="smoke run: at most N training rows per run")
    parser.add_argument("--epochs", type=positive_int, default=None, help="override epochs for every cell")
    parser.add_argument(
        "--start",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="replace a starting point's `from` (by name or role), e.g. --start synthetic=runs/synth-model",
    )
    parser.add_argument(
        "--task",
        action="append",
        metavar="NAME",
        help="run only this task of the suite (repeatable); its cached cells are shared with full runs",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from emopillars.adapt.suite import run_suite

    if args.out is not None:
        check_output_dir(args.out, "--out")
    starts = {}
    for item in args.start:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--start expects NAME=PATH, got {item!r}")
        starts[name] = path
    summary = run_suite(
        args.suite,
        args.out,
        args.profile,
        limit=args.limit,
        epochs=args.epochs,
        starts=starts,
        only_tasks=args.task or None,
        progress=not args.no_progress,
    )
    out = args.out or "the suite's out_dir"
    print(f"{summary['cells_done']}/{summary['cells_planned']} cells done; results in {out}/results.md")
    for cell, error in summary["failures"].items():
        print(f"  failed: {cell}: {error}")
    return 1 if summary["failures"] else 0
