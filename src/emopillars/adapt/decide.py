"""How an adapted model's scores become a task's predictions, where that is chosen, and what each choice scores.

A *decision* is thresholds (multi-label tasks, chosen on a selection set) or a single-label rule
(``evaluation/decision.py``: argmax, class-prior correction, an offset for the none class). A *view* is one
reported number set: which data, which decision, where the decision was chosen, the task's metrics and the
per-class precision / recall / F1. Most protocols have one view; EmoContext's ``train_dev`` protocol with a
rule chosen on dev has three:

- ``dev_argmax``: dev by argmax, nothing chosen on dev (the paper's setting);
- ``dev_rule``: dev with a rule cross-fitted on dev halves (honest, since dev is also what is reported);
- ``test``: the labelled test file, when the user has it, with the rule chosen on all of dev.

The decision kept for later use is written beside the model (``adapted_task.json``, with the task itself),
so ``emopillars evaluate --model DIR --data FILE`` scores any file of the task's format the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.tasks import TaskSpec
from emopillars.data.example import LabeledData
from emopillars.evaluation.decision import DecisionRule, class_prior, cross_fit, fit_rule, full_report
from emopillars.evaluation.thresholds import ThresholdPolicy, best_global_threshold
from emopillars.files import atomic_write_text
from emopillars.training.calibration import choose_policy

ADAPTED_FILE = "adapted_task.json"
VIEW_LABELS = {
    "dev_argmax": "dev, argmax (nothing chosen on dev: the paper's setting)",
    "dev_rule": "dev, rule cross-fitted on dev halves",
    "test": "test",
    "dev": "dev",
    "fold": "test folds",
}


@dataclass
class TaskDecision:
    """Thresholds (multi-label) or a single-label rule, over the task's labels."""

    labels: list[str]
    policy: ThresholdPolicy | None = None
    rule: DecisionRule | None = None

    def __post_init__(self) -> None:
        if (self.policy is None) == (self.rule is None):
            raise ValueError("a task decision is either thresholds or a single-label rule")

    @property
    def multi_label(self) -> bool:
        return self.policy is not None

    def predict(self, task_scores: np.ndarray) -> np.ndarray:
        """0/1 predictions (n, n_labels); one 1 per row for a single-label rule."""
        if self.policy is not None:
            return self.policy.apply(task_scores)
        indices = self.rule.apply(task_scores)
        out = np.zeros(task_scores.shape, dtype=np.int8)
        out[np.arange(len(indices)), indices] = 1
        return out

    def describe(self) -> str:
        if self.rule is not None:
            return self.rule.describe()
        policy = self.policy
        if policy.kind == "global":
            return f"one global threshold {policy.global_threshold:.2f}"
        return f"{policy.kind} thresholds"

    def to_dict(self) -> dict:
        if self.rule is not None:
            return {"kind": "rule", "rule": self.rule.to_dict()}
        return {"kind": "thresholds", "policy": self.policy.to_dict()}

    @classmethod
    def from_dict(cls, data: dict, labels: list[str]) -> TaskDecision:
        if data.get("kind") == "rule":
            return cls(labels, rule=DecisionRule.from_dict(data["rule"]))
        if data.get("kind") == "thresholds":
            return cls(labels, policy=ThresholdPolicy.from_dict(data["policy"]))
        raise ValueError(f"unknown task decision {data.get('kind')!r}")

    def summary(self) -> dict:
        """The short form kept in run summaries (``kind`` argmax / global / per_class / a rule kind)."""
        if self.rule is not None:
            return {"kind": self.rule.kind, "rule": self.rule.to_dict(), "describe": self.describe()}
        return self.policy.to_dict()


# --- choosing on a selection set ------------------------------------------------------------------------------------


def task_targets(data: LabeledData) -> np.ndarray:
    """Class index per row of single-label data."""
    return data.targets().argmax(axis=1)


def task_selection(task: TaskSpec, head: HeadPolicy, select: LabeledData):
    """The trainer's epoch selection on the task's own metric, over the task's columns (``None``: the trainer's
    default, thresholded macro-F1 over every column, which is the task's metric when the task reads them all)."""
    from emopillars.evaluation.decision import single_label_metric
    from emopillars.training.trainer import Selection

    if not len(select):
        return None
    if task.multi_label:
        if head.columns == list(range(len(head.model_labels))):
            return None
        truth = select.targets()
        return Selection("macro_f1", lambda scores: best_global_threshold(truth, head.task_scores(scores))[1])
    metric = single_label_metric(task.primary_metric, task.labels)
    gold = task_targets(select)
    return Selection(task.primary_metric, lambda scores: metric(gold, head.task_scores(scores).argmax(axis=1)))


def view(task: TaskSpec, split: str, data: LabeledData, task_scores: np.ndarray, decision: TaskDecision) -> dict:
    """The task's metrics (and per-class precision / recall / F1) of ``decision`` on ``data``."""
    from emopillars.evaluation.metrics import multilabel_report

    if decision.multi_label:
        report = multilabel_report(data.targets(), decision.predict(task_scores), task.labels)
    else:
        report = full_report(task_targets(data), decision.rule.apply(task_scores), task.labels)
    return make_view(task, split, report, decision.describe(), len(data))


