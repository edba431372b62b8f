"""Counters for one LLM: what a run cost (calls, tokens, time) and how often output needed fixing.

The counters are shared by every batch sent through one :class:`~emopillars.llm.client.LLM`, so a
long synthesis run sees its totals; ``summary()`` is the line printed at the end of a run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class LLMMetrics:
    """Totals since the LLM was created (or since :meth:`reset`)."""

    requests: int = 0
    calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    transport_retries: int = 0
    parse_failures: int = 0
    repairs: int = 0
    errors: int = 0
    answer_errors: int = 0  # unusable answers after the retries (the item's)
    transient_errors: int = 0  # calls that failed for a reason that may pass (timeouts, 5xx, network)
    fatal_errors: int = 0  # calls that failed until a person acts (key, model, request settings)
    call_seconds: float = 0.0
    wall_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        """Add to several counters at once (thread-safe: backends may report from worker threads)."""
        with self._lock:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of wall time spent in runs (cache hits cost no time and add no tokens)."""
        return self.completion_tokens / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def hit_rate(self) -> float:
        looked_up = self.cache_hits + self.cache_misses
        return self.cache_hits / looked_up if looked_up else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data.update(
            tokens_per_s=round(self.tokens_per_s, 2),
            requests_per_s=round(self.requests_per_s, 2),
            hit_rate=round(self.hit_rate, 4),
        )
        data["call_seconds"] = round(self.call_seconds, 3)
        data["wall_seconds"] = round(self.wall_seconds, 3)
        return data

    def summary(self) -> str:
        """One line for the end of a run."""
        return (
            f"LLM: {self.requests} requests, {self.calls} backend calls, "
            f"cache {self.cache_hits} hits / {self.cache_misses} misses, "
            f"tokens {self.prompt_tokens} in / {self.completion_tokens} out, "
            f"{self.tokens_per_s:.1f} tok/s, {self.requests_per_s:.1f} req/s, "
            f"retries {self.retries} (+{self.transport_retries} transport), "
            f"parse failures {self.parse_failures}, repairs {self.repairs}, errors {self.errors} "
            f"({self.answer_errors} answer / {self.transient_errors} transient / {self.fatal_errors} fatal), "
            f"wall {self.wall_seconds:.1f}s"
        )

    def reset(self) -> None:
        with self._lock:
            for f in fields(self):
                if not f.name.startswith("_"):
                    setattr(self, f.name, f.default)
