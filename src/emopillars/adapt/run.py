"""Two-stage training: start from a plain encoder or a checkpoint (e.g. trained on synthetic data), fine-tune on
a task, and score it under the task's protocol.

``adapt`` runs one *cell*: one task, one starting point, one head policy, one seed, one profile. The
protocol decides the runs inside it (one for ``official``/``train_dev``, one per fold for ``kfold``).
Each finished run writes ``run_K/metrics.json`` with a key of its settings, so an interrupted k-fold
cell resumes at the first unfinished fold.

Under ``torchrun`` (:mod:`emopillars.training.distributed`) every rank trains, but rank 0 alone scores the
trained model and writes: ``task.yaml``, each run's key, model folder and ``metrics.json``, and
``result.json``. The other ranks wait on a barrier and read the run's summary back from rank 0's
``metrics.json``, so every rank returns the same result and no file is written twice.

What is never done: choosing a threshold, an epoch or anything else on the set that is reported.
``official`` selects on dev and reports test; ``kfold`` selects on a dev carved from the training folds;
``train_dev`` reports dev: the plain argmax row selects nothing there, and a decision rule chosen on dev
(``decision.choose_on: dev``) is scored by cross-fitting on dev halves (``decide.py``). Epochs are chosen on
the selection set by the task's own metric (argmax macro-F1, the official EmoContext micro-F1, ...).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from emopillars.adapt.decide import decide_and_score, save_adapted, task_selection
from emopillars.adapt.dialogue import load_dialogues
from emopillars.adapt.folds import carve_dev, drop_non_answers, group_keys, kfold, stratify_labels
from emopillars.adapt.heads import HeadPolicy, argmax_predictions
from emopillars.adapt.tasks import TaskSpec, load_task
from emopillars.data.example import LabeledData
from emopillars.data.loaders import FORMATS, load, options_of, register_format
from emopillars.files import atomic_write_text
from emopillars.taxonomy import LABELS

log = logging.getLogger("emopillars.adapt")

PROFILES = ("quick", "cpu", "full")
DEFAULT_PROFILES: dict[str, dict] = {
    "full": {},
    "cpu": {"bf16": False},
    "quick": {"epochs": 1, "limit": 4000, "max_length": 64, "bf16": "auto"},
}
"""Fallback profile settings; a task's own ``profiles`` entry overrides them key by key.

``quick``: minutes per task, capped training rows. ``cpu``: every training row and the best recipe measured
on a 2-core CPU (fp32: these cores have no native bf16). ``full``: the paper's settings (a GPU machine)."""

register_format("dialogue", load_dialogues)  # task format ``dialogue``: every task split loads through ``load``

RESULT_FILE = "result.json"
RUN_METRICS = "metrics.json"
RUN_KEY = "run_key.txt"
SOUP_DIR = "soup"


def stable_hash(value) -> str:
    """A short hash of a JSON-able value (sorted keys): the identity of a run or a suite cell."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- where a run starts -------------------------------------------------------------------------------------------


@dataclass
class StartPoint:
    """What ``--from`` names: a checkpoint this toolkit trained (``init_from``) or a plain encoder (``model``)."""

    spec: str
    model: str
    init_from: str | None = None
    label_names: list[str] | None = None
    keep_head: bool = False
    """Keep the checkpoint's head whatever the head policy (a soup's head, refit on the soup's encoder)."""

    @property
    def is_checkpoint(self) -> bool:
        return self.init_from is not None


def resolve_start(start: str) -> StartPoint:
    """A checkpoint directory (it holds ``training_config.json``) or an encoder (alias, HF dir or hub id)."""
    from emopillars.training.config import CONFIG_FILE, TrainConfig

    path = Path(start).expanduser()
    if path.is_dir() and (path / CONFIG_FILE).is_file():
        saved = TrainConfig.load(path)
        return StartPoint(start, saved.model, str(path.resolve()), saved.label_names)
    if (path.is_absolute() or start.startswith(".")) and not path.exists():
        raise FileNotFoundError(f"starting point {start} does not exist")
    if path.is_dir() and not (path / "config.json").is_file():
        raise ValueError(
            f"{start} is neither a checkpoint (no training_config.json) nor a HF model dir (no config.json)"
        )
    return StartPoint(start, str(path.resolve()) if path.is_dir() else start)


