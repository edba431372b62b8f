"""``emopillars teacher audit``: how right a teacher's labels are, against people's.

The audit runs exactly the synthesis labels step (template, schema, parser, taxonomy mapping, 0.3
positive level; :class:`~emopillars.teacher.raters.LLMRater`) on a fixed sample of human-labelled texts
(:mod:`emopillars.teacher.items`) and scores the answers as a classifier's
(:mod:`emopillars.teacher.metrics`). The same options that make synthesis labels better apply here:
``samples`` (self-consistency), more LLM raters, a trained classifier as a rater; and ``model`` audits a
trained classifier alone, so teachers and students sit in one table. Answers go through the LLM cache,
so a rerun costs nothing.

Writes ``OUT/audit.json`` (config, data, raters, metrics of the combination and of each rater alone,
agreement between raters, cost, every item with its gold and predicted labels), ``OUT/audit.md`` and
``OUT/per_class_f1.png``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from emopillars.files import atomic_write_text
from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import SamplingParams
from emopillars.teacher.aggregate import average_levels, rater_agreement
from emopillars.teacher.calibration import Calibration, calibrate
from emopillars.teacher.items import AuditItems, load_items
from emopillars.teacher.metrics import multilabel_audit, single_label_audit
from emopillars.teacher.raters import LLMRater, ModelRater, labels_step_for

log = logging.getLogger(__name__)

AUDIT_JSON = "audit.json"
AUDIT_MD = "audit.md"
AUDIT_PLOT = "per_class_f1.png"
# Human agreement reported by the Emo Pillars paper (METHOD.md), printed beside every audit.
PAPER_HUMAN = {"kappa": 0.365, "accuracy_all_agree": 0.86, "accuracy_majority": 0.70}


@dataclass
class AuditConfig:
    """What to audit on which texts. ``llm`` is the teacher; ``model`` alone audits a trained classifier."""

    out_dir: str
    llm: str | None = None
    label_llms: list[str] = field(default_factory=list)
    label_model: str | None = None
    model: str | None = None
    data: str = "goemotions"
    split: str = "dev"
    n: int | None = 300
    seed: int = 0
    samples: int = 1
    temperature: float | None = None
    calibration: str | None = None  # "prior[:ALPHA]": levels re-weighed over the audited answers (teacher.calibration)
    repetition_penalty: float = 1.03
    prompts_dir: str | None = None
    max_tokens: int | None = None
    cache: bool = True
    progress: bool = True
    name: str | None = None
    llm_options: dict[str, Any] = field(default_factory=dict)  # backend options, e.g. {"engine": "llama-cpp-python"}

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"--label-samples must be >= 1, got {self.samples}")
        if self.temperature is not None and self.temperature < 0:
            raise ValueError(f"the label temperature must be >= 0, got {self.temperature}")
        Calibration.parse(self.calibration)  # a bad spec fails here, before any answer is asked
        if self.model and (self.llm or self.label_llms or self.label_model):
            raise ValueError("--model audits a classifier alone; use --label-model to add one to LLM raters")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["llm"] = redact_spec(self.llm)
        data["label_llms"] = [redact_spec(s) for s in self.label_llms]
        return data


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}#{n}", n + 1
    taken.add(out)
    return out


def build_raters(config: AuditConfig, llms: dict[str, Any] | None = None) -> list:
    """The raters a config names. ``llms`` (spec -> LLM) supplies already loaded LLMs (tests, reuse)."""
    from emopillars.llm import load_llm
    from emopillars.llm.registry import default_spec, parse_spec

    if config.model:
        return [ModelRater(config.model)]
    step = labels_step_for(
        config.prompts_dir,
        config.max_tokens,
        SamplingParams(seed=config.seed, repetition_penalty=config.repetition_penalty),
    )
    raters: list = []
    taken: set[str] = set()
    loaded = dict(llms or {})
    for spec in [config.llm or default_spec(), *config.label_llms]:
        if spec not in loaded:
            # one sequence at a time on an embedded model: call latencies are then its compute time
            options = dict(config.llm_options)
            if parse_spec(spec).kind == "llamacpp":
                # as many requests in flight as workers: call latencies are then compute time, not queueing
                backend = load_llm(spec, cache=config.cache, **options)
                backend.concurrency = getattr(backend.backend, "workers", 1)
                loaded[spec] = backend
            else:
                loaded[spec] = load_llm(spec, cache=config.cache, **options)
        raters.append(
            LLMRater(
                loaded[spec],
                _unique(redact_spec(spec), taken),
                samples=config.samples,
                temperature=config.temperature,
                step=step,
            )
        )
    if config.label_model:
        model_rater = ModelRater(config.label_model)
        model_rater.name = _unique(model_rater.name, taken)
        raters.append(model_rater)
    return raters


def score(items: AuditItems, predictions: list) -> dict:
    if items.multi_label:
        return multilabel_audit(predictions, items.gold, items.classes)
    return single_label_audit(predictions, [g[0] for g in items.gold], items.classes, items.class_map)


def run_audit(config: AuditConfig, llms: dict[str, Any] | None = None, items: AuditItems | None = None) -> dict:
    """Run the audit, write its files into ``config.out_dir`` and return the ``audit.json`` content."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    items = items or load_items(config.data, config.split, config.n, config.seed)
    if not len(items):
        raise ValueError("the audit sample is empty")
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raters = build_raters(config, llms)
    total = sum(len(items) * r.samples for r in raters)
    answers: dict[str, list] = {}
    started = time.perf_counter()
    try:
        with tqdm(total=total, desc="audit", unit="answer", disable=not config.progress, dynamic_ncols=True) as bar:
            for rater in raters:
                bar.set_postfix_str(rater.name[-40:])
                answers[rater.name] = rater.rate(items.rows, on_answer=lambda: bar.update(1))
    finally:
        if llms is None:
            for rater in raters:
                if hasattr(rater, "llm") and hasattr(rater.llm, "close"):
                    rater.llm.close()
    wall = time.perf_counter() - started
    per_rater = {name: [average_levels(samples) for samples in rows] for name, rows in answers.items()}
    answered = [average_levels([per_rater[name][i] for name in per_rater]) for i in range(len(items))]
    calibration = Calibration.parse(config.calibration)
    combined = calibrate(answered, calibration)
    metrics = score(items, combined)
    result = {
        "name": config.name or _default_name(config, raters),
        "created": started_at,
        "config": config.to_dict(),
        "data": items.describe(),
        "raters": [{**r.describe(), "stats": r.stats.to_dict()} for r in raters],
        "metrics": metrics,
        "per_rater_metrics": {name: _headline(score(items, preds)) for name, preds in per_rater.items()}
        if len(raters) > 1
        else {},
        "agreement": rater_agreement(per_rater) if len(raters) > 1 else None,
        "cost": {
            "wall_s": round(wall, 2),
            "seconds_per_text": round(sum(r.stats.seconds for r in raters) / len(items), 3),
            "calls": sum(r.stats.calls for r in raters),
            "cached_answers": sum(r.stats.cached for r in raters),
            "prompt_tokens": sum(r.stats.prompt_tokens for r in raters),
            "completion_tokens": sum(r.stats.completion_tokens for r in raters),
        },
        "paper_human_agreement": PAPER_HUMAN,
        "items": [
            {
                "id": row["id"],
                "source_id": row.get("source_id"),
                "text": row["utterance"],
                "gold": gold,
                "predicted": pred,
                "answered": answered[i] if calibration.active else None,
                "raters": {name: per_rater[name][i] for name in per_rater} if len(raters) > 1 else None,
                "samples": {name: answers[name][i] for name in answers}
                if any(r.samples > 1 for r in raters)
                else None,
            }
            for i, (row, gold, pred) in enumerate(zip(items.rows, items.gold, combined))
        ],
    }
    write_audit(result, out)
    return result


