"""Compare training recipes on some runs of a task (e.g. ISEAR fold 0), choosing on the selection set only.

Each recipe is a set of ``TrainConfig`` overrides on top of a profile. For every (recipe, run) the script
fine-tunes and scores exactly as ``emopillars adapt`` does (same code, same folds, cached per run under
``--out`` so an interrupted comparison resumes) and prints, per recipe: the best epoch, the task metric on
the **selection set** at that epoch (what a recipe may be chosen by) and on the reported set (shown, never
used to choose), and the training time.

    python benchmarks/adapt_recipes.py --task isear --runs fold_0 --out runs/recipes/isear \\
        --recipe 'bce={}' --recipe 'softmax={"loss": "softmax"}'
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json
import logging
import time
from pathlib import Path

from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.run import _run_once, plan_runs, present_splits, resolve_settings, resolve_start, stable_hash
from emopillars.adapt.tasks import load_task


def parse_recipe(text: str) -> tuple[str, dict]:
    name, sep, body = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"--recipe expects NAME=JSON, got {text!r}")
    overrides = json.loads(body or "{}")
    if not isinstance(overrides, dict):
        raise SystemExit(f"--recipe {name}: the overrides must be a JSON object")
    return name, overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--from", dest="start", default="minilm")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--runs", nargs="+", default=None, help="run names (fold_0 ...; default: all)")
    parser.add_argument(
        "--recipe", action="append", required=True, help='NAME=JSON overrides, e.g. \'sm={"loss": "softmax"}\''
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", required=True)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    task = load_task(args.task)
    start = resolve_start(args.start)
    head = HeadPolicy.for_task(task, "keep")
    plan = [(name, data) for name, data in plan_runs(task, args.seed) if args.runs is None or name in args.runs]
    if not plan:
        raise SystemExit(f"no runs named {args.runs}")
    rows = []
    for recipe in args.recipe:
        name, overrides = parse_recipe(recipe)
        settings = resolve_settings(task, args.profile, epochs=args.epochs, overrides=overrides)
        identity = {
            "task": task.model_dump(mode="json"),
            "splits": present_splits(task),
            "start": start.spec,
            "head": head.kind,
            "seed": args.seed,
            "settings": settings.to_dict(),
        }
        for run_name, data in plan:
            key = stable_hash({**identity, "run": run_name})
            started = time.perf_counter()
            summary = _run_once(
                task, head, start, data, settings, args.seed, Path(args.out) / name / run_name, key, False, 64
            )
            best = summary.get("best_epoch")
            history = summary.get("history") or []
            select_metric = summary.get("selection_metric")
            select_value = next(
                (r.get(f"dev_{select_metric}") for r in history if r.get("epoch") == best and select_metric), None
            )
            row = {
                "recipe": name,
                "overrides": overrides,
                "run": run_name,
                "best_epoch": best,
                "epochs_run": summary.get("epochs_run"),
                f"select_{select_metric}": select_value,
                **{f"report_{k}": round(v, 4) for k, v in summary["metrics"].items()},
                "train_min": round(summary["train_s"] / 60, 1),
                "wall_min": round((time.perf_counter() - started) / 60, 1),
                "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in history],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