# --- data ---------------------------------------------------------------------------------------------------------


def load_split(task: TaskSpec, split: str) -> LabeledData:
    """The task's ``split`` file as ``LabeledData`` over exactly ``task.labels`` (in that order)."""
    return load_task_file(task, task.path(split))


def load_task_file(task: TaskSpec, path: str | Path) -> LabeledData:
    """Any file in the task's format (e.g. a new test set) as ``LabeledData`` over exactly ``task.labels``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    options = dict(task.loader_options)
    accepted = options_of(task.format) if task.format in FORMATS else []
    for key, value in (("labels", list(task.labels)), ("multi_label", task.multi_label)):
        if key in accepted:  # formats with a label list (custom, dialogue, generic) read the task's
            options.setdefault(key, value)
    data = load(path, task.format, **options)
    missing = set(data.label_names) - set(task.labels)
    if missing:
        raise ValueError(f"task {task.name}: {path} has labels {sorted(missing)} that the task does not list")
    data = LabeledData(data.examples, list(task.labels), data.source, data.skipped, task.multi_label)
    if not task.context_aware:
        # A context-less task must not see context, whatever the loader kept.
        for example in data.examples:
            example.context = None
    return data


def subsample(data: LabeledData, limit: int | None, seed: int) -> LabeledData:
    """At most ``limit`` rows, drawn at random with ``seed`` (file order is often sorted by label)."""
    if not limit or len(data) <= limit:
        return data
    rng = np.random.default_rng(seed)
    return data.subset(sorted(rng.choice(len(data), size=limit, replace=False).tolist()))


# --- settings -----------------------------------------------------------------------------------------------------


@dataclass
class RunSettings:
    """The resolved settings of a cell: epochs, train-row limit and ``TrainConfig`` overrides."""

    epochs: int
    limit: int | None = None
    train: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "limit": self.limit, "train": dict(sorted(self.train.items()))}


def resolve_settings(
    task: TaskSpec,
    profile: str = "full",
    *,
    epochs: int | None = None,
    limit: int | None = None,
    overrides: dict | None = None,
) -> RunSettings:
    """Task defaults < profile (built-in, then the task's own) < explicit arguments."""
    from emopillars.training.config import TrainConfig

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    merged: dict = {"epochs": task.epochs, **task.train}
    merged.update(DEFAULT_PROFILES[profile])
    merged.update(task.profiles.get(profile, {}))
    merged.update(overrides or {})
    if epochs is not None:
        merged["epochs"] = epochs
    if limit is not None:
        merged["limit"] = limit
    run_epochs = int(merged.pop("epochs"))
    run_limit = merged.pop("limit", None)
    known = {f.name for f in fields(TrainConfig)}
    reserved = {
        "model",
        "output_dir",
        "label_names",
        "init_from",
        "head",
        "seed",
        "context_aware",
        "limit",
        "loss_labels",
    }
    bad = set(merged) - (known - reserved)
    if bad:
        raise ValueError(f"task {task.name}: unknown or reserved training setting(s) {sorted(bad)}")
    if run_epochs < 1 or (run_limit is not None and int(run_limit) < 1):
        raise ValueError("epochs and limit must be positive")
    return RunSettings(run_epochs, int(run_limit) if run_limit else None, merged)


# --- scoring ------------------------------------------------------------------------------------------------------


def score(task: TaskSpec, head: HeadPolicy, scores: np.ndarray, data: LabeledData, thresholds=None) -> dict:
    """The task's metrics for model ``scores`` on ``data``: argmax (single-label) or ``thresholds`` (multi-label).

    (The protocol's own decision rules and views are in ``decide.py``.)"""
    from emopillars.evaluation.metrics import emocontext_micro_f1, multilabel_report, single_label_report

    task_scores = head.task_scores(scores)
    targets = data.targets()
    if task.multi_label:
        if thresholds is None:
            raise ValueError("a multi-label task needs thresholds chosen on a selection set")
        predictions = thresholds.apply(task_scores)
        report = multilabel_report(targets, predictions, task.labels)
    else:
        predictions = argmax_predictions(task_scores)
        y_true = targets.argmax(axis=1).tolist()
        y_pred = predictions.argmax(axis=1).tolist()
        report = single_label_report(y_true, y_pred, task.labels)
        if "emocontext_micro_f1" in task.metrics:
            names = task.labels
            report["emocontext_micro_f1"] = emocontext_micro_f1([names[i] for i in y_true], [names[i] for i in y_pred])
    return report


# --- one run (one split or one fold) ------------------------------------------------------------------------------


@dataclass
class RunData:
    """The roles of data in one run. ``select`` may be empty; it is never the ``report`` set. ``extras`` are
    further labelled sets scored with the run's decision (EmoContext's test file, when present)."""

    train: LabeledData
    select: LabeledData
    report: LabeledData
    report_name: str
    extras: dict[str, LabeledData] = field(default_factory=dict)


def _run_once(
    task: TaskSpec,
    head: HeadPolicy,
    start: StartPoint,
    data: RunData,
    settings: RunSettings,
    seed: int,
    run_dir: Path,
    key: str,
    keep_model: bool,
    batch_size: int,
    dist=None,
) -> dict:
    from emopillars.serving import EmotionClassifier
    from emopillars.training import TrainConfig, train
    from emopillars.training.distributed import Dist
    from emopillars.training.model_card import record_evaluation

    dist = dist or Dist()
    metrics_path = run_dir / RUN_METRICS
    saved = _saved_summary(metrics_path, key)
    if saved is not None:
        log.info("%s: finished earlier, reusing %s", run_dir.name, metrics_path)
        return saved
    resume = _resumable(run_dir, key)  # decided by every rank on the same files, before rank 0 changes them
    dist.barrier()
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _prepare_model_dir(run_dir, key, resume)
    dist.barrier()
    train_data = subsample(data.train, settings.limit, seed)
    keep_head = (head.kind == "keep" or start.keep_head) and start.is_checkpoint
    overrides = dict(settings.train)
    if overrides.get("loss") == "softmax":
        overrides["loss_labels"] = [head.model_labels[c] for c in head.columns]  # the task's own columns
    config = TrainConfig(
        model=start.model,
        output_dir=str(run_dir / "model"),
        epochs=settings.epochs,
        seed=seed,
        label_names=list(head.model_labels),
        init_from=start.init_from,
        head="keep" if keep_head else "new",
        context_aware=task.context_aware,
        threshold_policy=task.protocol.threshold if task.multi_label else "argmax",
        resume=resume,
        **overrides,
    )
    selection = task_selection(task, head, data.select)
    model_select = head.to_model_data(data.select) if len(data.select) else None
    started = time.perf_counter()
    result = train(config, head.to_model_data(train_data), model_select, selection=selection)
    train_s = time.perf_counter() - started + result.resumed_train_s  # the cell's cost, earlier processes included
    if not dist.is_main:  # rank 0 alone scores and writes; the summary is read back from its metrics.json
        dist.barrier()
        summary = _saved_summary(metrics_path, key)
        if summary is None:
            raise RuntimeError(f"rank 0 did not write {metrics_path}")
        return summary

    started = time.perf_counter()
    classifier = EmotionClassifier.load(result.model_dir, bf16=settings.train.get("bf16"))

    def task_scores(part: LabeledData) -> np.ndarray:
        return head.task_scores(classifier.predict_scores(part.examples, batch_size=batch_size))

    select_scores = None
    if len(data.select):
        if result.dev_scores is not None and len(result.dev_scores) == len(data.select):
            select_scores = head.task_scores(result.dev_scores)  # the best epoch's, already computed
        else:
            select_scores = task_scores(data.select)
    trained_policy = None
    saved = getattr(result, "policy", None)
    if task.multi_label and _covers_all_columns(head) and saved is not None:
        if task.protocol.threshold in (saved.kind, "auto"):
            trained_policy = saved  # the trainer calibrated (and, for auto, chose) this policy on this dev set
    report_scores = task_scores(data.report)
    extras = {name: (part, task_scores(part)) for name, part in data.extras.items()}
    decision, views, primary = decide_and_score(
        task, train_data, data.select, select_scores, data.report, report_scores, data.report_name, extras, seed,
        trained_policy,
    )  # fmt: skip
    eval_s = time.perf_counter() - started

    summary = {
        "metrics": views[primary]["metrics"],
        "primary_view": primary,
        "views": views,
        "n_train": len(train_data),
        "n_select": len(data.select),
        "n_report": len(data.report),
        "report_split": data.report_name,
        "train_s": round(train_s, 1),
        "eval_s": round(eval_s, 1),
        "train_examples_per_s": _float_or_none(getattr(result, "train_examples_per_s", None)),
        "best_epoch": getattr(result, "best_epoch", None),
        "epochs_run": getattr(result, "epochs_run", None),
        "selection_metric": getattr(result, "selection_metric", None),
        "history": getattr(result, "history", []),
        "thresholds": decision.summary(),
    }
    if keep_model:
        shutil.rmtree(run_dir / "model" / "checkpoint", ignore_errors=True)  # resume state of a finished run
        save_adapted(run_dir / "model", task, head, decision, views)
        record_evaluation(run_dir / "model", task.name, data.report_name, summary["metrics"])
    else:
        shutil.rmtree(run_dir / "model", ignore_errors=True)
    # written last: it marks the run finished (a rerun reuses it), and the other ranks read it back
    saved_json = json.dumps({"key": key, "summary": summary}, indent=2, default=_json_default)
    atomic_write_text(metrics_path, saved_json + "\n")
    dist.barrier()
    log.info(
        "%s: %s", run_dir.name,
        "; ".join(
            f"{name}: " + ", ".join(f"{k}={v:.4f}" for k, v in v["metrics"].items()) for name, v in views.items()
        ),
    )  # fmt: skip
    return summary


def _covers_all_columns(head: HeadPolicy) -> bool:
    """True when the task reads every model column in order (GoEmotions under keep; any task under new)."""
    return head.columns == list(range(len(head.model_labels))) and head.task_labels == head.model_labels


def _saved_summary(metrics_path: Path, key: str) -> dict | None:
    """The summary of a run finished earlier with the same key (None: none, another key, or unreadable)."""
    if not metrics_path.is_file():
        return None
    try:
        saved = json.loads(metrics_path.read_text(encoding="utf-8"))
        return saved["summary"] if saved.get("key") == key else None
    except (json.JSONDecodeError, KeyError, TypeError):
        log.warning("%s is unreadable; running again", metrics_path)
        return None


def _resumable(run_dir: Path, key: str) -> bool:
    """True when ``run_dir`` holds an interrupted training of the same run (same key) to resume; reads only."""
    key_file = run_dir / RUN_KEY
    same = key_file.is_file() and key_file.read_text(encoding="utf-8").strip() == key
    return same and (run_dir / "model" / "checkpoint" / "state.json").is_file()


def _prepare_model_dir(run_dir: Path, key: str, resume: bool) -> None:
    """Resume an interrupted training of the same run at its last epoch; otherwise start clean (rank 0 only)."""
    if resume:
        log.info("%s: resuming the interrupted training", run_dir.name)
        return
    shutil.rmtree(run_dir / "model", ignore_errors=True)
    atomic_write_text(run_dir / RUN_KEY, key + "\n")


def _float_or_none(value) -> float | None:
    try:
        return None if value is None else round(float(value), 2)
    except (TypeError, ValueError):
        return None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def member_run_keys(member: str | Path) -> dict[str, str]:
    """The run keys of a finished ``adapt`` output folder (a soup's identity: retrained members, new soup)."""
    paths = sorted(Path(member).glob(f"*/{RUN_KEY}"))
    keys = {path.parent.name: path.read_text(encoding="utf-8").strip() for path in paths}
    if not keys:
        raise FileNotFoundError(f"{member} holds no finished runs to make a soup of")
    return keys


def _soup_start(members: list[Path], folder: Path, dist) -> StartPoint:
    """The soup of ``members`` (built once by rank 0, reused when an interrupted refit resumes) as a start."""
    from emopillars.training.soup import SOUP_FILE, soup_models

    if dist.is_main:
        saved = folder / SOUP_FILE
        wanted = [str(member) for member in members]
        if not saved.is_file() or json.loads(saved.read_text(encoding="utf-8"))["members"] != wanted:
            soup_models(members, folder)
    dist.barrier()
    start = resolve_start(str(folder))
    start.keep_head = True
    return start


# --- protocols ----------------------------------------------------------------------------------------------------


def plan_runs(task: TaskSpec, seed: int) -> list[tuple[str, RunData]]:
    """(run name, data) for every run the protocol asks for. Split carving uses the protocol's seed only,
    so every starting point and every training seed sees the very same folds."""
    protocol = task.protocol
    if protocol.kind == "official":
        return [
            ("run_0", RunData(load_split(task, "train"), load_split(task, "dev"), load_split(task, "test"), "test"))
        ]
    if protocol.kind == "train_dev":
        train = load_split(task, "train")
        y = stratify_labels(train)
        groups = group_keys(train.examples, protocol.group_by)
        keep, select = carve_dev(list(range(len(train))), y, groups, protocol.dev_fraction, protocol.seed)
        extras = {}
        if task.has_split("test"):
            extras["test"] = load_split(task, "test")
        elif "test" in task.paths:
            log.info(
                "task %s: no test file at %s: test is not scored (docs/adaptation.md)", task.name, task.resolve("test")
            )
        run = RunData(train.subset(keep), train.subset(select), load_split(task, "dev"), "dev", extras)
        return [("run_0", run)]
    data = load_split(task, "data")
    if protocol.drop_non_answers:
        data, dropped = drop_non_answers(data)
        log.info("task %s: dropped %d non-answer rows", task.name, dropped)
    folds = kfold(data, protocol.folds, protocol.seed, protocol.dev_fraction, protocol.group_by)
    return [
        (f"fold_{fold.index}", RunData(data.subset(fold.train), data.subset(fold.dev), data.subset(fold.test), "fold"))
        for fold in folds
    ]


def describe_protocol(task: TaskSpec) -> str:
    """One sentence stating the protocol, printed under result tables."""
    p = task.protocol
    rule = task.decision.choose_on == "dev" and not task.multi_label
    if task.multi_label:
        decide = f"{p.threshold} threshold chosen on dev"
    elif rule:
        decide = f"a decision rule ({', '.join(task.decision.kinds)}) chosen on dev by {task.primary_metric}"
    else:
        decide = "argmax over the task's classes"
    if p.kind == "official":
        return f"train on train, {decide}, report the full test set"
    if p.kind == "train_dev":
        text = f"train on train ({p.dev_fraction:.0%} held out to choose the epoch), report the full dev set"
        if rule:
            text += (
                f" twice: by argmax (nothing chosen on dev), and with {decide}, cross-fitted "
                f"({task.decision.cross_fit_parts} stratified parts, chosen on the rest and scored on each, pooled, "
                f"mean of {task.decision.cross_fit_repeats} random splits); test, when its file is present, is "
                "scored with the rule chosen on all of dev"
            )
        else:
            text += f", {decide} (nothing chosen on dev)"
        return text
    dropped = "non-answers dropped" if p.drop_non_answers else "non-answers kept as one group"
    return (
        f"stratified {p.folds}-fold CV (seed {p.seed}), identical texts in one fold, {dropped}, "
        f"{p.dev_fraction:.0%} of each training part as dev, {decide}, mean +- std over folds"
    )


def aggregate(task: TaskSpec, runs: dict[str, dict]) -> dict:
    """Mean and std (population, over runs) of each metric of the headline view."""
    return _stats(task, [run["metrics"] for run in runs.values()])


def _stats(task: TaskSpec, metrics: list[dict]) -> dict:
    out = {}
    for name in task.metrics:
        values = [m[name] for m in metrics]
        out[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)) if len(values) > 1 else 0.0,
            "values": values,
        }
    return out


