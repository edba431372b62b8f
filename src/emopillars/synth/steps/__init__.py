"""The six synthesis steps, in pipeline order. Each module: prompt template, output schema, parser."""

from emopillars.synth.steps import actors, cleaning, context, labels, rewriting, utterances
from emopillars.synth.steps.base import Parsed, Step, make_step

STEP_MODULES = {m.NAME: m for m in (actors, utterances, labels, context, cleaning, rewriting)}
STEP_ORDER = tuple(STEP_MODULES)

__all__ = ["STEP_MODULES", "STEP_ORDER", "Parsed", "Step", "make_step"]
