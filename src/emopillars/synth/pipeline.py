"""The whole synthesis run: corpus -> actors -> utterances -> labels -> context -> cleaning -> rewriting -> dataset.

:func:`synthesize` checks the pipeline's wiring (:mod:`emopillars.synth.wiring`) before anything else,
locks the output folder (:mod:`emopillars.synth.rundir`), runs the stages of
:data:`~emopillars.synth.wiring.PIPELINE` in order through :func:`~emopillars.synth.runner.run_step`,
applies the filters between them, publishes the dataset and writes ``manifest.json`` last.

Resume: everything a run decides is stored under ``DIR`` -- the config (``config.json``), the plots it
works on (``steps/plots.jsonl``), each step's finished rows (``steps/<step>.jsonl``) and the emotion
balancer's plan (``steps/balancer.json``) -- and everything else (filters, context choice, splits,
manifest counts) is a pure function of those files. So rerunning the same command on the same DIR
redoes only unfinished rows and ends with the same dataset as an uninterrupted run. A different config
on an existing DIR is refused unless ``force=True``, which discards the old checkpoints (the LLM cache
still makes repeated requests free).

How a run ends: ``complete`` (records written); ``failed`` with the reason in the manifest's ``error``
(LLM calls that kept failing -- their rows are not recorded and a rerun retries them --, a run that
produced no record, a full disk, ...); ``interrupted`` (Ctrl-C or SIGTERM). While it runs the manifest
says ``running``.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import emopillars
from emopillars.data.records import SCHEMA_VERSION, Provenance, SyntheticRecord
from emopillars.files import atomic_write_json
from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ErrorKind, SamplingParams
from emopillars.stats.manifest import manifest_stats
from emopillars.synth import corpus as corpus_io
from emopillars.synth import stats as run_stats
from emopillars.synth.balancer import EmotionBalancer
from emopillars.synth.checkpoint import wait_for_checkpoints
from emopillars.synth.config import SynthesisConfig
from emopillars.synth.dataset import contextual_plots, write_dataset
from emopillars.synth.errors import ConfigMismatchError, LLMCallError, SynthesisError
from emopillars.synth.filters import FilterConfig, filter_utterances, rewrite_problem
from emopillars.synth.prompts import SYSTEM, SYSTEM_VERSION, load_prompt
from emopillars.synth.rundir import RunDir
from emopillars.synth.runner import StepRun, StepStats, run_step
from emopillars.synth.signals import Terminated
from emopillars.synth.steps import STEP_MODULES, STEP_ORDER, make_step
from emopillars.synth.steps import utterances as utterances_step
from emopillars.synth.wiring import PIPELINE, check_wiring
from emopillars.teacher.calibration import Calibration, calibrate_records
from emopillars.teacher.schedule import run_ordered

logger = logging.getLogger(__name__)


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

    @property
    def warnings(self) -> list[str]:
        return self.data.get("warnings", [])


def wants_context(record_id: str, seed: int, fraction: float) -> bool:
    """Whether a record gets a context: a hash of (seed, id) below ``fraction`` -- stable across resumes."""
    digest = hashlib.sha256(f"context:{seed}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class _Run:
    """State of one :func:`synthesize` call: steps, LLM, what the stages did (for the manifest)."""

    def __init__(self, config: SynthesisConfig, llm, rundir: RunDir, plots: list[corpus_io.Plot], engine=None) -> None:
        self.config = config
        self.llm = llm
        self.engine = engine  # None: this process's runner; else an engine from emopillars.synth.engines
        self.rundir = rundir
        self.plot_by_id = {p.id: p for p in plots}
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
        if config.neutral_diversity:
            template = load_prompt(
                utterances_step.NEUTRAL_PROMPT, utterances_step.NEUTRAL_PROMPT_VERSION, config.prompts_dir
            )
            self.steps["utterances"] = dataclasses.replace(self.steps["utterances"], prompt=template)
        self.filter_config = FilterConfig(
            max_chars=config.max_utterance_chars, near_dup_threshold=config.near_dup_threshold, seed=config.seed
        )
        self.step_runs: dict[str, StepRun] = {}
        self.step_stats: dict[str, StepStats] = {}
        self.step_inputs: dict[str, int] = {}
        self.filter_drops: dict[str, Counter] = {}
        from emopillars.teacher import labelling  # imports the labels step: not at module import time

        self.label_setup = labelling.LabelSetup(
            config.label_samples, config.label_temperature, list(config.label_llms), config.label_model
        )
        self.label_info: dict[str, Any] | None = None
        if engine is not None and not self.label_setup.plain:
            raise ValueError(
                "several label samples or raters (--label-samples, --label-llm) run on the local engine only: "
                "drop --engine ray or run the labels with one sample"
            )

    @property
    def _step_runner(self):
        """``run_step`` of the engine (Ray) or of this process: same arguments, same checkpoint."""
        return self.engine.run_step if self.engine is not None else run_step

    def sampling(self, name: str) -> SamplingParams:
        """The run's decoding settings (the paper's: greedy, repetition penalty 1.03), with per-step overrides."""
        settings = {"temperature": self.config.temperature, "repetition_penalty": self.config.repetition_penalty}
        settings.update(self.config.step_sampling.get(name, {}))
        return SamplingParams(seed=self.config.seed, **settings)

    def prompt_versions(self) -> dict[str, str]:
        versions = {name: step.version for name, step in self.steps.items()}
        versions[SYSTEM] = load_prompt(SYSTEM, SYSTEM_VERSION, self.config.prompts_dir).version
        return versions

    # -- the stages ---------------------------------------------------------------------------------
    def run_stages(self) -> dict[str, list[dict]]:
        """Every stage of :data:`PIPELINE` in order; returns the tables (see :mod:`emopillars.synth.wiring`)."""
        tables: dict[str, list[dict]] = {"plots": [p.to_dict() for p in self.plot_by_id.values()]}
        for stage in PIPELINE:
            rows = self.select(stage.step, tables[stage.reads])
            if stage.joins:
                rows = self.join(rows, stage.joins)
            outputs = self.keep(stage.step, self.run(stage.step, rows).outputs(), rows)
            if stage.merge:
                by_id = {out["id"]: out for out in outputs}
                tables[stage.step] = [{**row, **by_id[row["id"]]} for row in rows if row["id"] in by_id]
            else:
                tables[stage.step] = outputs
        return tables

    def run(self, name: str, rows: list[dict]) -> StepRun:
        logger.info("step %s: %d input rows", name, len(rows))
        stats = self.step_stats[name] = StepStats(name)
        self.step_inputs[name] = len(rows)
        options = {"batch_size": self.config.batch_size, "progress": self.config.progress}
        if name == "labels" and not self.label_setup.plain:
            result = self.run_label_raters(rows, options)
        else:
            checkpoint = self.rundir.checkpoint(name)
            result = run_ordered(
                self._step_runner, self.steps[name], rows, self.llm, checkpoint, schedule=self.config.schedule,
                stats=stats, **options,
            )  # fmt: skip
        self.step_runs[name] = result
        return result

    def run_label_raters(self, rows: list[dict], options: dict) -> StepRun:
        """Labels from K samples and several raters (:mod:`emopillars.teacher.labelling`)."""
        from emopillars.teacher import labelling

        started = time.perf_counter()
        label_run = labelling.run_labels(
            rows,
            step=self.steps["labels"],
            teacher=self.llm,
            teacher_name=redact_spec(self.config.llm) or _model_id(self.llm),
            setup=self.label_setup,
            checkpoint=lambda name: self.rundir.steps / f"{name}.jsonl",
            run_step=lambda *a, **k: run_ordered(self._step_runner, *a, schedule=self.config.schedule, **k),
            open_llm=lambda spec: _open_llm(dataclasses.replace(self.config, llm=spec)),
            run_step_options=options,
        )
        self.label_info = label_run.info
        return labelling.as_step_run(label_run, rows, time.perf_counter() - started)

    def select(self, step: str, rows: list[dict]) -> list[dict]:
        """The rows a stage works on: contexts only for a share of the utterances of the plots the contextual
        sets use (see :mod:`emopillars.synth.dataset`)."""
        if step != "context":
            return rows
        config = self.config
        plots = contextual_plots({row["plot_id"] for row in rows}, config.seed)
        return [
            row
            for row in rows
            if row["plot_id"] in plots and wants_context(row["id"], config.seed, config.context_fraction)
        ]

    def join(self, rows: list[dict], joins: tuple[str, ...]) -> list[dict]:
        """Add the pipeline's own fields (:data:`emopillars.synth.wiring.JOINS`) to each row."""
        balancer = (
            EmotionBalancer.load_or_new(self.rundir.balancer, self.config.seed) if "requested" in joins else None
        )
        out = []
        for row in rows:
            extra: dict[str, Any] = {}
            if "plot" in joins:
                extra["plot"] = self.plot_by_id[row["plot_id"]].text
            if balancer is not None:
                extra["requested"] = balancer.assign(row["id"], self.config.n_emotions)
            out.append({**row, **extra})
        if balancer is not None:
            balancer.save(self.rundir.balancer)  # before the step runs: a resumed run asks exactly the same
        return out

    def keep(self, step: str, outputs: list[dict], rows: list[dict]) -> list[dict]:
        """The filters between stages: the actor cap, the utterance filters, rewrites that name their labels."""
        if step == "actors" and self.config.max_actors is not None:
            kept, per_plot = [], Counter()
            for actor in outputs:
                per_plot[actor["plot_id"]] += 1
                if per_plot[actor["plot_id"]] <= self.config.max_actors:
                    kept.append(actor)
            over = len(outputs) - len(kept)
            self.filter_drops["actors"] = Counter({"over_max_actors": over} if over else {})
            return kept
        if step == "utterances":
            kept, drops = filter_utterances(outputs, self.filter_config)
            self.filter_drops["utterances"] = drops
            return kept
        if step == "rewriting":
            positives = {row["id"]: row["positive_labels"] for row in rows}
            kept, drops = [], Counter()
            for out in outputs:
                problem = rewrite_problem(out["rewritten_utterance"], positives[out["id"]], self.filter_config)
                if problem:
                    drops[problem] += 1
                else:
                    kept.append(out)
            self.filter_drops["rewrites"] = drops
            return kept
        return outputs

    def records(self, tables: dict[str, list[dict]]) -> list[SyntheticRecord]:
        contexts = {row["id"]: row["context"] for row in tables["context"]}
        cleaned = {row["id"]: row["cleaned_context"] for row in tables["cleaning"]}
        rewrites = {row["id"]: row["rewritten_utterance"] for row in tables["rewriting"]}
        provenance = Provenance(model=_model_id(self.llm), prompt_versions=self.prompt_versions())

        def provenance_of(row: dict) -> Provenance:
            raters = row.get("raters")
            return provenance.model_copy(update={"raters": raters}) if raters else provenance

        return [
            SyntheticRecord(
                record_id=row["id"],
                plot_id=row["plot_id"],
                actor_id=row["actor_id"],
                actor=row["actor"],
                plot_title=self.plot_by_id[row["plot_id"]].title,
                requested_emotion=row.get("requested_emotion"),
                utterance=row["utterance"],
                rewritten_utterance=rewrites.get(row["id"]),
                context=contexts.get(row["id"]),
                cleaned_context=cleaned.get(row["id"]),
                raw_labels=row["raw_labels"],
                labels=row["labels"],
                positive_labels=row["positive_labels"],
                provenance=provenance_of(row),
            )
            for row in tables["labels"]
        ]


