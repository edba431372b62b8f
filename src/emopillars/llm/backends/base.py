"""The one interface every backend implements; the client adds caching, retries and metrics on top."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from emopillars.llm.types import ChatRequest


@dataclass
class Completion:
    """What a backend returns for one request: raw text plus accounting."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    transport_retries: int = 0


class BackendError(Exception):
    """A request failed for good (after the backend's own transport retries)."""

    def __init__(self, message: str, *, retryable: bool = False, attempts: int = 1) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.attempts = attempts


class BackendUnavailable(BackendError):
    """The backend cannot run at all here: server unreachable, model file or runtime missing, no GPU."""


class Backend:
    """Base class. ``complete`` handles one request; ``complete_batch`` a list (batched engines override it).

    ``model_id`` identifies the model in cache keys: two backends with the same id must give the
    same answer to the same request.
    """

    kind: str = "base"
    model_id: str = ""
    default_concurrency: int = 8
    batched: bool = False

    async def complete(self, request: ChatRequest) -> Completion:
        raise NotImplementedError

    async def complete_batch(self, requests: list[ChatRequest]) -> list[Completion | BaseException]:
        return list(await asyncio.gather(*(self.complete(r) for r in requests), return_exceptions=True))

    async def check(self) -> None:
        """Raise :class:`BackendUnavailable` when the backend cannot serve; cheap, sends no generation."""

    def describe(self) -> str:
        return f"{self.kind} ({self.model_id})"

    async def aclose(self) -> None:
        """Release connections, threads, models."""
