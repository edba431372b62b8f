"""``emopillars annotate export|score``: the human-evaluation kit (HTML forms) and its scoring (kappa, accuracy)."""

from __future__ import annotations

from pathlib import Path

ORDER = 26


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate",
        help="human evaluation: export annotation forms, score the answers (kappa, teacher accuracy)",
        description="export: one self-contained HTML form per annotator plus items for Label Studio / Argilla; "
        "score: Cohen's and Fleiss' kappa and the teacher's accuracy from the answer CSVs.",
    )
    sub = parser.add_subparsers(dest="annotate_command", metavar="{export,score}")
    export = sub.add_parser("export", help="write the annotation kit for a dataset")
    export.add_argument("path", help="synthesis output folder or a dataset file")
    export.add_argument("--out", help="kit folder (default: PATH/annotation, or ./<name>-annotation for a file)")
    export.add_argument("--n", type=int, help="items to annotate (default 200, as the paper)")
    export.add_argument("--annotators", type=int, help="number of annotators (default 3)")
    export.add_argument("--names", nargs="+", help="annotator names instead of A1..An")
    export.add_argument("--seed", type=int, help="seed of the item sample and of each form's order (default 0)")
    export.add_argument(
        "--set",
        dest="item_set",
        choices=["orig", "corig", "crewr"],
        help="orig: any record, its context on demand when it has one (default); corig: records with a "
        "context; crewr: rewritten utterance + cleaned context",
    )
    export.add_argument("--format", help="data format of PATH when detection fails")
    export.set_defaults(func=run_export)
    score = sub.add_parser("score", help="score the annotators' answer CSVs against each other and the teacher")
    score.add_argument("kit", help="the kit folder written by `annotate export`")
    score.add_argument("--answers", nargs="+", required=True, help="one CSV per annotator (item_id, labels)")
    score.add_argument("--out", help="report folder (default: KIT/score)")
    score.add_argument("--allow-missing", action="store_true", help="score the items every annotator answered")
    score.set_defaults(func=run_score)
    parser.set_defaults(func=lambda args: parser.print_help() or 1)


def run_export(args) -> int:
    from emopillars.annotate import export_kit
    from emopillars.cli._options import given
    from emopillars.cli.inspect import default_out
    from emopillars.stats.source import load_source

    path = Path(args.path)
    out = Path(args.out) if args.out else default_out(path, "annotation")
    source = load_source(path, args.format)
    options = given(args, ["n", "seed", "item_set"])
    if args.names or args.annotators is not None:
        options["annotators"] = args.names or args.annotators
    kit = export_kit(source, out, **options)
    with_context = sum(bool(item.context) for item in kit.items)
    print(f"{len(kit.items)} items ({with_context} with a context) for {len(kit.annotators)} annotators in {out}")
    for name, form in kit.forms.items():
        print(f"  {name}: {out / form}")
    print(f"  items: {out / 'items.csv'}, Label Studio: {out / 'label_studio'}, Argilla: {out / 'argilla'}")
    print(f"  answer key (keep from the annotators): {out / 'teacher.json'}")
    return 0


def run_score(args) -> int:
    from emopillars.annotate import score_kit
    from emopillars.annotate.score import write_score_report

    kit = Path(args.kit)
    out = Path(args.out) if args.out else (kit if kit.is_dir() else kit.parent) / "score"
    report = score_kit(kit, args.answers, allow_missing=args.allow_missing)
    written = write_score_report(report, out)
    agree, acc = report["agreement"], report["accuracy"]

    def fmt(value):
        return "n/a" if value is None else f"{value:.3f}"

    print(
        f"{report['scored_items']} items, {len(agree['annotators'])} annotators: Cohen's kappa (mean of pairs) "
        f"{fmt(agree['cohen']['mean_pooled'])} (paper 0.365), Fleiss' kappa {fmt(agree['fleiss']['pooled'])}; "
        f"teacher accuracy {fmt(acc['all_agree_accuracy'])} where all agree (paper 0.86), "
        f"{fmt(acc['majority_accuracy'])} where a majority does (paper 0.70)"
    )
    print(f"report: {written['markdown']}")
    return 0
