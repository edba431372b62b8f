"""A benchmark suite: tasks x starting points x head policies x seeds, run cell by cell, each cell cached.

A finished cell is written to ``OUT/cells/<cell>.json`` together with a key (a hash of everything that
decides its result: the task spec, the starting point, head, seed, profile and settings). A rerun
skips every cell whose file holds the same key, so an interrupted suite resumes where it stopped, and
a changed setting recomputes exactly the cells it touches. Inside a k-fold cell, folds resume too
(``run.py``). Every start, finish, reuse and failure is appended to ``OUT/suite_log.jsonl``.

A cell that fails (a missing checkpoint, bad data) is logged and reported in the table; the other
cells still run. ``results.md`` and ``results.json`` are rewritten after every cell.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emopillars.adapt.run import PROFILES, adapt, describe_protocol, present_splits, resolve_settings, stable_hash
from emopillars.adapt.tasks import TaskSpec, load_task, read_yaml_mapping
from emopillars.files import atomic_write_text

log = logging.getLogger("emopillars.adapt")

CELLS_DIR = "cells"
RUNS_DIR = "runs"
LOG_FILE = "suite_log.jsonl"


class StartSpec(BaseModel):
    """A starting point: ``role`` says which column of the comparison it is (plain encoder vs synthetic).

    ``tasks``: run this start on these tasks only (default: all); ``train``: ``TrainConfig`` overrides for its
    cells (e.g. a larger encoder's own learning rate), applied over the task's profile and the suite's ``train``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    source: str = Field(alias="from")
    role: str = "plain"
    tasks: list[str] | None = None
    train: dict = Field(default_factory=dict)
    epochs: int | None = None


class SoupSpec(BaseModel):
    """A model soup of each starting point's seeds (:mod:`emopillars.training.soup`): their fine-tuned encoders
    averaged into one model of the same size, whose head is then refit for ``epochs`` at ``head_lr`` with the
    encoder frozen. It is one more row of the table, beside the seeds' mean. ``train``: further ``TrainConfig``
    overrides of the refit (over the start's)."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=3, ge=1)
    head_lr: float = Field(default=1e-4, gt=0, lt=1)
    train: dict = Field(default_factory=dict)


class SuiteSpec(BaseModel):
    """A suite file. Task entries are shipped names or YAML paths (relative to the suite file)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    profile: str = "quick"
    out_dir: str = "runs/benchmark"
    tasks: list[str]
    starts: list[StartSpec]
    heads: list[str] = Field(default_factory=lambda: ["keep"])
    seeds: list[int] = Field(default_factory=lambda: [13])
    epochs: int | None = None
    limit: int | None = None
    train: dict = Field(default_factory=dict)
    keep_models: Literal["none", "single_run", "all"] = "none"
    """Fine-tuned models to keep: none, those of single-run protocols (each with its task and decision rule,
    ready for ``emopillars evaluate``), or all (every k-fold model too)."""
    soup: SoupSpec | None = None

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}")
        return value

    @field_validator("tasks", "starts", "heads", "seeds")
    @classmethod
    def _nonempty(cls, value: list) -> list:
        if not value:
            raise ValueError("must not be empty")
        return value


def load_suite(path: str | Path) -> tuple[SuiteSpec, list[TaskSpec]]:
    """The suite and its tasks, validated before anything runs."""
    path = Path(path)
    raw = read_yaml_mapping(path, "suite")
    try:
        suite = SuiteSpec.model_validate(raw)
    except Exception as exc:  # pydantic.ValidationError
        raise ValueError(f"{path}: invalid suite: {exc}") from exc
    tasks = []
    for entry in suite.tasks:
        candidate = Path(entry)
        if candidate.suffix in {".yaml", ".yml"} and not candidate.is_absolute():
            candidate = path.parent / candidate
        tasks.append(load_task(candidate if candidate.suffix else entry))
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: task names repeat: {names}")
    for start in suite.starts:
        unknown = set(start.tasks or []) - set(names)
        if unknown:
            raise ValueError(f"{path}: start {start.name!r} names tasks not in the suite: {sorted(unknown)}")
    if suite.soup is not None:
        if len(suite.seeds) < 2:
            raise ValueError(f"{path}: a soup averages the models of several seeds; the suite has {suite.seeds}")
        kfold = [task.name for task in tasks if task.protocol.kind == "kfold"]
        needed = "all" if kfold else "single_run"
        if suite.keep_models == "none" or (kfold and suite.keep_models != "all"):
            raise ValueError(f"{path}: a soup needs the seeds' models: set keep_models: {needed}")
    return suite, tasks


