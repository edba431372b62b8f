"""``emopillars predict``: emotions of one text (optionally with its context) or of a whole file, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emopillars.cli.train import add_inference_options

ORDER = 40


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="predict emotions (labels and all scores) with a trained model")
    p.add_argument("--model", required=True, help="model directory written by `emopillars train`")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one utterance")
    source.add_argument("--input", help="a file: plain .txt (one text per line) or any loadable data format")
    p.add_argument("--context", help="with --text: its context (used by context-aware models)")
    p.add_argument("--speaker", help="with --text: the character who says it")
    p.add_argument("--output", help="write JSON lines here (default: stdout)")
    p.add_argument("--format", help="format of --input (default: detected; .txt = one text per line)")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed rows of --input")
    p.add_argument("--variant", choices=["orig", "corig", "crewr"], help="synthetic JSONL: which text/context")
    add_inference_options(p)
    p.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="runtime (auto: ONNX for an exported folder)",
    )
    p.set_defaults(func=run)


def read_inputs(path: str, fmt: str | None, skip_bad: bool, variant: str | None):
    """Examples from a data file, or from a plain text file with one text per line (blank lines skipped)."""
    from emopillars.data.example import Example
    from emopillars.data.loaders import load

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if fmt in ("txt", "text") or (fmt is None and file.suffix.lower() == ".txt"):
        lines = file.read_text(encoding="utf-8").splitlines()
        return [Example(text=line.strip(), id=str(i)) for i, line in enumerate(lines, start=1) if line.strip()]
    return load(file, fmt, skip_bad=skip_bad, variant=variant).examples


def run(args) -> int:
    from emopillars.data.example import Example
    from emopillars.serving.predictor import EmotionClassifier

    if (args.context or args.speaker) and not args.text:
        raise ValueError("--context and --speaker go with --text")
    classifier = EmotionClassifier.load(
        args.model, bf16=args.bf16, num_threads=args.threads, policy=args.threshold_policy, backend=args.backend
    )
    if args.text is not None:
        if not args.text.strip():
            raise ValueError("--text is empty")
        example = Example(text=args.text, context=args.context, speaker=args.speaker)
        result = classifier.predict([example])[0]
        print(
            json.dumps({"text": args.text, **({"context": args.context} if args.context else {}), **result}, indent=2)
        )
        return 0
    examples = read_inputs(args.input, args.format, args.skip_bad, args.variant)
    if not examples:
        raise ValueError(f"{args.input} holds no texts")
    results = classifier.predict(examples, batch_size=args.batch_size, progress=args.output is not None)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for example, result in zip(examples, results):
            row = {"id": example.id, "text": example.text}
            if example.context:
                row["context"] = example.context
            out.write(json.dumps({**row, **result}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(f"wrote {len(results)} predictions to {args.output}", file=sys.stderr)
    return 0