def synthesize(config: SynthesisConfig, llm=None, *, engine=None) -> Manifest:
    """Run (or resume) the whole pipeline into ``config.out_dir``; returns the manifest (also on disk).

    ``llm``: an object with ``generate(requests) -> responses`` and ``model_id``; by default
    ``emopillars.llm.load_llm(config.llm, cache=config.cache, concurrency=config.concurrency)``.
    ``engine``: where each step's LLM calls run -- ``None`` for this process (the runner), or an engine of
    :mod:`emopillars.synth.engines` (e.g. Ray Data), which opens its own LLM handle when ``llm`` is None and
    writes the same checkpoints, so a step interrupted on one engine resumes on the other.
    Raises :class:`~emopillars.synth.errors.SynthesisError` (or a subclass) with a message saying what to do
    when the run cannot finish, ``KeyboardInterrupt`` when interrupted; the manifest records either.
    """
    check_wiring(PIPELINE, STEP_MODULES)
    if llm is None and not config.llm:  # name the default teacher in the config: a resumed run keeps its teacher
        from emopillars.teacher.defaults import teacher_spec

        config = dataclasses.replace(config, llm=teacher_spec())
    rundir = RunDir(config.out_dir)
    rundir.create()
    try:
        with rundir.locked():
            return _synthesize(config, llm, rundir, engine)
    except OSError as exc:
        raise _os_error(exc, rundir) from None


