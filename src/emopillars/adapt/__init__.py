"""Adaptation: fine-tune a plain encoder or a synthetic-data checkpoint on a task under an honest protocol,
and run benchmark suites of such cells with caching and resume."""

from emopillars.adapt.heads import HEAD_POLICIES, HeadPolicy
from emopillars.adapt.run import PROFILES, adapt, load_split, resolve_settings, resolve_start
from emopillars.adapt.suite import load_suite, run_suite
from emopillars.adapt.tasks import Protocol, TaskSpec, load_task, shipped_tasks

__all__ = [
    "HEAD_POLICIES",
    "PROFILES",
    "HeadPolicy",
    "Protocol",
    "TaskSpec",
    "adapt",
    "load_split",
    "load_suite",
    "load_task",
    "resolve_settings",
    "resolve_start",
    "run_suite",
    "shipped_tasks",
]