def _default_name(config: AuditConfig, raters: list) -> str:
    name = " + ".join(r.name for r in raters)
    if config.samples > 1:
        name += f", K={config.samples}"
    calibration = Calibration.parse(config.calibration)
    return f"{name}, calibration {calibration}" if calibration.active else name


HEADLINE_KEYS = (
    "macro_f1",
    "micro_f1",
    "accuracy",
    "primary_accuracy",
    "kappa",
    "kappa_macro",
    "collapse_label",
    "collapse_share",
    "labels_per_example",
    "gold_labels_per_example",
    "failed",
    "no_positive_label",
    "unmapped_primary",
)


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in HEADLINE_KEYS if k in metrics}


def summary_row(result: dict) -> dict:
    """The numbers of one audit as a table row (BENCHMARKS.md "Teacher audit")."""
    m = result["metrics"]
    return {
        "setup": result["name"],
        "data": result["data"]["dataset"],
        "n": result["data"]["items"],
        "macro_f1": m["macro_f1"],
        "primary_accuracy": m.get("primary_accuracy", m.get("accuracy")),
        "kappa": m["kappa"],
        "collapse": f"{m['collapse_share']:.2f} ({m['collapse_label']})",
        "labels_per_example": m["labels_per_example"],
        "gold_labels_per_example": m["gold_labels_per_example"],
        "seconds_per_text": result["cost"]["seconds_per_text"],
    }


