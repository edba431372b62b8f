"""What each single-label decision rule adds on a task's dev set, from one adapted model's dev scores.

For each rule family (argmax; class-prior correction; an offset for the none class; both; the automatic
choice among them, as the protocol does) it prints the task's metrics cross-fitted on stratified dev halves
(chosen on one half, scored on the other, both ways, pooled, mean ± std over random splits), the
in-sample number (chosen and scored on all of dev: optimistic, shown for contrast) and per-class
precision / recall. The model's dev scores are computed once and cached beside it (``dev_scores.npz``).

    python benchmarks/decision_rules.py --model runs/benchmark_cpu/runs/emocontext__.../run_0/model
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json
from pathlib import Path

from _adapted import adapted_task, split_scores

from emopillars.adapt.decide import task_targets
from emopillars.adapt.run import plan_runs
from emopillars.evaluation.decision import RULE_KINDS, class_prior, cross_fit, fit_rule, full_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="an adapted model folder (it remembers its task)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    model_dir = Path(args.model)
    task, head = adapted_task(model_dir)
    scores, data = split_scores(model_dir, task, head, args.split)
    gold = task_targets(data)
    train = plan_runs(task, args.seed)[0][1].train  # the run's training rows: their class prior
    prior_train = class_prior(task_targets(train), len(task.labels))
    metric = task.primary_metric
    families = [[kind] for kind in RULE_KINDS] + [list(task.decision.kinds)]
    rows = []
    for kinds in families:
        name = kinds[0] if len(kinds) == 1 else "auto (" + ", ".join(kinds) + ")"
        options = {"kinds": kinds, "prior_train": prior_train, "none_label": task.decision.none_label}
        crossed = cross_fit(gold, scores, task.labels, metric, repeats=args.repeats, seed=args.seed, **options)
        rule = fit_rule(gold, scores, task.labels, metric, **options)
        in_sample = full_report(gold, rule.apply(scores), task.labels)
        row = {
            "rule": name,
            f"cross_fitted_{metric}": round(crossed.mean, 4),
            "std_over_splits": round(crossed.std, 4),
            "cross_fitted_macro_f1": round(crossed.report["macro_f1"], 4),
            f"in_sample_{metric}": round(in_sample[metric], 4),
            "chosen_on_all_dev": rule.describe(),
            "kinds_chosen": crossed.kinds_chosen,
            "per_class": {
                label: f"P {stat['precision']:.2f} R {stat['recall']:.2f} F1 {stat['f1']:.2f}"
                for label, stat in crossed.report["per_class"].items()
            },
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"| rule | {metric} cross-fitted (± over {args.repeats} splits) | macro-F1 cross-fitted | in-sample |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['rule']} | {row[f'cross_fitted_{metric}']:.4f} ± {row['std_over_splits']:.4f} | "
            f"{row['cross_fitted_macro_f1']:.4f} | {row[f'in_sample_{metric}']:.4f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
