"""The whole synthesis run: corpus -> actors -> utterances -> labels -> context -> cleaning -> rewriting -> dataset.

:func:`synthesize` runs the six steps in order through :func:`~emopillars.synth.runner.run_step`,
applies the filters between them, and writes the dataset, ``schema.json`` and ``manifest.json``.

Resume: everything a run decides is stored under ``DIR`` -- the config (``config.json``), the plots
it works on (``steps/plots.jsonl``), each step's finished rows (``steps/<step>.jsonl``) and the
emotion balancer's plan (``steps/balancer.json``) -- and everything else (filters, context choice,
splits, manifest counts) is a pure function of those files. So rerunning the same command on the
same DIR redoes only unfinished rows and ends with the same dataset as an uninterrupted run.
A different config on an existing DIR is refused unless ``force=True``, which discards the old
checkpoints (the LLM cache still makes repeated requests free).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import emopillars
from emopillars.data.records import SCHEMA_VERSION, Provenance, SyntheticRecord, write_schema
from emopillars.llm.types import SamplingParams
from emopillars.synth import corpus as corpus_io
from emopillars.synth.balancer import EmotionBalancer
from emopillars.synth.dataset import write_dataset
from emopillars.synth.filters import FilterConfig, emotion_words_in, filter_utterances, rewrite_problem
from emopillars.synth.prompts import SYSTEM, SYSTEM_VERSION, load_prompt
from emopillars.synth.runner import StepRun, SynthesisError, run_step, wait_for_checkpoints
from emopillars.synth.steps import STEP_MODULES, STEP_ORDER, make_step
from emopillars.taxonomy import LABELS, NEUTRAL, POSITIVE_THRESHOLD

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = {name: module.MAX_TOKENS for name, module in STEP_MODULES.items()}
# Settings that do not change what a run produces; everything else must match to resume.
NON_IDENTITY = {"out_dir", "cache", "batch_size", "concurrency", "max_retries", "progress", "force", "parquet"}


SAMPLING_KEYS = {"temperature", "top_p", "repetition_penalty"}


class ConfigMismatchError(ValueError):
    """An existing output folder was made with a different configuration."""


@dataclass
class SynthesisConfig:
    """Everything a synthesis run depends on. Validated on creation; ``to_dict`` / ``from_dict`` round-trip."""

    corpus: str
    out_dir: str
    llm: str | None = None
    plots: int | None = None
    max_actors: int | None = None
    context_fraction: float = 1 / 3
    seed: int = 0
    cache: bool = True
    prompts_dir: str | None = None
    batch_size: int = 64
    concurrency: int | None = None
    max_retries: int = 2
    corpus_format: str | None = None
    text_field: str | None = None
    id_field: str | None = None
    title_field: str | None = None
    min_plot_chars: int = 200
    max_plot_tokens: int = 1500
    chars_per_token: float = 4.0
    max_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TOKENS))
    n_emotions: int = 8
    n_neutral: int = 2
    temperature: float = 0.0
    repetition_penalty: float = 1.03
    step_sampling: dict[str, dict[str, float]] = field(default_factory=dict)
    near_dup_threshold: float = 0.8
    max_utterance_chars: int = 300
    parquet: bool = True
    progress: bool = True
    force: bool = False

    def __post_init__(self) -> None:
        self.corpus = str(self.corpus)
        self.out_dir = str(self.out_dir)
        if self.prompts_dir is not None:
            self.prompts_dir = str(self.prompts_dir)
        self.max_tokens = {**DEFAULT_MAX_TOKENS, **(self.max_tokens or {})}
        checks = [
            (self.plots is None or self.plots > 0, "plots", "must be > 0 (or None for all)"),
            (self.max_actors is None or self.max_actors > 0, "max_actors", "must be > 0 (or None for all)"),
            (0.0 <= self.context_fraction <= 1.0, "context_fraction", "must be in [0, 1]"),
            (self.batch_size > 0, "batch_size", "must be > 0"),
            (self.concurrency is None or self.concurrency > 0, "concurrency", "must be > 0"),
            (self.max_retries >= 0, "max_retries", "must be >= 0"),
            (self.min_plot_chars >= 0, "min_plot_chars", "must be >= 0"),
            (self.max_plot_tokens > 0, "max_plot_tokens", "must be > 0"),
            (self.chars_per_token > 0, "chars_per_token", "must be > 0"),
            (0 < self.n_emotions <= 27, "n_emotions", "must be in 1..27"),
            (self.n_neutral >= 0, "n_neutral", "must be >= 0"),
            (self.temperature >= 0, "temperature", "must be >= 0"),
            (0 < self.near_dup_threshold <= 1, "near_dup_threshold", "must be in (0, 1]"),
            (self.max_utterance_chars > 0, "max_utterance_chars", "must be > 0"),
            (set(self.max_tokens) <= set(STEP_ORDER), "max_tokens", f"keys must be among {STEP_ORDER}"),
            (all(int(v) > 0 for v in self.max_tokens.values()), "max_tokens", "values must be > 0"),
            (set(self.step_sampling) <= set(STEP_ORDER), "step_sampling", f"keys must be among {STEP_ORDER}"),
            (
                all(set(v) <= SAMPLING_KEYS for v in self.step_sampling.values()),
                "step_sampling",
                f"settings must be among {sorted(SAMPLING_KEYS)}",
            ),
        ]
        for ok, name, message in checks:
            if not ok:
                raise ValueError(f"SynthesisConfig.{name} {message} (got {getattr(self, name)!r})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthesisConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def identity(self) -> dict[str, Any]:
        """The settings that decide what the run produces (compared on resume)."""
        data = {k: v for k, v in self.to_dict().items() if k not in NON_IDENTITY}
        data["corpus"] = str(Path(self.corpus).resolve())
        if self.prompts_dir:
            data["prompts_dir"] = str(Path(self.prompts_dir).resolve())
        return data


@dataclass
class Manifest:
    """The run manifest (``DIR/manifest.json``): config, model, prompt versions, counts, drops, tokens, time."""

    data: dict[str, Any]
    path: Path

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def dataset_counts(self) -> dict[str, dict[str, int]]:
        return self.data.get("dataset", {})


def wants_context(record_id: str, seed: int, fraction: float) -> bool:
    """Whether a record gets a context: a hash of (seed, id) below ``fraction`` -- stable across resumes."""
    digest = hashlib.sha256(f"context:{seed}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class _Paths:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.steps = root / "steps"
        self.dataset = root / "dataset"
        self.config = root / "config.json"
        self.manifest = root / "manifest.json"
        self.schema = root / "schema.json"
        self.plots = self.steps / "plots.jsonl"
        self.balancer = self.steps / "balancer.json"

    def checkpoint(self, step: str) -> Path:
        return self.steps / f"{step}.jsonl"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _check_config(config: SynthesisConfig, paths: _Paths) -> None:
    """Refuse to mix two configurations in one folder (or wipe the old run when forced)."""
    if not paths.config.exists():
        return
    try:
        old = json.loads(paths.config.read_text(encoding="utf-8")).get("identity", {})
    except ValueError:
        old = {}
    new = json.loads(json.dumps(config.identity(), default=str))
    diffs = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if not diffs:
        return
    if not config.force:
        detail = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in diffs[:6])
        raise ConfigMismatchError(
            f"{paths.root} holds a run with a different configuration ({detail}); "
            "use another --out folder, rerun with the same options to resume, or pass --force to start over"
        )
    logger.warning("--force: discarding the previous run in %s (changed: %s)", paths.root, ", ".join(diffs))
    shutil.rmtree(paths.steps, ignore_errors=True)
    shutil.rmtree(paths.dataset, ignore_errors=True)
    for path in (paths.config, paths.manifest, paths.schema):
        path.unlink(missing_ok=True)


def _load_plots(config: SynthesisConfig, paths: _Paths, corpus_stats: dict) -> list[corpus_io.Plot]:
    """The run's plots: the stored snapshot when resuming, else read, filter, sample and fit the corpus."""
    if paths.plots.exists():
        with open(paths.plots, encoding="utf-8") as handle:
            plots = [corpus_io.Plot.from_dict(json.loads(line)) for line in handle if line.strip()]
        corpus_stats.update(plots_used=len(plots), resumed=True)
        if plots:
            return plots
    all_plots = corpus_io.read_corpus(
        config.corpus,
        format=config.corpus_format,
        text_field=config.text_field,
        id_field=config.id_field,
        title_field=config.title_field,
    )
    if not all_plots:
        raise corpus_io.CorpusError(f"the corpus {config.corpus} holds no stories")
    long_enough = corpus_io.filter_min_length(all_plots, config.min_plot_chars)
    if not long_enough:
        raise corpus_io.CorpusError(
            f"none of the {len(all_plots)} stories in {config.corpus} has at least {config.min_plot_chars} "
            "characters (lower min_plot_chars / --min-plot-chars)"
        )
    plots = corpus_io.prepare_plots(
        long_enough,
        n=config.plots,
        seed=config.seed,
        max_tokens=config.max_plot_tokens,
        chars_per_token=config.chars_per_token,
    )
    corpus_stats.update(plots_in_corpus=len(all_plots), plots_long_enough=len(long_enough), plots_used=len(plots))
    tmp = paths.plots.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in plots)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, paths.plots)
    return plots


