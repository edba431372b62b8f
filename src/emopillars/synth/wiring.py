"""The shape of the pipeline: which rows feed each step, which fields the pipeline adds, and a check, run
before any LLM call, that every field a step reads is produced before it (as distilabel validates the
columns of its pipelines).

Each step module declares ``INPUTS`` (the fields of an input row it reads) and ``OUTPUTS`` (the fields of
each row it produces). The pipeline is a list of :class:`Stage`: a stage reads the rows of a *table* --
``plots`` (the run's plots) or an earlier stage's -- and may join fields the pipeline itself provides
(:data:`JOINS`). Its step's outputs either form a new table (one input row, many output rows: actors,
utterances) or are merged into the rows it read (same ``id``: labels, context, cleaning, rewriting), so
a merged table holds the fields of its input rows plus the step's outputs.
:func:`emopillars.synth.pipeline.synthesize` runs exactly this table, so the check covers the real run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

from emopillars.synth.errors import WiringError

PLOT_FIELDS = ("id", "title", "text")
# Fields the pipeline adds to a stage's rows: name -> (fields of the row it needs, where the value comes from).
JOINS: dict[str, tuple[tuple[str, ...], str]] = {
    "plot": (("plot_id",), "the plot's text from steps/plots.jsonl"),
    "requested": (("id",), "the emotions the balancer asks this actor for (steps/balancer.json)"),
}


@dataclass(frozen=True)
class Stage:
    """One step in the pipeline: the table it reads, the fields joined to each row, how its outputs are kept."""

    step: str
    reads: str
    joins: tuple[str, ...] = ()
    merge: bool = False


PIPELINE: tuple[Stage, ...] = (
    Stage("actors", reads="plots"),
    Stage("utterances", reads="actors", joins=("plot", "requested")),
    Stage("labels", reads="utterances", merge=True),
    Stage("context", reads="labels", joins=("plot",), merge=True),
    Stage("cleaning", reads="context", merge=True),
    Stage("rewriting", reads="cleaning", merge=True),
)

# What a dataset record is built from: table -> fields read from its rows.
RECORD_SOURCES: dict[str, tuple[str, ...]] = {
    "labels": (
        "id",
        "plot_id",
        "actor_id",
        "actor",
        "requested_emotion",
        "utterance",
        "raw_labels",
        "labels",
        "positive_labels",
    ),
    "context": ("id", "context"),
    "cleaning": ("id", "cleaned_context"),
    "rewriting": ("id", "rewritten_utterance"),
}


def check_wiring(
    stages: Sequence[Stage],
    modules: Mapping[str, ModuleType],
    record_sources: Mapping[str, Sequence[str]] = RECORD_SOURCES,
) -> dict[str, frozenset[str]]:
    """The fields of every table; raises :class:`WiringError` listing every problem found.

    Checks: each stage names a known step module that declares ``INPUTS`` and ``OUTPUTS``, reads a table
    made before it, joins only known fields whose prerequisites its rows hold, gets every input field it
    declares, and produces an ``id``; the dataset records find every field they are built from.
    """
    tables: dict[str, frozenset[str]] = {"plots": frozenset(PLOT_FIELDS)}
    problems: list[str] = []
    for stage in stages:
        module = modules.get(stage.step)
        if module is None:
            problems.append(f"stage {stage.step!r}: no step module of that name (known: {', '.join(modules)})")
            continue
        if stage.step in tables:
            problems.append(f"stage {stage.step!r} appears twice")
            continue
        if not hasattr(module, "INPUTS") or not hasattr(module, "OUTPUTS"):
            problems.append(f"step module {module.__name__} does not declare INPUTS and OUTPUTS")
            continue
        if stage.reads not in tables:
            problems.append(
                f"step {stage.step!r} reads the rows of {stage.reads!r}, which no earlier stage makes "
                f"(tables before it: {', '.join(tables)})"
            )
            continue
        fields = tables[stage.reads]
        for join in stage.joins:
            if join not in JOINS:
                problems.append(
                    f"step {stage.step!r} joins {join!r}, which the pipeline cannot add ({', '.join(JOINS)})"
                )
                continue
            needs = [f for f in JOINS[join][0] if f not in fields]
            if needs:
                problems.append(f"step {stage.step!r} joins {join!r}, which needs {', '.join(needs)} in its rows")
        available = fields | set(stage.joins)
        missing = sorted(set(module.INPUTS) - available)
        if missing:
            problems.append(
                f"step {stage.step!r} reads {', '.join(missing)}, which no earlier step produces "
                f"(its rows come from {stage.reads!r} and hold: {', '.join(sorted(available))})"
            )
        outputs = frozenset(module.OUTPUTS)
        if "id" not in outputs:
            problems.append(f"step {stage.step!r} declares no 'id' among its OUTPUTS (every row needs one)")
        tables[stage.step] = available | outputs if stage.merge else outputs
    for table, needed in record_sources.items():
        if table not in tables:
            problems.append(f"the dataset records read the table {table!r}, which no stage makes")
            continue
        missing = sorted(set(needed) - tables[table])
        if missing:
            problems.append(f"the dataset records read {', '.join(missing)} from {table!r}, which does not hold them")
    if problems:
        raise WiringError("the synthesis pipeline is mis-wired (nothing was run):\n  - " + "\n  - ".join(problems))
    return tables
