"""Prefix-ordered scheduling: send the calls of a step in the order of their prompts.

A backend that keeps the KV cache of the previous call (the embedded llama.cpp model) evaluates again only
the part of a prompt that differs from the previous one. Sorting a step's rows by their rendered prompt
(system prompt, then user message) puts calls that share the longest prefixes back to back: the context
prompts of one plot, the utterance prompts of one plot's actors, the K samples of one utterance. The
results are put back in the rows' own order, so the dataset is the same as with the plain order (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEDULES = ("prefix", "plain")


def prompt_order(step, rows: list[dict]) -> list[int]:
    """Indices of ``rows`` sorted by the prompt ``step`` builds for each (stable for equal prompts)."""
    requests = step.build_requests(rows)
    keys = ["\x00".join(m["content"] for m in request.messages) for request in requests]
    return sorted(range(len(rows)), key=keys.__getitem__)


def run_ordered(run_step: Callable[..., Any], step, rows: list[dict], *args, schedule: str = "prefix", **kwargs):
    """``run_step(step, rows, ...)`` with the calls in prompt order; the returned entries in ``rows`` order."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}: one of {', '.join(SCHEDULES)}")
    if schedule == "plain" or len(rows) < 2:
        return run_step(step, rows, *args, **kwargs)
    order = prompt_order(step, rows)
    result = run_step(step, [rows[i] for i in order], *args, **kwargs)
    entries = [None] * len(rows)
    for position, i in enumerate(order):
        entries[i] = result.entries[position]
    result.entries = entries
    return result