@dataclass
class Cell:
    task: TaskSpec
    start: StartSpec
    head: str
    seed: int
    members: list[Cell] = field(default_factory=list)
    """A soup cell: the cells (seeds) whose models it averages; it refits with the first one's seed."""

    @property
    def cell_id(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.start.name).strip("-").lower()
        seeds = "+".join(str(member.seed) for member in self.members) or self.seed
        return f"{self.task.name}__{slug}__{self.head}__s{seeds}"


def plan_cells(suite: SuiteSpec, tasks: list[TaskSpec]) -> list[Cell]:
    """Cells in run order: task by task, so each task's comparison completes early; a soup after its seeds."""
    soups = {id(start): soup_start(start, suite.soup) for start in suite.starts} if suite.soup else {}
    cells = []
    for task in tasks:
        for start in suite.starts:
            if start.tasks is not None and task.name not in start.tasks:
                continue
            for head in suite.heads:
                members = [Cell(task, start, head, seed) for seed in suite.seeds]
                cells += members
                if soups:
                    cells.append(Cell(task, soups[id(start)], head, members[0].seed, members))
    return cells


def soup_start(start: StartSpec, soup: SoupSpec) -> StartSpec:
    """The starting point of a soup's row: the seeds' start, its head refit alone (``freeze_encoder``)."""
    train = {**start.train, **soup.train, "freeze_encoder": True, "head_lr": soup.head_lr}
    return StartSpec(
        name=f"{start.name} soup", source=start.source, role=start.role, tasks=start.tasks, train=train,
        epochs=soup.epochs,
    )  # fmt: skip


def cell_settings(cell: Cell, suite: SuiteSpec, profile: str):
    """Task < profile < the suite's ``train`` < the start's ``train``; the start's or the suite's epochs."""
    overrides = {**suite.train, **cell.start.train}
    epochs = suite.epochs if suite.epochs is not None else cell.start.epochs
    return resolve_settings(cell.task, profile, epochs=epochs, limit=suite.limit, overrides=overrides)


def cell_key(cell: Cell, suite: SuiteSpec, profile: str, legacy: bool = False) -> str:
    """What decides a cell's result. ``legacy``: the key of cells written before the key left out the task's
    profiles (it hashed the whole task spec); such a cell is still reused, and re-keyed, while the spec is the same."""
    if cell.members:  # a soup: its members' results and its own refit settings
        members = [cell_key(member, suite, profile, legacy) for member in cell.members]
        return stable_hash({"soup_of": members, "settings": cell_settings(cell, suite, profile).to_dict()})
    settings = cell_settings(cell, suite, profile)
    return stable_hash(
        {
            "task": cell.task.model_dump(mode="json") if legacy else cell.task.identity(),
            "splits": present_splits(cell.task),
            "start": cell.start.source,
            "start_fingerprint": source_fingerprint(cell.start.source),
            "head": cell.head,
            "seed": cell.seed,
            "profile": profile,
            "settings": settings.to_dict(),
        }
    )


def source_fingerprint(source: str) -> str | None:
    """Names, sizes and mtimes of a local starting point's top-level files: a retrained checkpoint at the same
    path changes the key of its cells, so stale results are never reused."""
    path = Path(source).expanduser()
    if not path.is_dir():
        return None
    entries = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in path.iterdir() if p.is_file())
    return stable_hash(entries)


