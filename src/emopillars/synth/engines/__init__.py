"""Where a synthesis step's LLM calls run.

``local`` (the default, :func:`emopillars.synth.runner.run_step`): this process, one LLM client.
``ray`` (:mod:`emopillars.synth.engines.ray_engine`): each step is a Ray Data job over a Ray cluster
(or Ray's local mode on one machine), spreading the calls over one or several OpenAI-compatible endpoints.

Every engine uses the same step modules (templates, schemas, parsers), writes the same step checkpoints
(:mod:`emopillars.synth.checkpoint`) and returns the same :class:`~emopillars.synth.runner.StepRun`, so
the pipeline around it (filters, dataset, manifest) is the same, and a step interrupted on one engine
resumes on the other. An engine has ``name``, ``open_llm(config)`` (the handle the pipeline keeps: its
``model_id`` goes into the records' provenance, its ``metrics`` into the manifest, its ``close()`` ends
the run) and ``run_step(step, rows, llm, checkpoint, *, batch_size, progress, stats)``.
"""

from __future__ import annotations

from typing import Any

ENGINES = ("local", "ray")


def load_engine(name: str | None = "local", **options: Any):
    """The engine called ``name``: ``None`` for ``local`` (the pipeline's own runner), a RayEngine for ``ray``.

    ``options`` go to the engine (for ``ray``: ``address``, ``endpoints``, ...). Raises ValueError for an
    unknown name and :class:`~emopillars.synth.errors.SynthesisError` when Ray is not installed.
    """
    name = (name or "local").lower()
    if name == "local":
        if options:
            raise ValueError(f"the local engine takes no options (got {', '.join(sorted(options))})")
        return None
    if name == "ray":
        from emopillars.synth.engines.ray_engine import RayEngine

        return RayEngine(**options)
    raise ValueError(f"unknown synthesis engine {name!r}; choose one of {', '.join(ENGINES)}")
