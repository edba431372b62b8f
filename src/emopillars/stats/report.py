"""The dataset report: every statistic of :mod:`emopillars.stats` for one dataset, as ``report.json``,
``report.md`` and PNG plots (``emopillars inspect``).

:func:`build_report` computes (pure, apart from loading the encoder); :func:`write_report` writes the three
kinds of output. The paper's figure stands beside ours wherever the paper gives one
(:mod:`emopillars.stats.paper`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emopillars.files import atomic_write_json, atomic_write_text
from emopillars.stats import contexts as context_module
from emopillars.stats import diversity, labels
from emopillars.stats.paper import PAPER, PERCENT, lookup
from emopillars.stats.records import StatRecord
from emopillars.stats.source import Source
from emopillars.taxonomy import NEUTRAL

log = logging.getLogger(__name__)

DEFAULT_EMBED_LIMIT = 2000
"""At most this many texts are embedded per similarity measure (whole characters, seeded sample)."""


@dataclass
class ReportOptions:
    embeddings: bool = True
    embed_model: str = "minilm"
    embed_limit: int | None = DEFAULT_EMBED_LIMIT
    batch_size: int = 64
    near_dup_threshold: float = 0.8
    seed: int = 0
    plots: bool = True


def run_summary(manifest: dict[str, Any] | None, records: int) -> dict[str, Any] | None:
    """Drops by reason per step, calls and tokens per record, from a synthesis manifest."""
    if not manifest:
        return None
    steps = manifest.get("steps") or {}
    tokens = manifest.get("tokens") or {}
    n = max(records, 1)
    per_step = {
        name: {
            "inputs": step.get("inputs"),
            "outputs": step.get("outputs"),
            "calls": step.get("calls"),
            "dropped": step.get("dropped"),
            "drops": step.get("drops") or {},
            "item_drops": step.get("item_drops") or {},
            "prompt_tokens": step.get("prompt_tokens"),
            "completion_tokens": step.get("completion_tokens"),
        }
        for name, step in steps.items()
    }
    return {
        "status": manifest.get("status"),
        "model": manifest.get("model"),
        "prompt_versions": manifest.get("prompt_versions"),
        "plots": manifest.get("plots"),
        "records": manifest.get("records"),
        "steps": per_step,
        "filters": manifest.get("filters") or {},
        "drops": manifest.get("drops") or {},
        "calls": tokens.get("calls"),
        "prompt_tokens": tokens.get("prompt"),
        "completion_tokens": tokens.get("completion"),
        "calls_per_record": (tokens.get("calls") or 0) / n,
        "prompt_tokens_per_record": (tokens.get("prompt") or 0) / n,
        "completion_tokens_per_record": (tokens.get("completion") or 0) / n,
        "wall_time_total_s": manifest.get("wall_time_total_s"),
        "unmapped_total": (manifest.get("labels") or {}).get("unmapped_total"),
        "unmapped_top": (manifest.get("labels") or {}).get("unmapped_top"),
    }


def similarity_groups(records: Sequence[StatRecord]) -> dict[str, list[StatRecord]]:
    """The sets of utterances whose within/across-character similarity is measured."""
    with_actor = [r for r in records if r.actor_id]
    groups = {
        "neutral": [r for r in with_actor if NEUTRAL in r.positive],
        "all": with_actor,
    }
    requested = [r for r in with_actor if r.requested_emotion == NEUTRAL]
    if requested:
        groups["neutral_requested"] = requested
    return groups


def similarity_stats(
    records: Sequence[StatRecord], options: ReportOptions, embedder=None, groups: dict | None = None
) -> dict[str, Any]:
    """Within vs across character similarity for ``groups`` (default :func:`similarity_groups`), embedding at
    most the limit of texts each."""
    from emopillars.stats.embeddings import Embedder

    embedder = embedder or Embedder(options.embed_model, batch_size=options.batch_size)
    out: dict[str, Any] = {"model": options.embed_model, "limit": options.embed_limit}
    for name, group in (groups if groups is not None else similarity_groups(records)).items():
        actors = [r.actor_id for r in group]
        chosen = diversity.sample_groups(actors, options.embed_limit, options.seed)
        subset = [group[i] for i in chosen]
        vectors = embedder.encode([r.text for r in subset])
        result = diversity.group_similarity(vectors, [r.actor_id for r in subset], [r.plot_id or "" for r in subset])
        result["sampled"] = len(subset) < len(group)
        result["available"] = len(group)
        out[name] = result
    return out


def build_report(
    source: Source,
    options: ReportOptions | None = None,
    compare: Source | None = None,
    embedder=None,
) -> dict[str, Any]:
    """Every statistic for ``source`` (and the label distribution of ``compare``) as one JSON-ready dict."""
    options = options or ReportOptions()
    records = source.records
    if embedder is None and options.embeddings:
        from emopillars.stats.embeddings import Embedder

        # one encoder for the dataset's and the generation's measures: loaded once, each distinct text once
        embedder = Embedder(options.embed_model, batch_size=options.batch_size)
    timing: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timing[name] = round(now - clock, 3)
        clock = now

    unmapped = None
    report: dict[str, Any] = {
        "source": {
            "path": str(source.path),
            "kind": source.kind,
            "format": source.format,
            "records": len(records),
            "skipped_rows": source.skipped,
            "label_names": source.label_names,
        },
        "counts": source.counts,
        "run": run_summary(source.manifest, len(records)),
    }
    report["labels"] = labels.label_stats(records, source.label_names, unmapped)
    lap("labels")
    if compare is not None:
        compare_labels = labels.label_stats(compare.records, compare.label_names)
        report["compare"] = {
            "name": compare.name,
            "path": str(compare.path),
            "records": len(compare.records),
            "per_label_share": compare_labels["per_label_share"],
            "labels_per_example": compare_labels["labels_per_example"],
            "neutral": compare_labels["neutral"],
        }
        lap("compare")
    else:
        report["compare"] = None
    texts = [r.text for r in records]
    report["diversity"] = {
        "utterances": diversity.text_diversity(texts, options.near_dup_threshold, options.seed),
        "neutral": diversity.text_diversity(
            [r.text for r in records if NEUTRAL in r.positive], options.near_dup_threshold, options.seed
        ),
    }
    lap("diversity")
    if not any(r.actor_id for r in records):
        report["diversity"]["similarity"] = {"skipped": "the dataset names no characters (speakers)"}
    elif not options.embeddings:
        report["diversity"]["similarity"] = {"skipped": "--no-embeddings"}
    else:
        report["diversity"]["similarity"] = similarity_stats(records, options, embedder)
        lap("embeddings")
    report["generation"] = generation_stats(source.generated, options, embedder) if source.generated else None
    if source.generated:
        lap("generation")
    has_context = any(r.context for r in records) or any(r.rewritten for r in records)
    report["contexts"] = context_module.context_stats(records) if has_context else None
    lap("contexts")
    report["paper"] = paper_table(report)
    report["timing_s"] = timing
    return report


def generation_stats(generated: Sequence[StatRecord], options: ReportOptions, embedder=None) -> dict[str, Any]:
    """The teacher's utterances before the filters: how repetitive they were, for all and for those asked to be
    neutral (the filters drop exact and near duplicates, which hides a repetitive teacher in the dataset)."""
    asked = [r for r in generated if r.requested_emotion == NEUTRAL]
    out: dict[str, Any] = {
        "utterances": len(generated),
        "asked_neutral": len(asked),
        "all": diversity.text_diversity([r.text for r in generated], options.near_dup_threshold, options.seed),
        "neutral_requested": diversity.text_diversity(
            [r.text for r in asked], options.near_dup_threshold, options.seed
        ),
        "neutral_same_character_exact": _same_character_duplicates(asked),
    }
    if options.embeddings and any(r.actor_id for r in generated):
        groups = {"neutral_requested": [r for r in asked if r.actor_id], "all": [r for r in generated if r.actor_id]}
        out["similarity"] = similarity_stats(generated, options, embedder, groups)
    return out


def _same_character_duplicates(records: Sequence[StatRecord]) -> int:
    """Texts equal (after normalisation) to an earlier text of the same character."""
    seen: set[tuple[str | None, str]] = set()
    count = 0
    for record in records:
        key = (record.actor_id, diversity.normalize(record.text))
        count += key in seen
        seen.add(key)
    return count


def paper_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": key, "ours": lookup(report, key), "paper": value, "what": what} for key, (value, what) in PAPER.items()
    ]


# ----------------------------------------------------------------------------------------------- writing


def write_report(report: dict[str, Any], out_dir: str | Path, make_plots: bool = True) -> dict[str, Path]:
    """``report.json``, ``report.md`` and the plots in ``out_dir``; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures = draw_plots(report, out) if make_plots else {}
    report["plots"] = {name: path.name for name, path in figures.items()}
    report.setdefault("timing_s", {})["plots"] = round(time.perf_counter() - started, 3)
    paths = {
        "json": atomic_write_json(out / "report.json", report),
        "markdown": atomic_write_text(out / "report.md", render_markdown(report)),
    }
    return {**paths, **figures}


