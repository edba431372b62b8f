"""Scoring a human evaluation: agreement between the annotators and accuracy of the teacher's labels.

``score_kit(kit_dir, answer_files)`` reads the kit (:func:`~emopillars.annotate.kit.load_kit`) and one answer
CSV per annotator (:func:`~emopillars.annotate.answers.read_answers`), then computes with
:mod:`emopillars.stats.agreement`: Cohen's kappa per pair of annotators and Fleiss' kappa, per label and
overall, and the teacher's accuracy where all annotators agree and where a majority does, with the paper's
figures beside them. ``write_score_report`` writes ``report.json`` and ``report.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emopillars.annotate.answers import AnswerFileError, read_answers
from emopillars.annotate.kit import load_kit
from emopillars.files import atomic_write_json, atomic_write_text
from emopillars.stats.agreement import agreement, teacher_accuracy
from emopillars.stats.paper import PAPER_ANNOTATION, lookup


def _names(paths: Sequence[Path]) -> list[str]:
    stems = [p.stem.removeprefix("answers-") for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{stem}#{i}" for i, stem in enumerate(stems, start=1)]


def score_kit(kit_dir: str | Path, answer_files: Sequence[str | Path], allow_missing: bool = False) -> dict[str, Any]:
    """The score report (module doc) as a JSON-ready dict."""
    kit = load_kit(kit_dir)
    paths = [Path(p) for p in answer_files]
    if len(paths) < 2:
        raise AnswerFileError("scoring needs the answers of at least two annotators (--answers A.csv B.csv ...)")
    if len({p.resolve() for p in paths}) != len(paths):
        raise AnswerFileError("the same answer file is given twice")
    ids = kit.item_ids()
    annotations = {
        name: read_answers(path, ids, kit.labels, kit.max_labels, allow_missing)
        for name, path in zip(_names(paths), paths)
    }
    items = [item for item in ids if all(item in answers for answers in annotations.values())]
    if not items:
        raise AnswerFileError("no item was answered by every annotator")
    teacher = kit.teacher()
    report: dict[str, Any] = {
        "kit": {"source": kit.source, "kit_id": kit.kit_id, "item_set": kit.item_set, "items": len(ids)},
        "answers": {name: str(path) for name, path in zip(annotations, paths)},
        "scored_items": len(items),
        "agreement": agreement(annotations, kit.labels, items),
        "accuracy": teacher_accuracy(annotations, teacher, items),
        "teacher_label_counts": {label: sum(label in teacher[item] for item in items) for label in kit.labels},
    }
    report["paper"] = [
        {"key": key, "ours": lookup(report, key), "paper": value, "what": what}
        for key, (value, what) in PAPER_ANNOTATION.items()
    ]
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def render_markdown(report: dict[str, Any]) -> str:
    agree, acc = report["agreement"], report["accuracy"]
    lines = [
        f"# Human evaluation: {report['kit']['kit_id']}",
        "",
        f"{report['scored_items']} items scored (kit: {report['kit']['items']} items from "
        f"`{report['kit']['source']}`, set {report['kit']['item_set']}), "
        f"annotators: {', '.join(agree['annotators'])}.",
        "Definitions: docs/data-report.md (decisions are (item, label) pairs; pooled = all pairs at once).",
        "",
        "## Beside the paper",
        "",
        "| statistic | ours | paper |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {row['what']} | {_fmt(row['ours'])} | {row['paper']} |" for row in report["paper"]]
    lines += [
        f"| Fleiss' kappa (pooled) | {_fmt(agree['fleiss']['pooled'])} | — |",
        f"| teacher labels confirmed by a majority (precision) | {_fmt(acc['teacher_precision_vs_majority'])} | — |",
        f"| majority labels the teacher had (recall) | {_fmt(acc['teacher_recall_vs_majority'])} | — |",
        f"| teacher's primary label chosen by a majority | {_fmt(acc['primary_accuracy'])} | — |",
        "",
        f"Units: {acc['all_agree_units']} decisions where all agree, {acc['majority_units']} with a strict majority.",
        "",
        "## Cohen's kappa per pair",
        "",
        "| pair | pooled | macro (mean over labels) |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {' / '.join(p['annotators'])} | {_fmt(p['pooled'])} | {_fmt(p['macro'])} |"
        for p in agree["cohen"]["pairs"].values()
    ]
    lines += [
        f"| mean | {_fmt(agree['cohen']['mean_pooled'])} | {_fmt(agree['cohen']['mean_macro'])} |",
        "",
        f"Fleiss' kappa: pooled {_fmt(agree['fleiss']['pooled'])}, macro {_fmt(agree['fleiss']['macro'])}.",
        "",
        "## Per label",
        "",
        "| label | teacher | " + " | ".join(agree["annotators"]) + " | Cohen (mean of pairs) | Fleiss |",
        "| --- | --- | " + " | ".join("---" for _ in agree["annotators"]) + " | --- | --- |",
    ]
    for label in agree["cohen"]["per_label_mean"]:
        counts = " | ".join(str(agree["label_counts"][name][label]) for name in agree["annotators"])
        lines.append(
            f"| {label} | {report['teacher_label_counts'][label]} | {counts} | "
            f"{_fmt(agree['cohen']['per_label_mean'][label])} | {_fmt(agree['fleiss']['per_label'][label])} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_score_report(report: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "json": atomic_write_json(out / "report.json", report),
        "markdown": atomic_write_text(out / "report.md", render_markdown(report)),
    }
