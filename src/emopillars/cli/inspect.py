"""``emopillars inspect``: the dataset report (statistics beside the paper's, plots) of a dataset."""

from __future__ import annotations

from pathlib import Path

ORDER = 25


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="report a dataset's statistics (labels, diversity, contexts) beside the paper's, with plots",
        description="Writes report.md, report.json and PNG plots for a synthesis output folder or any dataset "
        "file the loaders read (GoEmotions TSV, synthetic JSONL, CSV, ...). Definitions: docs/data-report.md.",
    )
    parser.add_argument("path", help="synthesis output folder (with manifest.json and dataset/) or a data file")
    parser.add_argument("--out", help="report folder (default: PATH/report for a folder, ./<name>-report for a file)")
    parser.add_argument("--format", help="data format of PATH when detection fails (see `emopillars train --help`)")
    compare = parser.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare", help="dataset whose label distribution is shown beside (default: GoEmotions train if present)"
    )
    compare.add_argument("--no-compare", action="store_true", help="show no second label distribution")
    parser.add_argument("--no-embeddings", action="store_true", help="skip the embedding similarity (fastest)")
    parser.add_argument("--embed-model", help="sentence encoder: minilm (default), folder or hub id")
    parser.add_argument(
        "--embed-limit",
        type=int,
        help="embed at most this many utterances per similarity measure, whole characters sampled (default 2000; "
        "0 = no limit)",
    )
    parser.add_argument("--near-dup-threshold", type=float, help="MinHash Jaccard for near duplicates (default 0.8)")
    parser.add_argument("--seed", type=int, help="seed of the character sample for the embeddings (default 0)")
    parser.add_argument("--no-plots", action="store_true", help="write report.md and report.json only")
    parser.set_defaults(func=run)


def default_out(path: Path, suffix: str) -> Path:
    return path / suffix if path.is_dir() else Path.cwd() / f"{path.stem}-{suffix}"


def run(args) -> int:
    from emopillars.cli._options import given
    from emopillars.cli.main import CLIError
    from emopillars.stats.embeddings import EmbeddingError
    from emopillars.stats.report import DEFAULT_EMBED_LIMIT, ReportOptions, default_compare, inspect_dataset

    path = Path(args.path)
    out = Path(args.out) if args.out else default_out(path, "report")
    compare = None if args.no_compare else (args.compare or default_compare())
    limit = DEFAULT_EMBED_LIMIT if args.embed_limit is None else (args.embed_limit or None)
    if limit is not None and limit < 0:
        raise CLIError("--embed-limit must be >= 0")
    options = ReportOptions(
        embeddings=not args.no_embeddings,
        embed_limit=limit,
        plots=not args.no_plots,
        **given(args, ["embed_model", "near_dup_threshold", "seed"]),
    )
    try:
        report, written = inspect_dataset(path, out, compare, options, args.format)
    except EmbeddingError as exc:
        raise CLIError(f"{exc} (or pass --no-embeddings)") from None
    print(summary(report))
    print(f"report: {written['markdown']} ({len(written) - 2} plots) in {report['timing_s']['total']:.1f} s")
    return 0


def summary(report: dict) -> str:
    lab = report["labels"]
    lpe = lab["labels_per_example"]
    lines = [f"{report['source']['records']:,} records from {report['source']['path']}"]
    if lpe["mean"] is not None:
        lines.append(f"labels per example {lpe['mean']:.2f} ± {lpe['sd']:.2f} (paper ~3.2)")
    neutral = lab.get("neutral")
    if neutral and neutral["of_labels"] is not None:
        lines.append(
            f"neutral {100 * neutral['of_labels']:.1f} % of labels (paper 2.7), "
            f"in {100 * neutral['of_examples']:.1f} % of examples (paper 9)"
        )
    sim = report["diversity"].get("similarity") or {}
    neutral_sim = sim.get("neutral") if isinstance(sim.get("neutral"), dict) else None
    if neutral_sim and neutral_sim["within"] is not None and neutral_sim["across"] is not None:
        lines.append(
            f"neutral similarity within a character {neutral_sim['within']:.2f} vs across {neutral_sim['across']:.2f} "
            "(paper 0.30 vs 0.16)"
        )
    return "\n".join(lines)