def _os_error(exc: OSError, rundir: RunDir) -> BaseException:
    """A file-system error as one clear message (a full disk says so, and how to resume)."""
    if exc.errno is None:  # e.g. FileNotFoundError("corpus not found: ...") already says it all
        return exc
    where = f" writing {exc.filename}" if exc.filename else f" under {rundir.root}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SynthesisError(
            f"the disk is full ({exc.strerror}){where}; finished rows are saved: free some space and rerun the same "
            "command to resume"
        )
    return SynthesisError(f"cannot read or write files{where}: {exc.strerror}")


def _synthesize(config: SynthesisConfig, llm, rundir: RunDir, engine=None) -> Manifest:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    rundir.check_config(config)
    rundir.clean_leftovers()
    rundir.steps.mkdir(parents=True, exist_ok=True)
    previous = rundir.previous_manifest()
    corpus_stats: dict[str, Any] = {"path": config.corpus}
    plots = _load_plots(config, rundir, corpus_stats)
    rundir.save_config(config)
    own_llm = llm is None
    if own_llm:
        llm = engine.open_llm(config) if engine is not None else _open_llm(config)
    try:
        run = _Run(config, llm, rundir, plots, engine)  # loads the prompt templates: a bad user template stops here
        prompt_versions = run.prompt_versions()  # reads the system template: once
        _check_prompt_versions(previous, prompt_versions, rundir, force=config.force)
    except BaseException:
        if own_llm:
            _close(llm)
        raise
    # From here on the folder's files change: until the final manifest, the manifest says so. (A run that could
    # not start -- a dead server, a bad template -- leaves an earlier run's manifest as it was: still true.)
    end = _End(run, previous, plots, corpus_stats, started, started_at)
    try:
        rundir.write_manifest(
            {
                **previous,
                "status": "running",
                "updated": started_at,
                "pid": os.getpid(),
                "config": config.to_dict(),
                "prompt_versions": prompt_versions,
            }
        )
        tables = run.run_stages()
        end.records = calibrate_records(run.records(tables), Calibration.parse(config.label_calibration))
        end.dataset = rundir.publish_dataset(
            lambda folder: write_dataset(end.records, folder, config.seed, parquet=config.parquet)
        )
        atomic_write_json(rundir.schema, SyntheticRecord.json_schema())
    except BaseException as exc:
        end.failed(exc)
        end.write(quiet=True)
        if own_llm:
            _close(llm)
        raise
    if not end.records:
        end.status = "failed"
        drops = run_stats.top_drops(end.drops())
        end.error = {
            "kind": "empty",
            "message": f"the run produced no records; top drop reasons: {drops}",
        }
    manifest = end.write(quiet=False)
    if own_llm:
        _close(llm)
    if not end.records:
        raise SynthesisError(
            f"the run produced no records; top drop reasons: {run_stats.top_drops(end.drops())} (see 'steps' and "
            f"'filters' in {rundir.manifest}). The teacher's answers are saved, so a rerun with the same options "
            "gives the same result: check the teacher (--llm), the prompts (--prompts) or --max-tokens"
        )
    for line in manifest.warnings:
        logger.warning("%s", line)
    logger.info(
        "synthesis %s: %s", manifest["status"], ", ".join(f"{k} {sum(v.values())}" for k, v in end.dataset.items())
    )
    return manifest


