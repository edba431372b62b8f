"""The teacher's labels: how right they are against people (audit), and how to combine several answers.

- :mod:`~emopillars.teacher.audit`: ``emopillars teacher audit`` -- the synthesis labels step on human-labelled
  texts, scored as a classifier (:mod:`~emopillars.teacher.metrics`);
- :mod:`~emopillars.teacher.raters`: who labels (an LLM through the labels step, K samples; a trained classifier);
- :mod:`~emopillars.teacher.aggregate`: K samples and several raters -> one soft label set, and their agreement;
- :mod:`~emopillars.teacher.items`: the fixed audit samples of GoEmotions, ISEAR or any labelled file.
"""

from emopillars.teacher.aggregate import average_levels, combine, rater_agreement
from emopillars.teacher.audit import AuditConfig, run_audit, summary_row
from emopillars.teacher.metrics import ISEAR_CLASS_MAP, cohen_kappa, multilabel_audit, single_label_audit

__all__ = [
    "ISEAR_CLASS_MAP",
    "AuditConfig",
    "average_levels",
    "cohen_kappa",
    "combine",
    "multilabel_audit",
    "rater_agreement",
    "run_audit",
    "single_label_audit",
    "summary_row",
]
