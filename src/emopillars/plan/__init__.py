"""Cost planning for a synthesis run: calls, tokens, GPU-hours and money for N records.

``shape`` -- what one record costs, measured from a real run's manifest (or the built-in reference shape);
``cost`` -- a server's measured throughput, the plan for N records, and the paper's own run as the check.
CLI: ``emopillars plan --records N``.
"""

from emopillars.plan.cost import PAPER, Plan, Throughput, plan_run
from emopillars.plan.shape import BUILTIN_SHAPE, RecordShape, load_shape

__all__ = ["BUILTIN_SHAPE", "PAPER", "Plan", "RecordShape", "Throughput", "load_shape", "plan_run"]