def _check_prompt_versions(previous: dict, current: dict[str, str], rundir: RunDir, force: bool) -> None:
    """Refuse to resume steps whose checkpoints were made with other prompts (the package was upgraded, or a user
    template edited, between two invocations): their rows would be mixed with rows of the new prompt. ``force``
    discards those checkpoints instead (every step's: a step's rows feed the next)."""
    before = previous.get("prompt_versions") or {}
    started = [p for p in rundir.steps.glob("*.jsonl") if p.stem in current and p.stat().st_size > 0]
    names = sorted({p.stem for p in started} | ({SYSTEM} if started else set()))
    changed = [f"{n} {before[n]} -> {current[n]}" for n in names if n in before and before[n] != current.get(n)]
    if not changed:
        return
    if force:
        logger.warning("--force: other prompts (%s); discarding the step checkpoints of %s", "; ".join(changed),
                       rundir.root)  # fmt: skip
        for path in started:
            path.unlink()
        return
    raise ConfigMismatchError(
        f"{rundir.root} was started with other prompts ({'; '.join(changed)}), and its checkpoints hold answers to "
        "the old ones. Finish it with the emopillars version (or --prompts files) that started it, or rerun with "
        "--force to start over (the LLM cache keeps the answers to prompts that did not change)"
    )


