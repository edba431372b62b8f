"""``emopillars evaluate``: score a trained model on labelled data; write metrics.json, report.md and a chart."""

from __future__ import annotations

import json
import sys

from emopillars.cli._options import LibraryDefaultsFormatter, check_output_dir, given, positive_int, writing
from emopillars.cli.train import add_data_options, add_inference_options

ORDER = 30


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained classifier (macro/micro-F1, per class)",
        formatter_class=LibraryDefaultsFormatter,
    )
    p.add_argument("--model", required=True, help="model directory written by `emopillars train`")
    p.add_argument("--data", required=True, help="labelled data file")
    p.add_argument(
        "--task",
        help="score as this task (name or YAML): its format, label map, decision rule and metrics; a model written "
        "by `emopillars adapt` remembers its task, so this is only needed for other models",
    )
    p.add_argument("--report", required=True, help="output folder for metrics.json, report.md, per_class_f1.png")
    add_data_options(p)
    p.add_argument("--split", help="synthetic JSONL: which split to evaluate")
    p.add_argument("--limit", type=positive_int, help="evaluate the first N rows only (N >= 1)")
    add_inference_options(p, "emopillars.training.evaluate:evaluate_model")
    p.set_defaults(func=run)


def run(args) -> int:
    from emopillars.adapt.decide import load_adapted
    from emopillars.adapt.evaluate import require_finished_model

    check_output_dir(args.report, "--report")  # cheap checks of the inputs first, the model last
    if args.task or load_adapted(args.model) is not None:
        return run_task(args)
    from emopillars.data.loaders import load
    from emopillars.evaluation.report import write_report
    from emopillars.serving.predictor import EmotionClassifier
    from emopillars.training.evaluate import evaluate_model

    data = load(args.data, args.format, skip_bad=args.skip_bad, variant=args.variant, split=args.split)
    if not data.label_names:
        raise ValueError(f"{args.data} holds no labels: evaluate needs labelled data (predict takes plain texts)")
    if args.limit is not None:
        data = data.subset(range(min(args.limit, len(data))))
    require_finished_model(args.model)  # a folder still training would lose its context silently
    classifier = EmotionClassifier.load(
        args.model, bf16=args.bf16, num_threads=args.threads, policy=args.threshold_policy, **given(args, ["backend"])
    )
    if classifier.context_aware and not data.has_context:
        print("note: a context-aware model evaluated on data without contexts", file=sys.stderr)
    metrics = evaluate_model(classifier, data, progress=True, **given(args, ["batch_size"]))
    with writing(args.report):
        paths = write_report(metrics, args.report, title=f"Evaluation of {args.model} on {args.data}")
    headline = {k: metrics[k] for k in ("macro_f1", "micro_f1", "emocontext_micro_f1", "accuracy") if k in metrics}
    headline.update({"n_examples": metrics["n_examples"], "decision": metrics["decision"]})
    headline["report"] = {kind: str(path) for kind, path in paths.items()}
    print(json.dumps(headline, indent=2))
    return 0


def run_task(args) -> int:
    """An adapted model (or any model with --task): the task's reader, label map, decision rule and metrics."""
    from emopillars.adapt.evaluate import evaluate_task
    from emopillars.evaluation.report import write_report

    metrics = evaluate_task(
        args.model,
        args.data,
        args.task,
        bf16=args.bf16,
        num_threads=args.threads,
        limit=args.limit,
        progress=True,
        **given(args, ["batch_size"]),
    )
    for note in metrics["notes"]:
        print(f"note: {note}", file=sys.stderr)
    title = f"Evaluation of {args.model} on {args.data} (task {metrics['task']})"
    with writing(args.report):
        paths = write_report(metrics, args.report, title=title)
    headline = {"task": metrics["task"], **metrics["task_metrics"], "n_examples": metrics["n_examples"]}
    headline["decision"] = metrics["decision"]
    headline["report"] = {kind: str(path) for kind, path in paths.items()}
    print(json.dumps(headline, indent=2))
    return 0
