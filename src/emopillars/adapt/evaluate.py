"""Scoring an adapted model on any labelled file of its task's format: ``emopillars evaluate --task``.

The task decides everything that the model's 28 taxonomy columns do not say: how the file is read (its
format and loader options), which columns are the task's labels (the head policy's label map: EmoContext's
``happy`` is the model's ``joy``, ``others`` its ``neutral``), how scores become predictions (the decision
rule or thresholds chosen on dev when the model was adapted), and which metrics are reported (EmoContext's
official micro-F1 included). A model written by ``emopillars adapt`` remembers its task and decision
(``adapted_task.json``), so ``--task`` is only needed for other models (a single-label task is then read by
argmax, a multi-label one with the model's own thresholds over the task's columns).

A model folder without ``training_config.json`` is refused: that file is written when training ends, and
without it a context-aware model would be evaluated without its context (and a run still training would be
scored on whatever epoch it last saved).
"""

from __future__ import annotations

import time
from pathlib import Path

from emopillars.adapt.decide import TaskDecision, load_adapted
from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.run import load_task_file
from emopillars.adapt.tasks import TaskSpec, load_task
from emopillars.evaluation.decision import DecisionRule, full_report
from emopillars.evaluation.metrics import multilabel_report
from emopillars.taxonomy import LABELS


def require_finished_model(model_dir: str | Path) -> Path:
    """The model folder, or a clear error when it is not a finished model written by emopillars."""
    from emopillars.inference.loading import ONNX_FILE, check_model_dir
    from emopillars.training.config import CONFIG_FILE

    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"model folder {path} does not exist")
    if (path / CONFIG_FILE).is_file() or not (path / "checkpoint").is_dir():
        # a damaged folder says what is damaged (truncated weights, no tokenizer) before what it lacks
        check_model_dir(path, weights=not (path / ONNX_FILE).is_file())
    if not (path / CONFIG_FILE).is_file():
        training = (path / "checkpoint").is_dir()
        why = (
            "its training has not finished (a checkpoint/ folder is there): wait for it, or evaluate another model"
            if training
            else "it was not written by `emopillars train` / `emopillars adapt`"
        )
        raise ValueError(
            f"{path} has no {CONFIG_FILE}, so how its inputs were encoded (context or not, length) is unknown: "
            f"{why}. Refusing to evaluate it rather than silently dropping a context-aware model's context."
        )
    return path


def resolve_task_and_decision(model_dir: Path, task: str | TaskSpec | None, model_labels: list[str]):
    """(task, head policy, decision or None, notes) for a model folder and an optional task override."""
    saved = load_adapted(model_dir)
    notes: list[str] = []
    saved_task = TaskSpec.model_validate(saved["task"]) if saved else None
    if task is None:
        if saved_task is None:
            raise ValueError(
                f"{model_dir} does not remember a task (no adapted_task.json): pass --task NAME or a task YAML"
            )
        spec = saved_task
    else:
        spec = load_task(task) if not isinstance(task, TaskSpec) else task
    if model_labels == list(spec.labels):
        head_kind = "new"
    elif model_labels == list(LABELS):
        head_kind = "keep"
    else:
        raise ValueError(
            f"the model predicts {len(model_labels)} labels ({', '.join(model_labels[:6])}, ...), neither the "
            f"taxonomy nor task {spec.name}'s labels: it was not adapted to this task"
        )
    head = HeadPolicy.for_task(spec, head_kind)
    decision = None
    if saved and saved_task is not None:
        same = saved_task.name == spec.name and saved_task.labels == spec.labels and saved["head"] == head_kind
        if same:
            decision = TaskDecision.from_dict(saved["decision"], list(spec.labels))
        else:
            notes.append(
                f"the model was adapted to task {saved_task.name}; its decision rule is not used for {spec.name}"
            )
    return spec, head, decision, notes


def evaluate_task(
    model_dir: str | Path,
    data_path: str | Path,
    task: str | TaskSpec | None = None,
    *,
    batch_size: int = 64,
    bf16: bool | None = None,
    num_threads: int | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> dict:
    """The task's metrics (and per-class precision / recall / F1) of the model on the labelled file.

    ``bf16=None``: the precision the model was trained (and its adaptation scored) with: fp32 for a model trained
    with ``bf16=False``, else auto. bf16 scores differ from fp32 ones in the third decimal, enough to move a
    prediction across a per-class threshold, so the adaptation's reported numbers are reproduced exactly."""
    from emopillars.serving import EmotionClassifier
    from emopillars.training.config import TrainConfig

    path = require_finished_model(model_dir)
    if bf16 is None and TrainConfig.load(path).bf16 is False:
        bf16 = False
    classifier = EmotionClassifier.load(path, bf16=bf16, num_threads=num_threads)
    spec, head, decision, notes = resolve_task_and_decision(path, task, list(classifier.label_names))
    data = load_task_file(spec, data_path)
    if limit:
        data = data.subset(range(min(limit, len(data))))
    if not len(data):
        raise ValueError(f"{data_path} holds no examples")
    if spec.context_aware and not data.has_context:
        notes.append("the task is context-aware but the file has no contexts")
    if decision is None:
        if spec.multi_label:
            policy = classifier.policy
            if head.kind == "keep":
                from emopillars.training.evaluate import restrict_policy

                policy = restrict_policy(policy, head.columns, list(spec.labels))
            if policy.kind == "argmax":
                raise ValueError("a multi-label task needs thresholds; the model holds none")
            decision = TaskDecision(list(spec.labels), policy=policy)
        else:
            decision = TaskDecision(list(spec.labels), rule=DecisionRule.argmax(spec.labels))
    started = time.perf_counter()
    scores = head.task_scores(classifier.predict_scores(data.examples, batch_size=batch_size, progress=progress))
    seconds = time.perf_counter() - started
    if decision.multi_label:
        report = multilabel_report(data.targets(), decision.predict(scores), spec.labels)
    else:
        report = full_report(data.targets().argmax(axis=1), decision.rule.apply(scores), spec.labels)
    report.update(
        {
            "task": spec.name,
            "task_metrics": {name: float(report[name]) for name in spec.metrics},
            "primary_metric": spec.primary_metric,
            "decision": decision.describe(),
            "head": head.kind,
            "model": str(path),
            "data": str(data_path),
            "context_aware": classifier.context_aware,
            "skipped_rows": data.skipped,
            "inference_examples_per_s": round(len(data) / max(seconds, 1e-9), 1),
            "notes": notes,
        }
    )
    return report
