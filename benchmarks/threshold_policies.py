"""Global or per-class thresholds: what each policy scores on test, from one adapted multi-label model.

The model's dev and test scores are computed once (cached beside it, ``dev_scores.npz`` / ``test_scores.npz``).
Each policy is chosen on all of dev and scored on test; beside it, the dev macro-F1 that ``auto`` uses to
choose between them (pooled 5-fold cross-fitting on dev, mean over ``--repeats`` fold splits) and the in-sample
dev number (chosen and scored on the same rows: optimistic, shown for contrast). Test never chooses anything:
the row a protocol reports is the one its dev-side choice names (GoEmotions: ``global``; ``auto`` picks by
the cross-fitted number). The table also lists the classes whose test F1 the per-class thresholds move most.

    python benchmarks/threshold_policies.py --model benchmarks/results/suite_goemotions_mpnet/runs/\
goemotions__mpnet-base__keep__s13/run_0/model [--write]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
from pathlib import Path

import numpy as np
from _adapted import adapted_task, split_scores
from _machine import cpu_model, publish

from emopillars.evaluation.metrics import multilabel_report
from emopillars.evaluation.thresholds import ThresholdPolicy
from emopillars.training.calibration import choose_policy, cross_fitted_macro_f1
from emopillars.training.config import TrainConfig

HEADING = "Results: global vs per-class thresholds on an adapted model"
KINDS = ("global", "per_class")


def compare(dev_gold, dev_scores, test_gold, test_scores, labels: list[str], repeats: int, seed: int) -> dict:
    """Every policy chosen on dev, scored on test; the cross-fitted and in-sample dev macro-F1 beside it.

    ``auto`` is what a task with ``protocol.threshold: auto`` does (``choose_policy`` with the run's ``seed``);
    the cross-fitted column uses ``repeats`` fold splits of its own, so it may differ from auto's estimate in the
    third decimal."""
    dev_gold, test_gold = (np.asarray(dev_gold) >= 0.5).astype(np.int8), (np.asarray(test_gold) >= 0.5).astype(np.int8)
    crossed = cross_fitted_macro_f1(dev_gold, dev_scores, labels, repeats=repeats, seed=seed)
    policy = ThresholdPolicy.fit(dev_gold, dev_scores, labels)
    auto = choose_policy(dev_gold, dev_scores, labels, "auto", seed=seed)
    rows, per_class = {}, {}
    for kind in KINDS:
        policy.kind = kind
        report = multilabel_report(test_gold, policy.apply(test_scores), labels)
        rows[kind] = {
            "dev_cross_fitted_macro_f1": round(crossed[kind], 4),
            "dev_in_sample_macro_f1": round(policy.dev_macro_f1[kind], 4),
            "test_macro_f1": round(float(report["macro_f1"]), 4),
            "test_micro_f1": round(float(report["micro_f1"]), 4),
        }
        per_class[kind] = {label: stat["f1"] for label, stat in report["per_class"].items()}
    rows[f"auto (picks {auto.kind})"] = rows[auto.kind]
    moved = sorted(labels, key=lambda label: abs(per_class["per_class"][label] - per_class["global"][label]))
    return {
        "rows": rows,
        "auto_picks": auto.kind,
        "global_threshold": policy.global_threshold,
        "per_class_thresholds": dict(zip(labels, policy.per_class, strict=True)),
        "most_moved": {
            label: {kind: round(per_class[kind][label], 3) for kind in KINDS} for label in reversed(moved[-6:])
        },
    }


def markdown(summary: dict) -> str:
    lines = [
        f"`{summary['command']}` on {summary['machine']}; model `{summary['model']}` ({summary['task']}, "
        f"dev {summary['dev_rows']:,} rows, test {summary['test_rows']:,}).",
        "",
        f"| policy (chosen on dev) | dev cross-fitted macro-F1 ({summary['repeats']} splits) | dev in-sample | "
        "test macro-F1 | test micro-F1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, row in summary["rows"].items():
        lines.append(
            f"| {kind} | {row['dev_cross_fitted_macro_f1']:.4f} | {row['dev_in_sample_macro_f1']:.4f} | "
            f"{row['test_macro_f1']:.4f} | {row['test_micro_f1']:.4f} |"
        )
    thresholds = np.asarray(list(summary["per_class_thresholds"].values()))
    moved = summary["most_moved"].items()
    lines += [
        "",
        f"`auto` (`protocol.threshold: auto`, seed {summary['seed']}) picks **{summary['auto_picks']}**. "
        f"Global threshold {summary['global_threshold']:.2f}; per-class thresholds "
        f"{thresholds.min():.2f}..{thresholds.max():.2f} (median {np.median(thresholds):.2f}).",
        "Test F1 of the classes the per-class thresholds move most (global -> per-class): "
        + ", ".join(f"{name} {f1['global']:.2f} -> {f1['per_class']:.2f}" for name, f1 in moved)
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="an adapted multi-label model folder (it remembers its task)")
    parser.add_argument("--repeats", type=int, default=5, help="random fold splits of the cross-fitting")
    parser.add_argument("--json", help="also write the summary here")
    parser.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = parser.parse_args()
    model_dir = Path(args.model)
    task, head = adapted_task(model_dir)
    if not task.multi_label:
        raise SystemExit(f"task {task.name} is single-label: benchmarks/decision_rules.py compares its rules")
    if "test" not in task.paths:
        raise SystemExit(f"task {task.name} has no test split to score the policies on")
    dev_scores, dev = split_scores(model_dir, task, head, "dev")
    test_scores, test = split_scores(model_dir, task, head, "test")
    labels = list(task.labels)
    seed = TrainConfig.load(model_dir).seed
    summary = compare(dev.targets(), dev_scores, test.targets(), test_scores, labels, args.repeats, seed)
    summary.update(
        command=f"python benchmarks/threshold_policies.py --model {model_dir}" + (" --write" if args.write else ""),
        machine=f"{cpu_model()}, {os.cpu_count()} cores",
        model=str(model_dir),
        task=task.name,
        dev_rows=len(dev),
        test_rows=len(test),
        repeats=args.repeats,
        seed=seed,
    )
    publish(summary, markdown, HEADING, args.json, args.write)


if __name__ == "__main__":
    main()