def _close(llm) -> None:
    if hasattr(llm, "close"):
        try:
            llm.close()
        except Exception as exc:  # closing must not hide the run's own outcome
            logger.debug("closing the LLM failed: %s", exc)


def _model_id(llm) -> str:
    """The teacher as provenance names it: the served model, not the endpoint (a resumed or Ray run on
    another server of the same model writes the same records)."""
    return redact_spec(str(getattr(llm, "model_name", None) or getattr(llm, "model_id", "unknown")))


def _load_plots(config: SynthesisConfig, rundir: RunDir, corpus_stats: dict) -> list[corpus_io.Plot]:
    """The run's plots: the stored snapshot when resuming, else read, filter, sample and fit the corpus."""
    plots = rundir.load_plots()
    if plots:
        corpus_stats.update(plots_used=len(plots), resumed=True)
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
    shard = config.shard_part()
    if shard:
        sampled, plots = len(plots), plots[shard[0] :: shard[1]]
        if not plots:
            raise corpus_io.CorpusError(f"shard {config.shard} of a sample of {sampled} plots holds no plot")
    corpus_stats.update(plots_in_corpus=len(all_plots), plots_long_enough=len(long_enough), plots_used=len(plots))
    rundir.save_plots(plots)
    return plots


def _open_llm(config: SynthesisConfig):
    """The teacher named by the config, checked before any work so a dead server fails fast and clearly.

    Any failure to start or reach it is one :class:`SynthesisError` (credentials redacted): a malformed URL
    or a port out of range must not end a run with a traceback from deep inside the HTTP stack.
    """
    from emopillars.llm import load_llm

    name = redact_spec(config.llm) or "(default)"
    options: dict[str, Any] = {"timeout": config.timeout} if config.timeout is not None else {}
    try:
        llm = load_llm(
            config.llm, cache=config.cache, concurrency=config.concurrency, max_retries=config.max_retries, **options
        )
    except TypeError as exc:
        if options:
            raise SynthesisError(f"--timeout does not apply to the LLM {name} ({exc})") from None
        raise SynthesisError(f"cannot start the LLM {name}: {_describe(exc)}") from None
    except Exception as exc:
        raise SynthesisError(f"cannot start the LLM {name}: {_describe(exc)}") from None
    try:
        llm.check()
    except Exception as exc:
        _close(llm)
        raise SynthesisError(f"the LLM {name} is not available: {_describe(exc)}") from None
    return llm


def _describe(exc: BaseException) -> str:
    from emopillars.llm import BackendError

    text = str(exc) if isinstance(exc, BackendError | OSError | ValueError) else f"{type(exc).__name__}: {exc}"
    return redact_spec(text)