def aggregate_views(task: TaskSpec, runs: dict[str, dict]) -> dict:
    """Per view: its label, mean/std of each metric over runs, and the mean per-class precision/recall/F1."""
    out: dict[str, dict] = {}
    names = [name for run in runs.values() for name in run.get("views", {})]
    for name in dict.fromkeys(names):
        views = [run["views"][name] for run in runs.values() if name in run.get("views", {})]
        per_class = {
            label: {
                stat: float(np.mean([v["per_class"][label][stat] for v in views]))
                for stat in ("precision", "recall", "f1", "support")
            }
            for label in views[0]["per_class"]
        }
        out[name] = {
            "label": views[0]["label"],
            "decision": views[0]["decision"],
            "metrics": _stats(task, [v["metrics"] for v in views]),
            "per_class": per_class,
        }
    return out


def present_splits(task: TaskSpec) -> list[str]:
    """The task's splits whose files will be used (optional ones only when present): part of a run's identity, so
    a test file added later makes the run score it."""
    return sorted(split for split in task.paths if task.has_split(split))


def adapt(
    task: TaskSpec | str,
    start: str,
    head: str = "keep",
    seed: int = 13,
    profile: str = "full",
    out_dir: str | Path = "runs/adapt",
    *,
    epochs: int | None = None,
    limit: int | None = None,
    overrides: dict | None = None,
    keep_models: bool | None = None,
    batch_size: int = 64,
    soup_of: Sequence[str | Path] | None = None,
) -> dict:
    """Fine-tune ``start`` on ``task`` under its protocol; return (and write ``out_dir/result.json``) the metrics.

    ``keep_models``: keep each run's fine-tuned model (default: yes for single-run protocols, no for k-fold,
    whose five models would only fill the disk).
    ``soup_of``: the output folders of finished ``adapt`` calls of this task (other seeds, models kept): each run
    then starts from the soup of their models of the same run (:mod:`emopillars.training.soup`) and keeps its
    head; pass ``overrides={"freeze_encoder": True, ...}`` to refit the head alone.
    """
    from emopillars.training.distributed import setup

    task = load_task(task) if isinstance(task, str) else task
    dist = setup()  # under torchrun: joins the process group; rank 0 alone writes (see the module doc)
    out = Path(out_dir)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    start_point = resolve_start(start)
    policy = HeadPolicy.for_task(task, head)
    if policy.kind == "keep" and start_point.is_checkpoint and start_point.label_names not in (None, list(LABELS)):
        raise ValueError(
            f"--head keep needs a checkpoint with the 28-label taxonomy head; {start} has "
            f"{len(start_point.label_names)} labels: use --head new"
        )
    settings = resolve_settings(task, profile, epochs=epochs, limit=limit, overrides=overrides)
    identity = {
        "task": task.identity(),
        "splits": present_splits(task),
        "start": start_point.spec,
        "head": policy.kind,
        "seed": seed,
        "settings": settings.to_dict(),
    }
    if soup_of:
        identity["soup_of"] = [member_run_keys(member) for member in soup_of]
    if dist.is_main:
        atomic_write_text(out / "task.yaml", task.to_yaml())
    started = time.perf_counter()
    runs_plan = plan_runs(task, seed)
    if keep_models is None:
        keep_models = len(runs_plan) == 1
    runs: dict[str, dict] = {}
    for index, (name, data) in enumerate(runs_plan, start=1):
        log.info(
            "task %s, %s (%d/%d): train %d rows (limit %s), select %d, report %d (%s)",
            task.name, name, index, len(runs_plan), len(data.train), settings.limit,
            len(data.select), len(data.report), data.report_name,
        )  # fmt: skip
        key = stable_hash({**identity, "run": name})
        run_start = start_point
        if soup_of and _saved_summary(out / name / RUN_METRICS, key) is None:
            run_start = _soup_start([Path(member) / name / "model" for member in soup_of], out / name / SOUP_DIR, dist)
        runs[name] = _run_once(
            task, policy, run_start, data, settings, seed, out / name, key, keep_models, batch_size, dist
        )
        if soup_of and dist.is_main:
            shutil.rmtree(out / name / SOUP_DIR, ignore_errors=True)  # the refit model is the soup now
    result = {
        "task": task.name,
        "start": start_point.spec,
        "start_kind": "checkpoint" if start_point.is_checkpoint else "encoder",
        "head": policy.kind,
        "seed": seed,
        "profile": profile,
        "settings": settings.to_dict(),
        "protocol": describe_protocol(task),
        "primary_metric": task.primary_metric,
        "primary_view": next(iter(runs.values()))["primary_view"],
        "metrics": aggregate(task, runs),
        "views": aggregate_views(task, runs),
        "runs": runs,
        "wall_s": round(time.perf_counter() - started, 1),
        "train_s": round(sum(run["train_s"] for run in runs.values()), 1),
    }
    if dist.is_main:
        atomic_write_text(out / RESULT_FILE, json.dumps(result, indent=2) + "\n")
    return result