class SuiteLog:
    """Append-only JSON lines of what the suite did, for people and for tests."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled  # False on the ranks other than 0 under torchrun: one writer

    def write(self, event: str, cell: Cell | None = None, **fields) -> None:
        if not self.enabled:
            return
        record = {"time": round(time.time(), 3), "event": event, **fields}
        if cell is not None:
            record["cell"] = cell.cell_id
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def events(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_cached(path: Path, key: str, result: dict) -> None:
    atomic_write_text(path, json.dumps({"key": key, "result": result}, indent=2) + "\n")


def read_cached(
    path: Path, key: str, legacy_key: Callable[[], str] | None = None, rewrite: bool = True
) -> dict | None:
    """The cached result at ``path`` when its key is ``key``; one written under ``legacy_key()`` (computed only when
    ``key`` misses) is re-keyed in place, unless ``rewrite`` is off (not the writing rank)."""
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        log.warning("%s is unreadable; the cell runs again", path)
        return None
    if saved.get("key") == key:
        return saved["result"]
    if legacy_key is None or saved.get("key") != legacy_key():
        return None
    if rewrite:
        write_cached(path, key, saved["result"])
        log.info("%s: re-keyed (its key predates keys without the task's profiles)", path)
    return saved["result"]


def cell_file(out: Path, cell: Cell) -> Path:
    """Where the suite under ``out`` keeps the cell's finished result."""
    return out / CELLS_DIR / f"{cell.cell_id}.json"


def read_cell(out: Path, cell: Cell, suite: SuiteSpec, profile: str, key: str, rewrite: bool) -> dict | None:
    """The cell's cached result under ``out`` (current key, or the legacy one: see :func:`read_cached`)."""
    legacy = functools.partial(cell_key, cell, suite, profile, legacy=True)
    return read_cached(cell_file(out, cell), key, legacy, rewrite=rewrite)


