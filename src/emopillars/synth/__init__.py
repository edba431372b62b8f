"""Narrative-grounded synthesis: an LLM teacher turns stories into labelled, context-rich emotion data.

narratives -> actors -> utterances -> soft labels -> context -> cleaning -> rewriting -> dataset.
Entry point: :func:`synthesize` with a :class:`SynthesisConfig` (CLI: ``emopillars synthesize``).
"""

from emopillars.synth.corpus import Plot, read_corpus
from emopillars.synth.pipeline import ConfigMismatchError, Manifest, SynthesisConfig, synthesize
from emopillars.synth.runner import SynthesisError

__all__ = ["ConfigMismatchError", "Manifest", "Plot", "SynthesisConfig", "SynthesisError", "read_corpus", "synthesize"]
