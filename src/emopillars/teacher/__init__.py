"""The teacher's labels: how right they are against people (audit), and how to combine several answers.

- :mod:`~emopillars.teacher.audit`: ``emopillars teacher audit`` -- the synthesis labels step on human-labelled
  texts, scored as a classifier (:mod:`~emopillars.teacher.metrics`);
- :mod:`~emopillars.teacher.raters`: who labels (an LLM through the labels step, K samples; a trained classifier);
- :mod:`~emopillars.teacher.aggregate`: K samples and several raters -> one soft label set, and their agreement;
- :mod:`~emopillars.teacher.labelling`: the same for ``synthesize`` (``--label-samples``, ``--label-llm``,
  ``--label-model``); :mod:`~emopillars.teacher.schedule`: prefix-ordered scheduling of a step's calls;
- :mod:`~emopillars.teacher.items`: the fixed audit samples of GoEmotions, ISEAR or any labelled file.

Names are imported lazily: the synthesis pipeline imports parts of this package, and this package imports
the synthesis labels step.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "average_levels": "aggregate",
    "combine": "aggregate",
    "rater_agreement": "aggregate",
    "AuditConfig": "audit",
    "run_audit": "audit",
    "summary_row": "audit",
    "ISEAR_CLASS_MAP": "metrics",
    "cohen_kappa": "metrics",
    "multilabel_audit": "metrics",
    "single_label_audit": "metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emopillars.teacher' has no attribute {name!r}")
    return getattr(importlib.import_module(f"emopillars.teacher.{module}"), name)