def run_suite(
    suite_path: str | Path,
    out_dir: str | Path | None = None,
    profile: str | None = None,
    *,
    limit: int | None = None,
    epochs: int | None = None,
    starts: dict[str, str] | None = None,
    only_tasks: list[str] | None = None,
    on_cell_done: Callable[[Cell, dict, bool], None] | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) a suite; return the results dict also written to ``OUT/results.json``.

    ``only_tasks`` runs those tasks only; their cells are the suite's own, so a later full run reuses them, and
    ``results.md`` still shows every task (the others from their cached cells, or as not run yet).
    ``limit``/``epochs`` override the suite's values (a smoke run: ``limit=40, epochs=1``); they enter the cell keys,
    so a smoke run never passes for a real one. ``starts`` maps a start's name or role to another ``from``
    (e.g. ``{"synthetic": "runs/my-checkpoint"}``). ``on_cell_done(cell, result, cached)`` is called after each
    cell (progress hooks, tests).
    """
    suite, tasks = load_suite(suite_path)
    all_tasks = list(tasks)
    if only_tasks:
        unknown = set(only_tasks) - {task.name for task in tasks}
        if unknown:
            raise ValueError(f"--task {sorted(unknown)}: not in the suite ({', '.join(t.name for t in tasks)})")
        tasks = [task for task in tasks if task.name in only_tasks]
    if limit is not None:
        suite.limit = limit
    if epochs is not None:
        suite.epochs = epochs
    for key, source in (starts or {}).items():
        matched = [s for s in suite.starts if key in (s.name, s.role)]
        if not matched:
            raise ValueError(f"--start {key}=...: no starting point named or with role {key!r} in the suite")
        for start in matched:
            start.source = source
    profile = profile or suite.profile
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    from emopillars.training.distributed import launcher_world

    main = launcher_world()[0] == 0  # under torchrun every rank trains each cell; rank 0 alone writes
    out = Path(out_dir or suite.out_dir)
    if main:
        (out / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    suite_log = SuiteLog(out / LOG_FILE, enabled=main)
    cells = plan_cells(suite, tasks)
    keys = {cell.cell_id: cell_key(cell, suite, profile) for cell in cells}
    table = _Table(out, suite, all_tasks, profile, cells, write=main)
    suite_log.write("suite_start", suite=suite.name, profile=profile, cells=len(cells))
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    bar = _progress(len(cells), progress)
    try:
        for cell in cells:
            cached = read_cell(out, cell, suite, profile, keys[cell.cell_id], rewrite=main)
            if cached is not None:
                results[cell.cell_id] = cached
                suite_log.write("cached", cell, key=keys[cell.cell_id])
                bar.advance(f"{cell.cell_id} (cached)")
                if on_cell_done:
                    on_cell_done(cell, cached, True)
                continue
            suite_log.write("start", cell, key=keys[cell.cell_id])
            bar.describe(cell.cell_id)
            try:
                unfinished = [member.cell_id for member in cell.members if member.cell_id not in results]
                if unfinished:
                    raise RuntimeError(f"the soup's members did not finish: {', '.join(unfinished)}")
                result = adapt(
                    cell.task,
                    cell.start.source,
                    head=cell.head,
                    seed=cell.seed,
                    profile=profile,
                    out_dir=out / RUNS_DIR / cell.cell_id,
                    epochs=suite.epochs if suite.epochs is not None else cell.start.epochs,
                    limit=suite.limit,
                    overrides={**suite.train, **cell.start.train},
                    keep_models={"none": False, "single_run": None, "all": True}[suite.keep_models],
                    soup_of=[out / RUNS_DIR / member.cell_id for member in cell.members] or None,
                )
            except KeyboardInterrupt:
                suite_log.write("interrupted", cell)
                raise
            except Exception as exc:  # one bad cell must not cost the others
                failures[cell.cell_id] = f"{type(exc).__name__}: {exc}"
                suite_log.write("failed", cell, error=failures[cell.cell_id], traceback=traceback.format_exc())
                log.error("cell %s failed: %s", cell.cell_id, failures[cell.cell_id])
                bar.advance(f"{cell.cell_id} (failed)")
                continue
            result.update({"start_name": cell.start.name, "role": cell.start.role, "cell": cell.cell_id})
            if main:
                write_cached(cell_file(out, cell), keys[cell.cell_id], result)
            results[cell.cell_id] = result
            suite_log.write("done", cell, key=keys[cell.cell_id], wall_s=result["wall_s"])
            bar.advance(cell.cell_id)
            table.write(results, failures)
            if on_cell_done:
                on_cell_done(cell, result, False)
    finally:
        bar.close()
    table.write(results, failures)
    suite_log.write("suite_done", done=len(results), failed=len(failures))
    return summarize_run(suite, tasks, cells, results, failures, profile)


class _Table:
    """``results.md``/``results.json`` over every task of the suite: the cells of this run, and those of the tasks
    left out by ``only_tasks`` from their cache (read once, never run, never re-keyed)."""

    def __init__(self, out: Path, suite: SuiteSpec, tasks: list[TaskSpec], profile: str, run_cells, write: bool):
        self.out, self.suite, self.tasks, self.profile, self.write_files = out, suite, tasks, profile, write
        running = {cell.cell_id for cell in run_cells}
        self.cells = plan_cells(suite, tasks)
        self.others: dict[str, dict] = {}
        for cell in self.cells:
            if cell.cell_id in running:
                continue
            cached = read_cell(out, cell, suite, profile, cell_key(cell, suite, profile), rewrite=False)
            if cached is not None:
                self.others[cell.cell_id] = cached

    def write(self, results: dict, failures: dict) -> None:
        if self.write_files:
            everything = {**self.others, **results}
            write_results(self.out, self.suite, self.tasks, self.cells, everything, failures, self.profile)


class _progress:
    """A tqdm bar over cells (counts, rate, ETA), silent when ``enabled`` is False."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="suite", unit="cell", dynamic_ncols=True)

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def advance(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- the results table --------------------------------------------------------------------------------------------


def _cell_seconds(result: dict) -> float:
    """Compute time of a cell, summed over its runs (stays right when a cell was resumed part-way)."""
    return float(sum(run.get("train_s", 0) + run.get("eval_s", 0) for run in result["runs"].values()))


def summarize(suite: SuiteSpec, tasks: list[TaskSpec], cells: list[Cell], results: dict, failures: dict) -> list:
    """One row per (task, starting point, head, view): metric mean +- std over all runs (folds x seeds).

    Most tasks have one view; EmoContext with a rule chosen on dev has dev-argmax, dev-rule and (with its
    test file) test rows."""
    rows = []
    starts = list({id(cell.start): cell.start for cell in cells}.values())  # the suite's, and their soups
    for task in tasks:
        for start in starts:
            for head in suite.heads:
                group = [c for c in cells if c.task is task and c.start is start and c.head == head]
                if not group:
                    continue
                done = [results[c.cell_id] for c in group if c.cell_id in results]
                base = {
                    "task": task.name,
                    "start": start.name,
                    "source": start.source,
                    "role": start.role,
                    "head": head,
                    "seeds": [m.seed for c in group if c.cell_id in results for m in c.members or [c]],
                    "cells_done": len(done),
                    "cells_planned": len(group),
                    "errors": [failures[c.cell_id] for c in group if c.cell_id in failures],
                    "metrics": {},
                }
                if not done:
                    rows.append({**base, "view": None, "view_label": None})
                    continue
                views = list(dict.fromkeys(name for result in done for name in _views(result)))
                primary = done[0].get("primary_view", views[0])
                for name in views:
                    row = {**base, "metrics": {}, "view": name, "primary": name == primary}  # its own metrics
                    found = [_views(result)[name] for result in done if name in _views(result)]
                    row["view_label"] = found[0]["label"]
                    row["decision"] = found[0].get("decision")
                    for metric in task.metrics:
                        values = [v for view in found for v in view["metrics"][metric]["values"]]
                        row["metrics"][metric] = {
                            "mean": float(np.mean(values)),
                            "std": float(np.std(values)) if len(values) > 1 else None,
                            "n": len(values),
                        }
                    row["per_class"] = {
                        label: {
                            stat: float(np.mean([view["per_class"][label][stat] for view in found]))
                            for stat in ("precision", "recall", "f1", "support")
                        }
                        for label in found[0].get("per_class", {})
                    }
                    seconds = [_cell_seconds(result) for result in done]
                    row["seconds_per_cell"] = float(np.mean(seconds))
                    row["settings"] = done[0]["settings"]
                    rows.append(row)
    return rows


def _views(result: dict) -> dict:
    """A cell result's views (a result from before views existed: its metrics as one view)."""
    if result.get("views"):
        return result["views"]
    return {"main": {"label": "", "metrics": result["metrics"], "per_class": {}}}


def _fmt(stat: dict | None) -> str:
    if not stat:
        return "—"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if stat.get("std") is not None else f"{stat['mean']:.3f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


PER_CLASS_MAX_LABELS = 8
"""Per-class precision / recall tables are written for tasks with at most this many labels."""


def render_markdown(suite: SuiteSpec, tasks: list[TaskSpec], rows: list[dict], profile: str) -> str:
    lines = [f"# Adaptation benchmark: {suite.name} (profile {profile})", ""]
    if suite.description:
        lines += [suite.description, ""]
    for task in tasks:
        metrics = task.metrics
        task_rows = [r for r in rows if r["task"] == task.name]
        lines += [f"## {task.name}", ""]
        lines.append("| starting point | head | reported | " + " | ".join(metrics) + " | runs | time per cell |")
        lines.append("| --- | --- | --- | " + " | ".join("---" for _ in metrics) + " | --- | --- |")
        for row in task_rows:
            label = f"{row['start']} (`{row['source']}`)"
            if row["cells_done"] == 0:
                why = "; ".join(row["errors"]) or "not run yet"
                dashes = " | ".join("—" for _ in metrics)
                lines.append(f"| {label} | {row['head']} | — | {dashes} | 0 | {why} |")
                continue
            values = " | ".join(_fmt(row["metrics"].get(name)) for name in metrics)
            if row.get("primary"):
                values = " | ".join(
                    f"**{v}**" if name == task.primary_metric else v for name, v in zip(metrics, values.split(" | "))
                )
            n = row["metrics"][task.primary_metric]["n"]
            seconds = _duration(row.get("seconds_per_cell"))
            lines.append(f"| {label} | {row['head']} | {row['view_label'] or '—'} | {values} | {n} | {seconds} |")
        if task.paper:
            paper = {task.paper.metric: {"mean": task.paper.mean, "std": task.paper.std}}
            values = " | ".join(_fmt(paper.get(name)) for name in metrics)
            lines.append(f"| paper ({task.paper.note}) | — | — | {values} | — | — |")
        settings = next((r["settings"] for r in task_rows if r.get("settings")), None)
        lines += ["", f"Protocol: {describe_protocol(task)}. Primary metric: {task.primary_metric} (bold: headline)."]
        if settings:
            train = ", ".join(f"{k}={v}" for k, v in settings["train"].items()) or "defaults"
            limit = f"at most {settings['limit']} training rows per run" if settings["limit"] else "all training rows"
            lines.append(f"Settings: {settings['epochs']} epoch(s), {limit}, {train}.")
        overrides = [s for s in suite.starts if s.train or s.epochs]
        for start in overrides:
            extra = ", ".join(f"{k}={v}" for k, v in start.train.items())
            epochs = f"{start.epochs} epoch(s)" if start.epochs else ""
            lines.append(f"{start.name}: " + ", ".join(x for x in (epochs, extra) if x) + ".")
        if suite.soup:
            lines.append(
                f"soup: the fine-tuned encoders of seeds {', '.join(map(str, suite.seeds))} averaged into one model "
                f"(same size), its head refit for {suite.soup.epochs} epoch(s) at head_lr={suite.soup.head_lr} with "
                "the encoder frozen" + "".join(f", {k}={v}" for k, v in suite.soup.train.items()) + " (training.soup)."
            )
        lines.append("± is the standard deviation over runs (folds x seeds for k-fold, seeds otherwise).")
        lines.append("")
        if len(task.labels) <= PER_CLASS_MAX_LABELS and any(r.get("per_class") for r in task_rows):
            lines += _per_class_table(task, task_rows)
    return "\n".join(lines)


def _per_class_table(task: TaskSpec, rows: list[dict]) -> list[str]:
    lines = [
        f"Per class (precision / recall / F1, mean over runs) for {task.name}:",
        "",
        "| starting point | reported | " + " | ".join(task.labels) + " |",
        "| --- | --- | " + " | ".join("---" for _ in task.labels) + " |",
    ]
    for row in rows:
        if not row.get("per_class"):
            continue
        cells = []
        for label in task.labels:
            stat = row["per_class"].get(label)
            cells.append(f"{stat['precision']:.2f} / {stat['recall']:.2f} / {stat['f1']:.2f}" if stat else "—")
        lines.append(f"| {row['start']} | {row['view_label']} | " + " | ".join(cells) + " |")
    return lines + [""]


def summarize_run(suite, tasks, cells, results, failures, profile) -> dict:
    """What ``results.json`` holds for these cells: the summary rows, protocols, papers and every cell result."""
    rows = summarize(suite, tasks, cells, results, failures)
    return {
        "suite": suite.name,
        "profile": profile,
        "cells_planned": len(cells),
        "cells_done": len(results),
        "failures": failures,
        "rows": rows,
        "paper": {t.name: t.paper.model_dump() for t in tasks if t.paper},
        "protocols": {t.name: describe_protocol(t) for t in tasks},
        "cells": results,
    }


def write_results(out: Path, suite, tasks, cells, results, failures, profile) -> dict:
    summary = summarize_run(suite, tasks, cells, results, failures, profile)
    atomic_write_text(out / "results.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / "results.md", render_markdown(suite, tasks, summary["rows"], profile))
    return summary
