"""A task to adapt to, as configuration: where its data lies, its labels, and the protocol that scores it.

A protocol is data, not code (the lm-evaluation-harness lesson): ``protocols/*.yaml`` ship the three
benchmark tasks of the paper and two examples a user copies for their own data. ``load_task`` takes a
shipped name (``isear``) or a YAML path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emopillars import settings
from emopillars.taxonomy import LABELS

PROTOCOL_DIR = Path(__file__).parent / "protocols"

SINGLE_LABEL_METRICS = {"macro_f1", "micro_f1", "accuracy", "emocontext_micro_f1"}
MULTI_LABEL_METRICS = {"macro_f1", "micro_f1"}


class Protocol(BaseModel):
    """How a task is split, selected on, and reported.

    - ``official``: train on ``train``; choose thresholds / epochs on ``dev``; report on ``test``.
    - ``kfold``: stratified group k-fold over ``data`` (``folds``, ``seed``); identical texts share a fold;
      a ``dev_fraction`` of each training part (never the test fold) is held out for selection.
    - ``train_dev``: train on ``train``; report on ``dev`` (the task has no labelled test set to use).
      Nothing is selected on ``dev`` then: single-label tasks predict by argmax, and a ``dev_fraction``
      of ``train`` may be held out to monitor training.

    ``group_by``: what must never straddle folds or the dev carve: ``text`` (identical normalized texts)
    or ``group`` (``Example.group``: a dialogue id, a plot; falls back to the text when unset).
    ``drop_non_answers`` drops rows like ISEAR's ``[ No response.]`` before splitting (default: keep them).
    ``threshold`` (multi-label tasks): one ``global`` threshold, ``per_class`` thresholds, or ``auto``: whichever
    of the two scores the better cross-fitted macro-F1 on dev (:func:`emopillars.training.calibration.choose_policy`),
    then refit on all of dev. Every choice is made on dev; test is only scored.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["official", "kfold", "train_dev"]
    folds: int = 5
    seed: int = 13
    dev_fraction: float = 0.1
    group_by: Literal["text", "group"] = "text"
    drop_non_answers: bool = False
    threshold: Literal["global", "per_class", "auto"] = "global"

    @field_validator("folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"protocol.folds must be >= 2, got {value}")
        return value

    @field_validator("dev_fraction")
    @classmethod
    def _dev_fraction(cls, value: float) -> float:
        if not 0.0 <= value < 0.5:
            raise ValueError(f"protocol.dev_fraction must be in [0, 0.5), got {value}")
        return value


class DecisionSpec(BaseModel):
    """How a single-label task turns scores into one class (``evaluation/decision.py``).

    - ``choose_on: none``: argmax over the task's classes; nothing is chosen anywhere.
    - ``choose_on: dev``: a rule among ``kinds`` (class-prior correction, an offset for ``none_label``, both,
      or plain argmax) chosen by the task's primary metric on the dev set: the selection set of an
      ``official`` or ``kfold`` protocol. Under ``train_dev`` dev is also the reported set, so the dev number
      is *cross-fitted* (chosen on one part of dev, scored on the other, both ways, pooled; repeated over
      ``cross_fit_repeats`` random splits into ``cross_fit_parts`` stratified parts), the plain argmax row is
      reported beside it (nothing chosen on dev), and the rule chosen on all of dev is what the saved model
      carries and what scores ``test`` when the task has one.
    """

    model_config = ConfigDict(extra="forbid")

    choose_on: Literal["none", "dev"] = "none"
    kinds: list[str] = Field(default_factory=lambda: ["argmax", "prior", "none_offset", "prior_none_offset"])
    none_label: str | None = None
    cross_fit_parts: int = 2
    cross_fit_repeats: int = 5

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        from emopillars.evaluation.decision import RULE_KINDS

        bad = set(value) - set(RULE_KINDS)
        if bad or not value:
            raise ValueError(f"decision.kinds must be a non-empty subset of {list(RULE_KINDS)}, got {value}")
        return value

    @field_validator("cross_fit_parts")
    @classmethod
    def _parts(cls, value: int) -> int:
        if value < 2:
            raise ValueError("decision.cross_fit_parts must be >= 2")
        return value

    @field_validator("cross_fit_repeats")
    @classmethod
    def _repeats(cls, value: int) -> int:
        if value < 1:
            raise ValueError("decision.cross_fit_repeats must be >= 1")
        return value


class PaperResult(BaseModel):
    """The number the paper reports for this task, shown beside ours in the results table."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    mean: float
    std: float | None = None
    note: str = ""


class TaskSpec(BaseModel):
    """One adaptation task. Paths are relative to the data folder (``settings.data_dir()``) unless absolute.

    ``train`` holds ``TrainConfig`` overrides for every run of the task (``lr``, ``max_length``, ...);
    ``profiles`` holds per-profile overrides (``quick``: fewer ``epochs``, a train-row ``limit``, ...) on top.
    ``label_map`` maps each task label onto the 28-label taxonomy (``null`` = no taxonomy class, such as
    EmoContext's ``others``); the ``keep`` head policy trains such rows towards ``none_as`` (neutral).
    ``optional_paths``: splits that are used when their file exists and skipped (with a log line) when it
    does not, e.g. EmoContext's labelled ``test`` set, which users fetch themselves.
    ``decision``: how a single-label task decides (``DecisionSpec``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    format: str
    paths: dict[str, str]
    optional_paths: list[str] = Field(default_factory=list)
    loader_options: dict = Field(default_factory=dict)
    labels: list[str]
    multi_label: bool = False
    context_aware: bool = False
    label_map: dict[str, str | None] = Field(default_factory=dict)
    none_as: str = "neutral"
    protocol: Protocol
    decision: DecisionSpec = Field(default_factory=DecisionSpec)
    epochs: int = 3
    metrics: list[str] = Field(default_factory=lambda: ["macro_f1"])
    primary_metric: str = "macro_f1"
    train: dict = Field(default_factory=dict)
    profiles: dict[str, dict] = Field(default_factory=dict)
    paper: PaperResult | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            raise ValueError("a task needs at least 2 labels")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate labels in {value}")
        return value

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        needed = {"official": {"train", "dev", "test"}, "kfold": {"data"}, "train_dev": {"train", "dev"}}
        missing = needed[self.protocol.kind] - set(self.paths)
        if missing:
            raise ValueError(f"task {self.name}: protocol {self.protocol.kind} needs paths {sorted(missing)}")
        unknown = set(self.label_map) - set(self.labels)
        if unknown:
            raise ValueError(f"task {self.name}: label_map names labels not in labels: {sorted(unknown)}")
        for label, target in self.label_map.items():
            if target is not None and target not in LABELS:
                raise ValueError(f"task {self.name}: label_map {label} -> {target}: not a taxonomy label")
        if self.none_as not in LABELS:
            raise ValueError(f"task {self.name}: none_as {self.none_as!r} is not a taxonomy label")
        allowed = MULTI_LABEL_METRICS if self.multi_label else SINGLE_LABEL_METRICS
        bad = set(self.metrics) - allowed
        if bad:
            raise ValueError(f"task {self.name}: metrics {sorted(bad)} not available; choose from {sorted(allowed)}")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"task {self.name}: primary_metric {self.primary_metric} is not in metrics")
        if "emocontext_micro_f1" in self.metrics and not {"happy", "sad", "angry"} <= set(self.labels):
            raise ValueError(f"task {self.name}: emocontext_micro_f1 needs labels happy, sad, angry")
        if self.epochs < 1:
            raise ValueError(f"task {self.name}: epochs must be >= 1")
        if set(self.optional_paths) - set(self.paths):
            raise ValueError(f"task {self.name}: optional_paths {self.optional_paths} must be keys of paths")
        required = {"official": {"train", "dev", "test"}, "kfold": {"data"}, "train_dev": {"train", "dev"}}
        if set(self.optional_paths) & required[self.protocol.kind]:
            raise ValueError(f"task {self.name}: the protocol's own splits cannot be optional")
        if self.decision.choose_on != "none" and self.multi_label:
            raise ValueError(f"task {self.name}: decision rules are for single-label tasks (multi-label: thresholds)")
        if self.decision.none_label is not None and self.decision.none_label not in self.labels:
            raise ValueError(f"task {self.name}: decision.none_label {self.decision.none_label!r} is not a label")
        return self

    def path(self, split: str) -> Path:
        """The file for ``split`` (``train``, ``dev``, ``test`` or ``data``), resolved against the data folder."""
        resolved = self.resolve(split)
        if not resolved.exists():
            hint = (
                " (an optional split: see docs/adaptation.md for how to get it)"
                if split in self.optional_paths
                else ""
            )
            raise FileNotFoundError(f"task {self.name}: {resolved} does not exist{hint}")
        return resolved

    def has_split(self, split: str) -> bool:
        """True when the task names ``split`` and (for an optional split) its file is there."""
        if split not in self.paths:
            return False
        if split not in self.optional_paths:
            return True
        try:
            return self.resolve(split).exists()
        except FileNotFoundError:
            return False

    def resolve(self, split: str) -> Path:
        """Where the file for ``split`` should be (it may not exist)."""
        if split not in self.paths:
            raise ValueError(f"task {self.name} has no {split!r} path")
        raw = Path(self.paths[split]).expanduser()
        if raw.is_absolute():
            resolved = raw
        else:
            root = settings.data_dir()
            if root is None:
                raise FileNotFoundError(
                    f"task {self.name}: {raw} is relative to the data folder, which was not found; set EMOPILLARS_DATA"
                )
            resolved = root / raw
        return resolved

    def taxonomy_map(self) -> dict[str, str]:
        """Task label -> taxonomy label for the ``keep`` head: unmapped labels go to ``none_as``.

        Labels absent from ``label_map`` map to themselves when they are taxonomy labels (GoEmotions).
        """
        out: dict[str, str] = {}
        for label in self.labels:
            if label in self.label_map:
                target = self.label_map[label]
                out[label] = self.none_as if target is None else target
            elif label in LABELS:
                out[label] = label
            else:
                raise ValueError(
                    f"task {self.name}: label {label!r} is not a taxonomy label and has no label_map entry "
                    "(the keep head needs one; use --head new otherwise)"
                )
        if len(set(out.values())) != len(out):
            raise ValueError(f"task {self.name}: two task labels map onto one taxonomy class: {out}")
        return out

    def identity(self) -> dict:
        """What of the spec decides a result, for cache keys: all of it but ``profiles``. A run's key also holds
        the settings resolved from the profile it uses, so editing one profile (say ``cpu``) does not throw away
        the cached cells of another (``quick``)."""
        return self.model_dump(mode="json", exclude={"profiles"})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


def shipped_tasks() -> list[str]:
    return sorted(path.stem for path in PROTOCOL_DIR.glob("*.yaml"))


def load_task(name_or_path: str | Path) -> TaskSpec:
    """A shipped protocol by name (``goemotions``, ``isear``, ``emocontext``, ...) or any task YAML file."""
    path = Path(name_or_path).expanduser()
    if not path.suffix and not path.exists():
        shipped = PROTOCOL_DIR / f"{name_or_path}.yaml"
        if not shipped.exists():
            raise ValueError(
                f"unknown task {name_or_path!r}: shipped tasks are {shipped_tasks()}, or give a YAML path"
            )
        path = shipped
    raw = read_yaml_mapping(path, "task")
    try:
        return TaskSpec.model_validate(raw)
    except Exception as exc:  # pydantic.ValidationError: one readable line per problem
        raise ValueError(f"{path}: invalid task: {exc}") from exc


def read_yaml_mapping(path: Path, kind: str) -> dict:
    """A YAML file that must hold a mapping (a task or suite file), with one-line errors for the user."""
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a {kind} file must be a YAML mapping")
    return raw
