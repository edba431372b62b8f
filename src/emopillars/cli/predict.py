"""``emopillars predict``: emotions of one text (optionally with its context) or of a whole file, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emopillars.cli._options import LibraryDefaultsFormatter, check_output_file, given, writing
from emopillars.cli.train import add_inference_options

ORDER = 40
TEXT_FORMATS = ("lines", "txt", "text")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict emotions (labels and all scores) with a trained model",
        formatter_class=LibraryDefaultsFormatter,
    )
    p.add_argument("--model", required=True, help="model directory written by `emopillars train`")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one utterance")
    source.add_argument("--input", help="a file: plain .txt (one text per line) or any loadable data format")
    p.add_argument("--context", help="with --text: its context (used by context-aware models)")
    p.add_argument("--speaker", help="with --text: the character who says it")
    p.add_argument("--output", help="write JSON lines here, one per text (default: stdout)")
    p.add_argument("--format", help="format of --input (default: detected; .txt = lines, one text per line)")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed rows of --input")
    p.add_argument("--variant", choices=["orig", "corig", "crewr"], help="synthetic JSONL: which text/context")
    add_inference_options(p, "emopillars.serving.predictor:EmotionClassifier.predict")
    p.set_defaults(func=run)


def read_inputs(path: str, fmt: str | None, skip_bad: bool, variant: str | None):
    """Examples from a data file, or from a plain text file with one text per line (format ``lines``)."""
    from emopillars.data.loaders import load

    if fmt in TEXT_FORMATS or (fmt is None and Path(path).suffix.lower() == ".txt"):
        return load(path, "lines", skip_bad=skip_bad).examples
    return load(path, fmt, skip_bad=skip_bad, variant=variant).examples


def run(args) -> int:
    from emopillars.data.example import Example
    from emopillars.files import atomic_write_text
    from emopillars.serving.predictor import EmotionClassifier

    if (args.context or args.speaker) and args.text is None:
        raise ValueError("--context and --speaker go with --text")
    if args.output:
        check_output_file(args.output, "--output")
    if args.text is not None:
        if not args.text.strip():
            raise ValueError("--text is empty")
        examples = [Example(text=args.text, context=args.context, speaker=args.speaker)]
    else:
        examples = read_inputs(args.input, args.format, args.skip_bad, args.variant)
        if not examples:
            raise ValueError(f"{args.input} holds no texts")
    classifier = EmotionClassifier.load(
        args.model, bf16=args.bf16, num_threads=args.threads, policy=args.threshold_policy, **given(args, ["backend"])
    )
    progress = args.output is not None and args.text is None
    results = classifier.predict(examples, progress=progress, **given(args, ["batch_size"]))
    rows = []
    for example, result in zip(examples, results):
        row = {"id": example.id, "text": example.text} if args.text is None else {"text": example.text}
        if example.context:
            row["context"] = example.context
        rows.append({**row, **result})
    if args.output:
        output = Path(args.output)
        with writing(output):
            output.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(output, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        print(f"wrote {len(rows)} prediction(s) to {args.output}", file=sys.stderr)
    elif args.text is not None:
        print(json.dumps(rows[0], indent=2, ensure_ascii=False))
    else:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    return 0
