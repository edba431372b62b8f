"""``emopillars soup``: average the encoders of fine-tuned models (other seeds of one recipe) into one model."""

from __future__ import annotations

import json

from emopillars.cli._errors import CLIError
from emopillars.cli._options import check_output_dir

ORDER = 22


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "soup",
        help="average fine-tuned models' encoders into one model (a model soup); then refit its head",
        description=(
            "Average the encoders of models fine-tuned from the same encoder with the same labels (e.g. seeds of "
            "one recipe) into one model of the same size; its head is the first model's. Refit the head next: "
            "emopillars train --init-from OUT --head keep --freeze-encoder --head-lr 1e-4 --train ... --dev ..."
        ),
    )
    p.add_argument("--model", action="append", required=True, help="a fine-tuned model folder (two or more)")
    p.add_argument("--out", required=True, help="new folder for the soup (a checkpoint to train from)")
    p.add_argument("--force", action="store_true", help="replace --out when it is not empty")
    p.set_defaults(func=run)


def run(args) -> int:
    from emopillars.training.soup import SOUP_FILE, soup_models

    if len(args.model) < 2:
        raise CLIError(f"a soup needs at least two models (--model twice or more), got {len(args.model)}")
    out = check_output_dir(args.out, "--out")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise CLIError(f"--out {args.out} is not empty: pass --force to replace it")
    folder = soup_models(args.model, out)
    print(json.dumps({"out": str(folder), **json.loads((folder / SOUP_FILE).read_text())}, indent=2))
    return 0