def draw_plots(report: dict[str, Any], out: Path) -> dict[str, Path]:
    from emopillars.stats import plots  # matplotlib (~2 s to import) only when plots are drawn

    lab = report["labels"]
    compare = report.get("compare")
    figures = {
        "label_distribution": plots.label_distribution(
            lab["per_label_share"],
            out / "label_distribution.png",
            compare["per_label_share"] if compare else None,
            Path(report["source"]["path"]).name,
            compare["name"] if compare else "",
        ),
        "labels_per_example": plots.histogram(
            lab["labels_per_example"]["histogram"],
            out / "labels_per_example.png",
            "Positive labels per example",
            "labels",
        ),
        "levels": plots.histogram(lab["levels"], out / "levels.png", "Label levels", "level"),
        "utterance_length": plots.histogram(
            report["diversity"]["utterances"]["length"]["histogram"],
            out / "utterance_length.png",
            "Utterance length",
            "words",
        ),
    }
    matrix = lab["requested_vs_primary"]["matrix"]
    if matrix:
        figures["requested_vs_primary"] = plots.heatmap(
            matrix, report["source"]["label_names"], out / "requested_vs_primary.png"
        )
    similarity = report["diversity"].get("similarity") or {}
    groups = {
        name: similarity[name]
        for name in ("neutral", "neutral_requested", "all")
        if isinstance(similarity.get(name), dict)
    }
    if groups:
        figures["similarity"] = plots.similarity(
            groups, out / "similarity.png", {"neutral within": 0.30, "neutral across": 0.16}
        )
    return figures


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(report: dict[str, Any]) -> str:
    src = report["source"]
    lab = report["labels"]
    lines = [f"# Dataset report: {Path(src['path']).name}", ""]
    lines += [f"Source: `{src['path']}` ({src['kind']}, format {src['format']}), {src['records']:,} records."]
    if src.get("skipped_rows"):
        lines.append(f"Malformed rows skipped while loading: {src['skipped_rows']}.")
    lines += ["Definitions of every measure: docs/data-report.md.", ""]

    lines += ["## Beside the paper", ""]
    lines += _table(
        ["statistic", "this dataset", "paper"],
        [
            [row["what"], _pct(row["ours"]), _pct(row["paper"])]
            if row["key"] in PERCENT
            else [row["what"], _fmt(row["ours"]), f"{row['paper']:g}"]
            for row in report["paper"]
        ],
    )
    lines += ["## Counts", ""]
    lines += _table(
        ["set", *("train", "dev", "test", "all")],
        [
            [name, *(splits.get(s) for s in ("train", "dev", "test")), splits.get("all", sum(splits.values()))]
            for name, splits in report["counts"].items()
        ],
    )
    run = report.get("run")
    if run:
        lines += ["## Synthesis run", ""]
        lines += [
            f"Teacher `{run['model']}`, status {run['status']}, {run['plots']} plots, {run['calls']:,} LLM calls "
            f"({run['calls_per_record']:.2f} per record), {run['prompt_tokens_per_record']:.0f} prompt and "
            f"{run['completion_tokens_per_record']:.0f} completion tokens per record.",
            "",
        ]
        lines += _table(
            ["step", "inputs", "outputs", "calls", "dropped", "drops by reason", "items dropped inside answers"],
            [
                [
                    name,
                    s["inputs"],
                    s["outputs"],
                    s["calls"],
                    s["dropped"],
                    ", ".join(f"{k} {v}" for k, v in s["drops"].items()) or "—",
                    ", ".join(f"{k} {v}" for k, v in s["item_drops"].items()) or "—",
                ]
                for name, s in run["steps"].items()
            ],
        )
        if run["filters"]:
            lines += _table(
                ["filter", "drops by reason"],
                [[name, ", ".join(f"{k} {v}" for k, v in d.items()) or "—"] for name, d in run["filters"].items()],
            )

    lpe = lab["labels_per_example"]
    lines += ["## Labels", ""]
    rows = [
        ["positive labels per example (mean ± sd)", f"{_fmt(lpe['mean'], 2)} ± {_fmt(lpe['sd'], 2)}", "~3.2"],
        ["examples by number of labels", ", ".join(f"{k}: {v}" for k, v in lpe["histogram"].items()) or "—", "1-5"],
    ]
    neutral = lab.get("neutral")
    if neutral:
        rows += [
            ["neutral share of positive labels", _pct(neutral["of_labels"]), "2.7 %"],
            [
                "examples with a neutral label",
                f"{_pct(neutral['of_examples'])} ({neutral['examples_with_neutral']:,})",
                "9 %",
            ],
        ]
    rvp = lab["requested_vs_primary"]
    if rvp["records"]:
        rows += [
            [
                "primary label = requested emotion",
                f"{_pct(rvp['primary_is_requested_share'])} of {rvp['records']:,}",
                "—",
            ],
            ["requested emotion among the positive labels", _pct(rvp["requested_in_positive_share"]), "—"],
        ]
    unmapped = _fmt(lab["unmapped_total"])
    if run and run.get("unmapped_total") is not None:
        unmapped += f" in the records; {_fmt(run['unmapped_total'])} in the run (dropped utterances included)"
    rows.append(["teacher words outside the taxonomy (unmapped)", unmapped, "—"])
    lines += _table(["statistic", "this dataset", "paper"], rows)
    compare = report.get("compare")
    share_header = ["label", "positive", "share"] + ([f"share in {compare['name']}"] if compare else [])
    lines += _table(
        share_header,
        [
            [label, n, _pct(lab["per_label_share"][label])]
            + ([_pct(compare["per_label_share"].get(label))] if compare else [])
            for label, n in lab["per_label"].items()
        ],
    )
    top = (run or {}).get("unmapped_top") or lab["unmapped_top"]  # the run's list counts dropped utterances too
    if top:
        lines += ["Most frequent unmapped teacher words: " + ", ".join(f"{w} ({n})" for w, n in top), ""]
    plot_names = report.get("plots") or {}
    for name in ("label_distribution", "labels_per_example", "levels", "requested_vs_primary"):
        if name in plot_names:
            lines += [f"![{name}]({plot_names[name]})", ""]

    div = report["diversity"]
    lines += ["## Diversity", ""]
    rows = []
    for name in ("utterances", "neutral"):
        d = div[name]
        dup = d["duplicates"]
        rows.append(
            [
                name,
                dup["texts"],
                d["distinct_1"],
                d["distinct_2"],
                _pct(dup["exact_rate"]),
                _pct(dup["near_rate"]),
                f"{_fmt(d['length']['mean_words'], 1)} ± {_fmt(d['length']['sd_words'], 1)}",
            ]
        )
    lines += _table(
        ["texts", "n", "distinct-1", "distinct-2", "exact duplicates", "near duplicates", "words (mean ± sd)"], rows
    )
    sim = div.get("similarity") or {}
    if "skipped" in sim:
        lines += [f"Embedding similarity: skipped ({sim['skipped']}).", ""]
    elif sim:
        lines += [
            f"Mean cosine similarity of sentence embeddings ({sim['model']}; at most {sim['limit']} texts "
            "embedded per row):",
            "",
        ]
        paper = {"neutral": ("0.30", "0.16")}
        rows = [
            [
                name,
                sim[name]["texts"],
                sim[name]["groups"],
                sim[name]["within"],
                sim[name].get("across_same_plot"),
                sim[name]["across"],
                paper.get(name, ("—", "—"))[0],
                paper.get(name, ("—", "—"))[1],
            ]
            for name in ("neutral", "neutral_requested", "all")
            if isinstance(sim.get(name), dict)
        ]
        lines += _table(
            [
                "utterances",
                "texts",
                "characters",
                "within",
                "across, same plot",
                "across",
                "paper within",
                "paper across",
            ],
            rows,
        )
    for name in ("utterance_length", "similarity"):
        if name in plot_names:
            lines += [f"![{name}]({plot_names[name]})", ""]
    examples = div["utterances"]["duplicates"]["near_examples"]
    if examples:
        lines += ["Near-duplicate examples (kept, duplicate):", ""] + [f"- {a!r} / {b!r}" for a, b in examples] + [""]

    gen = report.get("generation")
    if gen:
        lines += ["## Generation (the teacher's utterances before the filters)", ""]
        rows = []
        for name, title in (("all", "all utterances"), ("neutral_requested", "asked to be neutral")):
            d = gen[name]
            sim = (gen.get("similarity") or {}).get(name) or {}
            rows.append(
                [
                    title,
                    d["duplicates"]["texts"],
                    d["distinct_2"],
                    _pct(d["duplicates"]["exact_rate"]),
                    _pct(d["duplicates"]["near_rate"]),
                    sim.get("within"),
                    sim.get("across"),
                ]
            )
        lines += _table(
            ["utterances", "n", "distinct-2", "exact duplicates", "near duplicates", "within a character", "across"],
            rows,
        )
        lines += [
            f"Neutral utterances repeating one of the same character's word for word: "
            f"{gen['neutral_same_character_exact']} of {gen['asked_neutral']}.",
            "",
        ]

    ctx = report.get("contexts")
    lines += ["## Contexts", ""]
    if not ctx:
        lines += ["The dataset has no contexts.", ""]
    else:
        raw_sim, rew_sim = ctx["raw_vs_cleaned_similarity"], ctx["orig_vs_rewritten_similarity"]
        lines += _table(
            ["statistic", "this dataset", "paper"],
            [
                ["contexts", ctx["contexts"], "~1/3 of utterances"],
                [
                    "contexts naming the actor's own emotions: raw / cleaned",
                    f"{ctx['naming_own_labels']} / {ctx['cleaned_naming_own_labels']}",
                    "—",
                ],
                [
                    "contexts naming any emotion: raw / cleaned",
                    f"{ctx['naming_any_emotion']} / {ctx['cleaned_naming_any_emotion']}",
                    "—",
                ],
                [
                    "raw vs cleaned similarity (mean ± sd)",
                    f"{_fmt(raw_sim['mean'])} ± {_fmt(raw_sim['sd'])} (n {raw_sim['n']})",
                    "0.92",
                ],
                [
                    "original vs rewritten similarity (mean ± sd)",
                    f"{_fmt(rew_sim['mean'])} ± {_fmt(rew_sim['sd'])} (n {rew_sim['n']})",
                    "0.78",
                ],
                [
                    "contexts containing the utterance: raw / cleaned",
                    f"{ctx['contains_utterance']} / {ctx['cleaned_contains_utterance']}",
                    "—",
                ],
                [
                    "contexts running past the utterance: raw / cleaned",
                    f"{ctx['runs_past_utterance']} / {ctx['cleaned_runs_past_utterance']}",
                    "—",
                ],
            ],
        )
    timing = report.get("timing_s") or {}
    if timing:
        lines += ["Computed in " + ", ".join(f"{k} {v:.2f} s" for k, v in timing.items()) + ".", ""]
    return "\n".join(lines)


def default_compare() -> Path | None:
    """GoEmotions train under ``EMOPILLARS_DATA``, when present."""
    from emopillars import settings

    root = settings.data_dir()
    path = root / "goemotions" / "train.tsv" if root else None
    return path if path is not None and path.exists() else None


def inspect_dataset(
    path: str | Path,
    out_dir: str | Path,
    compare: str | Path | None = None,
    options: ReportOptions | None = None,
    format: str | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Load ``path`` (and ``compare``), build the report and write it to ``out_dir``; (report, written paths)."""
    from emopillars.stats.source import load_source

    options = options or ReportOptions()
    started = time.perf_counter()
    source = load_source(path, format)
    compare_source = load_source(compare) if compare is not None else None
    loaded = time.perf_counter() - started
    report = build_report(source, options, compare_source)
    report["timing_s"] = {"load": round(loaded, 3), **report["timing_s"]}
    written = write_report(report, out_dir, options.plots)
    report["timing_s"]["total"] = round(time.perf_counter() - started, 3)
    atomic_write_json(written["json"], report)
    return report, written