def render_markdown(result: dict) -> str:
    m, data, cost = result["metrics"], result["data"], result["cost"]
    lines = [f"# Teacher audit: {result['name']}", ""]
    where = f"{data['dataset']}" + (f" {data['split']}" if data.get("split") else "")
    lines.append(
        f"{data['items']} texts of {where} (sample of {data['population']}, seed {result['config']['seed']})."
    )
    lines.append("")
    if data["multi_label"]:
        lines += [
            "| macro-F1 | micro-F1 | primary-label accuracy | kappa (pooled) | kappa (per-label mean) "
            "| collapse share | labels / example (gold) | failed | seconds / text |",
            "| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
            f"| {m['macro_f1']:.3f} | {m['micro_f1']:.3f} | {m['primary_accuracy']:.3f} | {m['kappa']:.3f} | "
            f"{m['kappa_macro']:.3f} | {m['collapse_share']:.2f} ({m['collapse_label']}) | "
            f"{m['labels_per_example']:.2f} ({m['gold_labels_per_example']:.2f}) | {m['failed']} | "
            f"{cost['seconds_per_text']:.2f} |",
        ]
    else:
        lines += [
            f"Primary label mapped onto the {len(data['classes'])} classes ({', '.join(data['classes'])}).",
            "",
            "| accuracy | macro-F1 | kappa | unmapped primary | collapse share | labels / example | failed "
            "| seconds / text |",
            "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
            f"| {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['kappa']:.3f} | {m['unmapped_primary']} | "
            f"{m['collapse_share']:.2f} ({m['collapse_label']}) | {m['labels_per_example']:.2f} | {m['failed']} | "
            f"{cost['seconds_per_text']:.2f} |",
        ]
    human = result["paper_human_agreement"]
    lines += [
        "",
        f"People, for scale (Emo Pillars paper): kappa {human['kappa']}; accuracy {human['accuracy_all_agree']} "
        f"where all three annotators agree, {human['accuracy_majority']} where two do.",
        "",
        f"Cost: {cost['calls']} answers ({cost['cached_answers']} from the cache), {cost['prompt_tokens']} prompt / "
        f"{cost['completion_tokens']} completion tokens, {cost['wall_s']:.0f} s wall this run.",
    ]
    if result.get("per_rater_metrics"):
        lines += ["", "## Each rater alone", "", "| rater | macro-F1 | primary acc. | kappa | collapse | labels/ex |"]
        lines.append("| --- | ---: | ---: | ---: | --- | ---: |")
        for name, r in result["per_rater_metrics"].items():
            acc = r.get("primary_accuracy", r.get("accuracy"))
            lines.append(
                f"| {name} | {r['macro_f1']:.3f} | {acc:.3f} | {r['kappa']:.3f} | "
                f"{r['collapse_share']:.2f} ({r['collapse_label']}) | {r['labels_per_example']:.2f} |"
            )
    if result.get("agreement"):
        lines += ["", "## Agreement between raters", "", "| a | b | items | kappa | same primary | jaccard |"]
        lines.append("| --- | --- | ---: | ---: | ---: | ---: |")
        for p in result["agreement"]["pairs"]:
            lines.append(
                f"| {p['a']} | {p['b']} | {p['items']} | {p['kappa']} | {p['primary_agreement']} | {p['jaccard']} |"
            )
    lines += ["", "## Raters", ""]
    for r in result["raters"]:
        stats = r["stats"]
        lines.append(
            f"- {r['name']} ({r['kind']}, {r['model']}, {r['samples']} sample(s)): {stats['calls']} answers, "
            f"{stats['failed']} failed {stats['drops'] or ''}"
        )
    top = list(m["predicted_counts"].items())[:10]
    lines += ["", "Most frequent predicted labels: " + ", ".join(f"{k} {v}" for k, v in top)]
    lines += [
        "",
        "## Per class",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in m["per_class"].items():
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    lines += ["", f"![per-class F1]({AUDIT_PLOT})", ""]
    return "\n".join(lines)


def write_audit(result: dict, out: Path) -> dict[str, Path]:
    from emopillars.evaluation.report import plot_per_class_f1

    paths = {"json": out / AUDIT_JSON, "markdown": out / AUDIT_MD, "plot": out / AUDIT_PLOT}
    atomic_write_text(paths["json"], json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(paths["markdown"], render_markdown(result))
    plot_per_class_f1(result["metrics"], paths["plot"], title=f"Teacher audit: {result['name']}"[:90])
    return paths
