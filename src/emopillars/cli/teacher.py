"""``emopillars teacher``: how good a teacher's labels are (``audit``)."""

from __future__ import annotations

ORDER = 25


def add_label_arguments(parser) -> None:
    """The options that make labels better; shared by ``teacher audit`` and ``synthesize``."""
    parser.add_argument(
        "--label-samples", type=int, metavar="K", help="answers per utterance, levels averaged (default 1)"
    )
    parser.add_argument(
        "--label-temperature",
        type=float,
        help="sampling temperature of the label answers (default: greedy for K=1, 0.7 for K>1)",
    )
    parser.add_argument("--label-llm", action="append", metavar="SPEC", help="another LLM as a rater (repeatable)")
    parser.add_argument("--label-model", metavar="DIR", help="a trained emopillars classifier as a rater")
    parser.add_argument(
        "--label-calibration",
        metavar="SPEC",
        help="re-weigh the levels over the whole set of answers: none (default) or prior[:ALPHA] (damps labels the "
        "teacher names everywhere by their share ** ALPHA, default 0.5; docs/teacher.md)",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("teacher", help="audit a teacher's labels against human labels")
    commands = parser.add_subparsers(dest="teacher_command", metavar="SUBCOMMAND")
    audit = commands.add_parser(
        "audit",
        help="run the synthesis labels step on human-labelled texts and score it as a classifier",
        description="Runs exactly the labels step of synthesis (template, schema, parser, taxonomy mapping, 0.3 "
        "threshold) on a fixed sample of human-labelled texts and scores it: macro/micro-F1, per-class F1, "
        "primary-label accuracy, Cohen's kappa, labels per example, collapse. Writes OUT/audit.json, audit.md "
        "and per_class_f1.png. Answers go through the LLM cache: a rerun is free.",
    )
    audit.add_argument("--llm", help="the teacher (LLM spec; default: $EMOPILLARS_LLM or the packaged default)")
    audit.add_argument("--model", metavar="DIR", help="audit a trained emopillars classifier instead of an LLM")
    audit.add_argument("--data", help="goemotions, isear or a labelled file (default goemotions)")
    audit.add_argument("--split", help="GoEmotions split (default dev)")
    audit.add_argument("--n", type=int, help="texts to sample (default 300; 0 = all)")
    audit.add_argument("--seed", type=int, help="sample seed, also the LLM seed (default 0)")
    audit.add_argument("--out", required=True, help="output folder")
    add_label_arguments(audit)
    audit.add_argument("--prompts", help="folder with prompt templates overriding the package's (labels.txt)")
    audit.add_argument("--max-tokens", type=int, help="max new tokens of a label answer (default: the step's)")
    audit.add_argument("--name", help="the row name in tables (default: the raters)")
    audit.add_argument("--no-cache", action="store_true", help="do not use the LLM answer cache")
    audit.add_argument("--no-progress", action="store_true")
    audit.set_defaults(func=run_audit_command)
    parser.set_defaults(func=lambda args: parser.print_help() or 1)


AUDIT_OPTIONS = {
    "llm": "llm",
    "label_llm": "label_llms",
    "label_model": "label_model",
    "model": "model",
    "data": "data",
    "split": "split",
    "seed": "seed",
    "label_samples": "samples",
    "label_temperature": "temperature",
    "label_calibration": "calibration",
    "prompts": "prompts_dir",
    "max_tokens": "max_tokens",
    "name": "name",
}
"""argparse dest -> ``AuditConfig`` field. Options left unset are not passed: ``AuditConfig``'s defaults apply."""


def build_audit_config(args):
    """The ``AuditConfig`` of a parsed ``teacher audit`` command line: given options only, the rest its defaults."""
    from emopillars.cli._options import given
    from emopillars.teacher.audit import AuditConfig

    options = given(args, AUDIT_OPTIONS)
    if args.n is not None:
        options["n"] = args.n or None  # 0: every text
    return AuditConfig(out_dir=args.out, cache=not args.no_cache, progress=not args.no_progress, **options)


def run_audit_command(args) -> int:
    from emopillars.cli.main import CLIError
    from emopillars.llm import BackendError
    from emopillars.teacher.audit import AUDIT_JSON, AUDIT_MD, run_audit, summary_row

    config = build_audit_config(args)
    try:
        result = run_audit(config)
    except BackendError as exc:
        raise CLIError(f"the LLM is not available: {exc}") from None
    row = summary_row(result)
    metrics = result["metrics"]
    print(f"audit: {row['setup']} on {row['n']} {row['data']} texts")
    if "primary_accuracy" in metrics:
        print(
            f"  macro-F1 {metrics['macro_f1']:.3f}  micro-F1 {metrics['micro_f1']:.3f}  primary-label accuracy "
            f"{metrics['primary_accuracy']:.3f}  kappa {metrics['kappa']:.3f}"
        )
    else:
        print(
            f"  accuracy {metrics['accuracy']:.3f}  macro-F1 {metrics['macro_f1']:.3f}  kappa {metrics['kappa']:.3f}"
        )
    print(
        f"  labels/example {row['labels_per_example']:.2f} (gold {row['gold_labels_per_example']:.2f})  "
        f"collapse {row['collapse']}  failed {metrics['failed']}  {row['seconds_per_text']:.2f} s/text"
    )
    print(f"written: {args.out}/{AUDIT_JSON}, {args.out}/{AUDIT_MD}")
    if metrics["failed"] == len(result["items"]):
        raise CLIError("every label answer failed; see audit.json")
    return 0