def make_view(task: TaskSpec, split: str, report: dict, decision: str, n: int, **extra) -> dict:
    return {
        "label": VIEW_LABELS.get(split, split),
        "metrics": {name: float(report[name]) for name in task.metrics},
        "per_class": report["per_class"],
        "decision": decision,
        "n": n,
        **extra,
    }


def decide_and_score(
    task: TaskSpec,
    train: LabeledData,
    select: LabeledData,
    select_scores: np.ndarray | None,
    report: LabeledData,
    report_scores: np.ndarray,
    report_name: str,
    extras: dict[str, tuple[LabeledData, np.ndarray]],
    seed: int,
    trained_policy: ThresholdPolicy | None = None,
) -> tuple[TaskDecision, dict[str, dict], str]:
    """The decision to keep, every view of this run, and which view is the headline.

    All scores are task scores (columns in ``task.labels`` order). ``trained_policy``: thresholds the trainer
    already calibrated on the same selection set over exactly these columns (reused as is).
    """
    views: dict[str, dict] = {}
    if task.multi_label:
        if trained_policy is not None:
            policy = trained_policy
        else:
            if select_scores is None or not len(select):
                raise ValueError(f"task {task.name}: a multi-label task needs a dev set to choose thresholds on")
            policy = choose_policy(select.targets(), select_scores, task.labels, task.protocol.threshold, seed=seed)
        decision = TaskDecision(task.labels, policy=policy)
        views[report_name] = view(task, report_name, report, report_scores, decision)
        primary = report_name
    else:
        spec = task.decision
        options = {
            "kinds": spec.kinds,
            "prior_train": class_prior(task_targets(train), len(task.labels)),
            "none_label": spec.none_label,
        }
        if spec.choose_on == "none":
            decision = TaskDecision(task.labels, rule=DecisionRule.argmax(task.labels))
            views[report_name] = view(task, report_name, report, report_scores, decision)
            primary = report_name
        elif task.protocol.kind == "train_dev":
            # dev is the reported set: keep the plain argmax row, cross-fit the rule's dev number, and keep
            # the rule chosen on all of dev for later use (test)
            argmax = TaskDecision(task.labels, rule=DecisionRule.argmax(task.labels))
            views["dev_argmax"] = view(task, "dev_argmax", report, report_scores, argmax)
            gold = task_targets(report)
            crossed = cross_fit(
                gold,
                report_scores,
                task.labels,
                task.primary_metric,
                parts=spec.cross_fit_parts,
                repeats=spec.cross_fit_repeats,
                seed=seed,
                **options,
            )
            rule = fit_rule(
                gold, report_scores, task.labels, task.primary_metric, chosen_on=f"all of dev ({len(report)} rows)",
                **options,
            )  # fmt: skip
            decision = TaskDecision(task.labels, rule=rule)
            described = (
                f"rule chosen on {spec.cross_fit_parts - 1} of {spec.cross_fit_parts} stratified parts of dev, "
                f"scored on the other, pooled, mean of {crossed.repeats} random splits (chosen kinds: "
                f"{crossed.kinds_chosen})"
            )
            views["dev_rule"] = make_view(
                task, "dev_rule", crossed.report, described, len(report), std_over_splits=crossed.std,
                values_over_splits=crossed.values, in_sample=rule.fit_score,
            )  # fmt: skip
            primary = "dev_rule"
        else:
            if select_scores is None or not len(select):
                raise ValueError(f"task {task.name}: decision.choose_on dev needs a selection set")
            rule = fit_rule(
                task_targets(select), select_scores, task.labels, task.primary_metric,
                chosen_on=f"the selection set ({len(select)} rows)", **options,
            )  # fmt: skip
            decision = TaskDecision(task.labels, rule=rule)
            views[report_name] = view(task, report_name, report, report_scores, decision)
            primary = report_name
    for name, (data, scores) in extras.items():
        views[name] = view(task, name, data, scores, decision)
        if name == "test" and task.protocol.kind == "train_dev" and task.decision.choose_on == "dev":
            views[name]["label"] = "test, rule chosen on all of dev"
    return decision, views, primary


# --- remembering the task beside the model --------------------------------------------------------------------------


def save_adapted(model_dir: str | Path, task: TaskSpec, head: HeadPolicy, decision: TaskDecision, views: dict) -> Path:
    """Write ``adapted_task.json``: the task, the head policy and the decision, so the model can score any file of
    the task's format without being told again."""
    path = Path(model_dir) / ADAPTED_FILE
    payload = {
        "task": task.model_dump(mode="json"),
        "head": head.kind,
        "decision": decision.to_dict(),
        "views": {name: {"label": v["label"], "metrics": v["metrics"], "n": v["n"]} for name, v in views.items()},
    }
    return atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def load_adapted(model_dir: str | Path) -> dict | None:
    """The saved task, head and decision of an adapted model (``None`` when the model holds none)."""
    path = Path(model_dir) / ADAPTED_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(data, dict) or not {"task", "head", "decision"} <= set(data):
        raise ValueError(f"{path}: needs task, head and decision")
    return data
