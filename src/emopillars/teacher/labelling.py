"""The labels step of synthesis with several answers per utterance: K samples, more LLM raters, a classifier.

:func:`run_labels` stands in for the runner's plain labels step when a run asks for ``label_samples > 1``,
``label_llms`` or ``label_model`` (``emopillars synthesize --label-samples K --label-llm SPEC --label-model
DIR``). Every LLM rater (the run's teacher first) runs the labels step through the same runner as any
step, with its own checkpoint ``steps/labels.<rater>.jsonl`` (resumable, answers cached) and one row per
(utterance, sample); the K samples of an utterance are adjacent, so their identical prompts are evaluated
once by a backend that keeps its KV cache. A classifier rater scores all utterances at once. The answers
are averaged by :mod:`emopillars.teacher.aggregate`; an utterance whose mean has no label at level >= 0.3 is
dropped (``no_positive_label``), as in the plain step, and one no rater answered is dropped as
``no_answer``. Each rater's labels go into the record (``provenance.raters``) and the agreement between
raters into the manifest (``label_raters``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ChatResponse
from emopillars.synth.steps import labels as labels_step
from emopillars.synth.steps.base import Parsed, Step
from emopillars.taxonomy import POSITIVE_THRESHOLD
from emopillars.teacher.aggregate import combine, rater_agreement
from emopillars.teacher.raters import ModelRater, RaterStats, sample_params

logger = logging.getLogger(__name__)


@dataclass
class LabelSetup:
    """The label options of a synthesis run (all default: the plain labels step)."""

    samples: int = 1
    temperature: float | None = None
    llms: list[str] = field(default_factory=list)
    model: str | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"label_samples must be >= 1, got {self.samples}")
        if self.temperature is not None and self.temperature < 0:
            raise ValueError(f"label_temperature must be >= 0, got {self.temperature}")

    @property
    def plain(self) -> bool:
        """True when the run labels as before: one answer of the teacher per utterance."""
        return self.samples == 1 and not self.llms and not self.model


class SampledLabels:
    """The labels step over rows ``{"id": "<utterance id>#<k>", "item": ..., "sample": k, "utterance": ...}``:
    sample ``k`` decodes with :func:`~emopillars.teacher.raters.sample_params`, and every parsed answer is kept
    (also one with no positive label: a vote for none)."""

    def __init__(self, step: Step, samples: int, temperature: float | None) -> None:
        self.step, self.samples, self.temperature = step, samples, temperature
        self.name = step.name
        self._steps = [
            dataclasses.replace(step, params=sample_params(step.params, k, samples, temperature))
            for k in range(samples)
        ]

    @property
    def version(self) -> str:
        return self.step.version

    def build_requests(self, rows: list[dict]) -> list:
        return [self._steps[row["sample"]].build_requests([row])[0] for row in rows]

    def parse(self, response: ChatResponse, row: dict) -> Parsed:
        return labels_step.parse_levels(response, row)


def sample_rows(rows: list[dict], samples: int) -> list[dict]:
    """One row per (utterance, sample), the samples of an utterance adjacent."""
    return [
        {"id": f"{row['id']}#{k}", "item": row["id"], "sample": k, "utterance": row["utterance"]}
        for row in rows
        for k in range(samples)
    ]


def rater_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:60] or "rater"


@dataclass
class LabelRun:
    """What :func:`run_labels` returns: per utterance id its output row (or drop reason), and the manifest part."""

    outputs: dict[str, dict]
    drops: dict[str, str]
    unmapped: Counter
    info: dict[str, Any]
    usage: dict[str, dict[str, Any]]


RunStep = Callable[..., Any]  # emopillars.synth.runner.run_step


def run_labels(
    rows: list[dict],
    *,
    step: Step,
    teacher,
    teacher_name: str,
    setup: LabelSetup,
    checkpoint: Callable[[str], Path],
    run_step: RunStep,
    open_llm: Callable[[str], Any],
    run_step_options: dict[str, Any] | None = None,
) -> LabelRun:
    """Label ``rows`` (``id``, ``utterance``) with the teacher and the extra raters; see the module doc.

    ``checkpoint(name)`` gives the checkpoint path of a rater pass; ``run_step`` is the runner's; ``open_llm``
    loads an extra LLM rater from its spec (closed here after its pass).
    """
    options = dict(run_step_options or {})
    answers: dict[str, dict[str, list]] = {}
    stats: dict[str, RaterStats] = {}
    unmapped: Counter = Counter()
    usage: dict[str, dict[str, Any]] = {row["id"]: Counter() for row in rows}
    names: list[str] = []
    taken: set[str] = set()
    llm_raters = [(teacher_name, None)] + [(redact_spec(spec) or spec, spec) for spec in setup.llms]
    pieces = sample_rows(rows, setup.samples)
    sampled = SampledLabels(step, setup.samples, setup.temperature)
    for index, (name, spec) in enumerate(llm_raters):
        name = _unique(name, taken)
        names.append(name)
        llm = teacher if spec is None else open_llm(spec)
        try:
            result = run_step(sampled, pieces, llm, checkpoint(f"labels.{index}-{rater_slug(name)}"), **options)
        finally:
            if spec is not None and hasattr(llm, "close"):
                llm.close()
        per_item: dict[str, list] = {row["id"]: [None] * setup.samples for row in rows}
        rater_stats = stats[name] = RaterStats()
        for piece, entry in zip(pieces, result.entries):
            rater_stats.calls += 1
            rater_stats.cached += bool(entry.usage.get("cached"))
            rater_stats.prompt_tokens += int(entry.usage.get("prompt_tokens") or 0)
            rater_stats.completion_tokens += int(entry.usage.get("completion_tokens") or 0)
            rater_stats.seconds += float(entry.usage.get("latency_s") or 0.0)
            item_usage = usage[piece["item"]]
            for key in ("prompt_tokens", "completion_tokens", "latency_s"):
                item_usage[key] += entry.usage.get(key) or 0
            item_usage["calls"] += 1
            if entry.drop or not entry.outputs:
                rater_stats.failed += 1
                rater_stats.drops[entry.drop or "no_output"] += 1
                continue
            out = entry.outputs[0]
            per_item[piece["item"]][piece["sample"]] = {"raw": out["raw_labels"], "labels": out["labels"]}
            if index == 0:
                unmapped.update(entry.notes.get("unmapped", []))
        answers[name] = per_item
    if setup.model:
        rater = ModelRater(setup.model)
        name = _unique(rater.name, taken)
        names.append(name)
        scored = rater.rate(rows)
        stats[name] = rater.stats
        answers[name] = {row["id"]: [{"raw": levels[0], "labels": levels[0]}] for row, levels in zip(rows, scored)}
    outputs: dict[str, dict] = {}
    drops: dict[str, str] = {}
    per_rater_levels: dict[str, list] = {name: [] for name in names}
    for row in rows:
        item = row["id"]
        samples = {name: [a["labels"] if a else None for a in answers[name][item]] for name in names}
        combined, per_rater = combine(samples)
        for name in names:
            per_rater_levels[name].append(per_rater[name])
        if combined is None:
            drops[item] = "no_answer"
            continue
        positive = [label for label, level in combined.items() if level >= POSITIVE_THRESHOLD]
        if not positive:
            drops[item] = "no_positive_label"
            continue
        first = next((a for name in names for a in answers[name][item] if a), None)
        outputs[item] = {
            "id": item,
            "raw_labels": first["raw"] if first else {},
            "labels": combined,
            "positive_labels": positive,
            "raters": per_rater,
        }
    info = {
        "samples": setup.samples,
        "temperature": sampled._steps[-1].params.temperature,
        "raters": names,
        "stats": {name: s.to_dict() for name, s in stats.items()},
        "agreement": rater_agreement(per_rater_levels) if len(names) > 1 else None,
        "sample_agreement": _sample_agreement(answers, names) if setup.samples > 1 else None,
        "dropped": dict(Counter(drops.values()).most_common()),
    }
    return LabelRun(outputs, drops, unmapped, info, {k: dict(v) for k, v in usage.items()})


def _sample_agreement(answers: dict[str, dict[str, list]], names: list[str]) -> dict[str, float | None]:
    """Per LLM rater: the share of utterances whose K samples all name the same primary label."""
    out: dict[str, float | None] = {}
    for name in names:
        same = total = 0
        for samples in answers[name].values():
            primaries = [max(a["labels"], key=a["labels"].get) if a and a["labels"] else None for a in samples]
            if len(primaries) < 2 or None in primaries:
                continue
            total += 1
            same += len(set(primaries)) == 1
        out[name] = round(same / total, 4) if total else None
    return out


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}#{n}", n + 1
    taken.add(out)
    return out


def as_step_run(label_run: LabelRun, rows: list[dict], seconds: float):
    """The labels of :func:`run_labels` as the runner's :class:`~emopillars.synth.runner.StepRun` (entries in row
    order), so the pipeline and its manifest read them like the plain step's."""
    from emopillars.synth.checkpoint import Entry
    from emopillars.synth.runner import StepRun, StepStats

    entries = []
    for row in rows:
        item = row["id"]
        out = label_run.outputs.get(item)
        usage = dict(label_run.usage.get(item, {}))
        entries.append(Entry(item, [out] if out else [], None if out else label_run.drops.get(item), usage=usage))
    if entries:
        entries[0].notes["unmapped"] = [word for word, n in label_run.unmapped.items() for _ in range(n)]
    stats = StepStats("labels", total=len(rows), done_now=len(rows), wall_s=seconds)
    return StepRun(entries, stats)
