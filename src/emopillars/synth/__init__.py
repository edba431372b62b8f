"""Narrative-grounded synthesis: an LLM teacher turns stories into labelled, context-rich emotion data.

narratives -> actors -> utterances -> soft labels -> context -> cleaning -> rewriting -> dataset.
Entry point: :func:`synthesize` with a :class:`SynthesisConfig` (CLI: ``emopillars synthesize``).

Modules: ``config`` (the settings), ``corpus`` (reading stories), ``steps/`` (one module per step: prompt,
schema, parser, declared input and output fields), ``wiring`` (the stages and their check), ``runner``
(batches, passes, failed calls), ``checkpoint`` (the step files), ``rundir`` (the output folder, its lock),
``filters``, ``balancer``, ``dataset`` (sets and splits), ``stats`` (manifest statistics), ``pipeline``
(the orchestration), ``signals`` (SIGTERM as Ctrl-C).
"""

from emopillars.synth.config import SynthesisConfig
from emopillars.synth.corpus import Plot, read_corpus
from emopillars.synth.errors import (
    CheckpointError,
    ConfigMismatchError,
    DamagedRunError,
    LLMCallError,
    RunLockedError,
    SynthesisError,
    WiringError,
)
from emopillars.synth.pipeline import Manifest, synthesize

__all__ = [
    "CheckpointError",
    "ConfigMismatchError",
    "DamagedRunError",
    "LLMCallError",
    "Manifest",
    "Plot",
    "RunLockedError",
    "SynthesisConfig",
    "SynthesisError",
    "WiringError",
    "read_corpus",
    "synthesize",
]