class _Run:
    """State of one :func:`synthesize` call: steps, LLM, the manifest being filled."""

    def __init__(self, config: SynthesisConfig, llm, paths: _Paths) -> None:
        self.config = config
        self.llm = llm
        self.paths = paths
        options = {"utterances": {"n_neutral": config.n_neutral}}
        self.steps = {
            name: make_step(
                module,
                prompts_dir=config.prompts_dir,
                max_tokens=config.max_tokens[name],
                sampling=self.sampling(name),
                **options.get(name, {}),
            )
            for name, module in STEP_MODULES.items()
        }
        self.step_runs: dict[str, StepRun] = {}
        self.step_inputs: dict[str, int] = {}
        self.filter_drops: dict[str, Counter] = {}

    def sampling(self, name: str) -> SamplingParams:
        """The run's decoding settings (the paper's: greedy, repetition penalty 1.03), with per-step overrides."""
        settings = {"temperature": self.config.temperature, "repetition_penalty": self.config.repetition_penalty}
        settings.update(self.config.step_sampling.get(name, {}))
        return SamplingParams(seed=self.config.seed, **settings)

    def run(self, name: str, rows: list[dict]) -> StepRun:
        logger.info("step %s: %d input rows", name, len(rows))
        result = run_step(
            self.steps[name],
            rows,
            self.llm,
            self.paths.checkpoint(name),
            batch_size=self.config.batch_size,
            progress=self.config.progress,
        )
        self.step_runs[name] = result
        self.step_inputs[name] = len(rows)
        return result

    def prompt_versions(self) -> dict[str, str]:
        versions = {name: step.version for name, step in self.steps.items()}
        versions[SYSTEM] = load_prompt(SYSTEM, SYSTEM_VERSION, self.config.prompts_dir).version
        return versions