class _End:
    """How the run ended and the manifest that says so."""

    def __init__(self, run: _Run, previous: dict, plots: list, corpus_stats: dict, started: float, started_at: str):
        self.run, self.previous, self.plots, self.corpus_stats = run, previous, plots, corpus_stats
        self.started, self.started_at = started, started_at
        self.status = "complete"
        self.error: dict[str, Any] | None = None
        self.records: list[SyntheticRecord] = []
        self.dataset: dict[str, dict[str, int]] = {}

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self.status = "interrupted"
            self.error = {"kind": "interrupted", "signal": "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"}
            return
        self.status = "failed"
        kind = exc.kind if isinstance(exc, LLMCallError) else "error"
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            kind = "disk_full"
        self.error = {"kind": kind, "message": redact_spec(str(exc) or type(exc).__name__)}

    def steps(self) -> dict[str, dict]:
        run, out = self.run, {}
        for name in STEP_ORDER:
            common = {
                "prompt_version": run.steps[name].version,
                "max_tokens": run.config.max_tokens[name],
                "inputs": run.step_inputs.get(name, 0),
            }
            if name in run.step_runs:
                result = run.step_runs[name]
                out[name] = run_stats.step_summary(result.entries, result.stats, **common)
            elif name in run.step_stats:
                out[name] = run_stats.stopped_step_summary(run.step_stats[name], **common)
        return out

    def drops(self) -> Counter:
        return run_stats.drop_totals(self.steps(), self.run.filter_drops)

    def write(self, quiet: bool) -> Manifest:
        """Wait for the checkpoints' last fsyncs, then write the manifest. ``quiet``: the run is already failing
        with its own error, so a failure here is logged instead of raised."""
        try:
            wait_for_checkpoints()
            data = self.data()
            self.run.rundir.write_manifest(data)
        except Exception as exc:
            if not quiet:
                raise
            logger.error("could not write %s: %s", self.run.rundir.manifest, exc)
            data = {}
        return Manifest(data, self.run.rundir.manifest)

    def data(self) -> dict[str, Any]:
        run, rundir = self.run, self.run.rundir
        wall = time.perf_counter() - self.started
        history = self.previous.get("runs", [])
        runs = [*(history if isinstance(history, list) else []), self.run_entry(wall)]
        steps = self.steps()
        filters = {name: dict(counter.most_common()) for name, counter in run.filter_drops.items()}
        failures = Counter()
        for summary in steps.values():
            failures.update(summary.get("call_failures", {}))
        metrics = getattr(run.llm, "metrics", None)
        return {
            "status": self.status,
            "error": self.error,
            "emopillars_version": emopillars.__version__,
            "schema_version": SCHEMA_VERSION,
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": _model_id(run.llm),
            "prompt_versions": run.prompt_versions(),
            "config": run.config.to_dict(),
            "corpus": self.corpus_stats,
            "plots": len(self.plots),
            "steps": steps,
            "filters": filters,
            "drops": dict(run_stats.drop_totals(steps, run.filter_drops).most_common()),
            "call_failures": {
                ErrorKind.TRANSIENT: failures[ErrorKind.TRANSIENT],
                ErrorKind.FATAL: failures[ErrorKind.FATAL],
                "rows_without_answer": sum(s.get("rows_without_answer", 0) for s in steps.values()),
                "note": "calls that failed (server, network, key, model) are never recorded as drops: their rows "
                "are retried in the next pass and by the next run",
            },
            "warnings": run_stats.dominant_drop_warnings(steps, filters),
            **manifest_stats(self.records, self._unmapped()),  # "labels" and "quality": emopillars.stats
            "label_raters": run.label_info,
            "dataset": self.dataset,
            "records": len(self.records),
            "tokens": {
                "calls": sum(s.get("calls", 0) for s in steps.values()),
                "prompt": sum(s.get("prompt_tokens", 0) for s in steps.values()),
                "completion": sum(s.get("completion_tokens", 0) for s in steps.values()),
            },
            "llm_metrics": _jsonable(metrics) if metrics is not None else None,
            "wall_time_s": round(wall, 2),
            "wall_time_total_s": round(sum(float(r.get("wall_s", 0)) for r in runs if isinstance(r, dict)), 2),
            "runs": runs,
            "outputs": {
                "dataset": str(rundir.dataset),
                "schema": str(rundir.schema),
                "checkpoints": str(rundir.steps),
            },
        }

    def run_entry(self, wall: float) -> dict[str, Any]:
        entry = {"started": self.started_at, "wall_s": round(wall, 2), "status": self.status}
        entry["engine"] = getattr(self.run.engine, "name", "local")
        if self.error:
            entry["error"] = self.error.get("kind")
        return entry

    def _unmapped(self) -> Counter:
        labels = self.run.step_runs.get("labels")
        return run_stats.unmapped_labels(labels.entries) if labels else Counter()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)