def synthesize(config: SynthesisConfig, llm=None) -> Manifest:
    """Run (or resume) the whole pipeline into ``config.out_dir``; returns the manifest (also on disk).

    ``llm``: an object with ``generate(requests) -> responses`` and ``model_id``; by default
    ``emopillars.llm.load_llm(config.llm, cache=config.cache, concurrency=config.concurrency)``.
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    paths = _Paths(Path(config.out_dir))
    paths.root.mkdir(parents=True, exist_ok=True)
    _check_config(config, paths)
    paths.steps.mkdir(parents=True, exist_ok=True)
    corpus_stats: dict[str, Any] = {"path": config.corpus}
    plots = _load_plots(config, paths, corpus_stats)
    _write_json(paths.config, {"identity": config.identity(), "config": config.to_dict()})
    own_llm = llm is None
    if own_llm:
        llm = _open_llm(config)
    run = _Run(config, llm, paths)
    status = "failed"
    records: list[SyntheticRecord] = []
    dataset_counts: dict = {}
    try:
        records = _run_steps(run, plots)
        dataset_counts = write_dataset(records, paths.dataset, config.seed, parquet=config.parquet)
        write_schema(paths.schema)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        wait_for_checkpoints()  # the steps' last fsyncs ran in the background; the manifest comes after them
        manifest = _write_manifest(run, plots, corpus_stats, records, dataset_counts, status, started, started_at)
        if own_llm and hasattr(llm, "close"):
            llm.close()
    logger.info("synthesis %s: %s", status, ", ".join(f"{k} {sum(v.values())}" for k, v in dataset_counts.items()))
    return manifest


def _open_llm(config: SynthesisConfig):
    """The teacher named by the config, checked before any work so a dead server fails fast and clearly."""
    from emopillars.llm import BackendError, load_llm

    try:
        llm = load_llm(config.llm, cache=config.cache, concurrency=config.concurrency, max_retries=config.max_retries)
    except BackendError as exc:
        raise SynthesisError(f"cannot start the LLM {config.llm or '(default)'}: {exc}") from None
    try:
        llm.check()
    except BackendError as exc:
        llm.close()
        raise SynthesisError(f"the LLM {config.llm or '(default)'} is not available: {exc}") from None
    return llm


def _run_steps(run: _Run, plots: list[corpus_io.Plot]) -> list[SyntheticRecord]:
    config, paths = run.config, run.paths
    plot_by_id = {p.id: p for p in plots}

    actors = run.run("actors", [p.to_dict() for p in plots]).outputs()
    actor_rows, over_cap = [], 0
    per_plot: Counter[str] = Counter()
    for actor in actors:
        per_plot[actor["plot_id"]] += 1
        if config.max_actors is not None and per_plot[actor["plot_id"]] > config.max_actors:
            over_cap += 1
            continue
        actor_rows.append(actor)
    run.filter_drops["actors"] = Counter({"over_max_actors": over_cap} if over_cap else {})

    balancer = EmotionBalancer.load_or_new(paths.balancer, config.seed)
    utterance_inputs = [
        {
            **actor,
            "plot": plot_by_id[actor["plot_id"]].text,
            "requested": balancer.assign(actor["id"], config.n_emotions),
        }
        for actor in actor_rows
    ]
    balancer.save(paths.balancer)
    utterances = run.run("utterances", utterance_inputs).outputs()
    filter_config = FilterConfig(
        max_chars=config.max_utterance_chars, near_dup_threshold=config.near_dup_threshold, seed=config.seed
    )
    utterances, drops = filter_utterances(utterances, filter_config)
    run.filter_drops["utterances"] = drops

    labels = {out["id"]: out for out in run.run("labels", utterances).outputs()}
    labelled = [{**u, **labels[u["id"]]} for u in utterances if u["id"] in labels]

    context_inputs = [
        {**row, "plot": plot_by_id[row["plot_id"]].text}
        for row in labelled
        if wants_context(row["id"], config.seed, config.context_fraction)
    ]
    contexts = {out["id"]: out["context"] for out in run.run("context", context_inputs).outputs()}
    cleaning_inputs = [{**row, "context": contexts[row["id"]]} for row in context_inputs if row["id"] in contexts]
    cleaned = {out["id"]: out["cleaned_context"] for out in run.run("cleaning", cleaning_inputs).outputs()}
    rewriting_inputs = [
        {**row, "cleaned_context": cleaned[row["id"]]} for row in cleaning_inputs if row["id"] in cleaned
    ]
    rewrites: dict[str, str] = {}
    rewrite_drops: Counter[str] = Counter()
    for out in run.run("rewriting", rewriting_inputs).outputs():
        rewrites[out["id"]] = out["rewritten_utterance"]
    positives = {row["id"]: row["positive_labels"] for row in rewriting_inputs}
    for record_id in list(rewrites):
        problem = rewrite_problem(rewrites[record_id], positives[record_id], filter_config)
        if problem:
            rewrite_drops[problem] += 1
            del rewrites[record_id]
    run.filter_drops["rewrites"] = rewrite_drops

    provenance = Provenance(model=str(getattr(run.llm, "model_id", "unknown")), prompt_versions=run.prompt_versions())
    return [
        SyntheticRecord(
            record_id=row["id"],
            plot_id=row["plot_id"],
            actor_id=row["actor_id"],
            actor=row["actor"],
            plot_title=plot_by_id[row["plot_id"]].title,
            requested_emotion=row.get("requested_emotion"),
            utterance=row["utterance"],
            rewritten_utterance=rewrites.get(row["id"]),
            context=contexts.get(row["id"]),
            cleaned_context=cleaned.get(row["id"]),
            raw_labels=row["raw_labels"],
            labels=row["labels"],
            positive_labels=row["positive_labels"],
            provenance=provenance,
        )
        for row in labelled
    ]


def _step_summary(run: _Run, name: str) -> dict[str, Any]:
    result = run.step_runs[name]
    drops: Counter[str] = Counter()
    item_drops: Counter[str] = Counter()
    tokens = Counter()
    for entry in result.entries:
        if entry.drop:
            drops[entry.drop] += 1
        item_drops.update(entry.item_drops)
        tokens["prompt_tokens"] += int(entry.usage.get("prompt_tokens") or 0)
        tokens["completion_tokens"] += int(entry.usage.get("completion_tokens") or 0)
        tokens["cached"] += bool(entry.usage.get("cached"))
    stats = result.stats
    return {
        "prompt_version": run.steps[name].version,
        "max_tokens": run.config.max_tokens[name],
        "inputs": run.step_inputs[name],
        "outputs": sum(len(e.outputs) for e in result.entries),
        "dropped": sum(drops.values()),
        "drops": dict(drops.most_common()),
        "item_drops": dict(item_drops.most_common()),
        "calls": len(result.entries),
        "prompt_tokens": tokens["prompt_tokens"],
        "completion_tokens": tokens["completion_tokens"],
        "cached_answers": tokens["cached"],
        "resumed_rows": stats.resumed,
        "done_now": stats.done_now,
        "wall_s": round(stats.wall_s, 3),
        "llm_s": round(stats.llm_s, 3),
    }


def _label_stats(run: _Run, records: list[SyntheticRecord]) -> dict[str, Any]:
    unmapped: Counter[str] = Counter()
    if "labels" in run.step_runs:
        for entry in run.step_runs["labels"].entries:
            unmapped.update(entry.notes.get("unmapped", []))
    per_label = Counter(label for r in records for label in r.positive_labels)
    n = len(records)
    return {
        "positive_threshold": POSITIVE_THRESHOLD,
        "examples": n,
        "labels_per_example_mean": round(sum(len(r.positive_labels) for r in records) / n, 3) if n else 0.0,
        "per_label": {label: per_label.get(label, 0) for label in LABELS},
        "neutral_share_of_labels": round(per_label[NEUTRAL] / max(sum(per_label.values()), 1), 4),
        "examples_with_neutral": sum(NEUTRAL in r.positive_labels for r in records),
        "unmapped_total": sum(unmapped.values()),
        "unmapped_top": unmapped.most_common(20),
    }


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower().split(), b.lower().split()).ratio()


def _quality_stats(records: list[SyntheticRecord]) -> dict[str, Any]:
    with_context = [r for r in records if r.context]
    cleaned = [r for r in with_context if r.cleaned_context]
    rewritten = [r for r in records if r.rewritten_utterance]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "contexts": len(with_context),
        "contexts_naming_own_labels": sum(bool(emotion_words_in(r.context, r.positive_labels)) for r in with_context),
        "contexts_naming_any_emotion": sum(bool(emotion_words_in(r.context)) for r in with_context),
        "cleaned_contexts": len(cleaned),
        "cleaned_naming_own_labels": sum(
            bool(emotion_words_in(r.cleaned_context, r.positive_labels)) for r in cleaned
        ),
        "cleaned_naming_any_emotion": sum(bool(emotion_words_in(r.cleaned_context)) for r in cleaned),
        "raw_vs_cleaned_similarity_mean": mean([_similarity(r.context, r.cleaned_context) for r in cleaned]),
        "rewritten": len(rewritten),
        "orig_vs_rewritten_similarity_mean": mean(
            [_similarity(r.utterance, r.rewritten_utterance) for r in rewritten]
        ),
        "requested_emotion_is_primary": sum(
            bool(r.requested_emotion) and bool(r.labels) and next(iter(r.labels)) == r.requested_emotion
            for r in records
        ),
    }


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _write_manifest(run, plots, corpus_stats, records, dataset_counts, status, started, started_at) -> Manifest:
    paths = run.paths
    wall = time.perf_counter() - started
    previous_runs: list = []
    if paths.manifest.exists():
        try:
            previous_runs = json.loads(paths.manifest.read_text(encoding="utf-8")).get("runs", [])
        except ValueError:
            previous_runs = []
    runs = [*previous_runs, {"started": started_at, "wall_s": round(wall, 2), "status": status}]
    steps = {name: _step_summary(run, name) for name in STEP_ORDER if name in run.step_runs}
    drops: Counter[str] = Counter()
    for name, summary in steps.items():
        drops.update({f"{name}.{reason}": n for reason, n in summary["drops"].items()})
    for name, counter in run.filter_drops.items():
        drops.update({f"filter.{name}.{reason}": n for reason, n in counter.items()})
    metrics = getattr(run.llm, "metrics", None)
    data = {
        "status": status,
        "emopillars_version": emopillars.__version__,
        "schema_version": SCHEMA_VERSION,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": str(getattr(run.llm, "model_id", "unknown")),
        "prompt_versions": run.prompt_versions(),
        "config": run.config.to_dict(),
        "corpus": corpus_stats,
        "plots": len(plots),
        "steps": steps,
        "filters": {name: dict(counter.most_common()) for name, counter in run.filter_drops.items()},
        "drops": dict(drops.most_common()),
        "labels": _label_stats(run, records),
        "quality": _quality_stats(records),
        "dataset": dataset_counts,
        "records": len(records),
        "tokens": {
            "calls": sum(s["calls"] for s in steps.values()),
            "prompt": sum(s["prompt_tokens"] for s in steps.values()),
            "completion": sum(s["completion_tokens"] for s in steps.values()),
        },
        "llm_metrics": _jsonable(metrics) if metrics is not None else None,
        "wall_time_s": round(wall, 2),
        "wall_time_total_s": round(sum(r["wall_s"] for r in runs), 2),
        "runs": runs,
        "outputs": {
            "dataset": str(paths.dataset),
            "schema": str(paths.schema),
            "checkpoints": str(paths.steps),
        },
    }
    _write_json(paths.manifest, data)
    return Manifest(data, paths.manifest)
