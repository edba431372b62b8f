"""The one interface every backend implements; the client adds caching, retries and metrics on top."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from emopillars.llm.types import ChatRequest, ErrorKind


@dataclass
class Completion:
    """What a backend returns for one request: raw text plus accounting."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    transport_retries: int = 0
    problem: str | None = None  # the answer arrived but holds nothing usable (no choices, null content)


class BackendError(Exception):
    """A request failed for good (after the backend's own transport retries).

    ``kind`` is an :class:`~emopillars.llm.types.ErrorKind`: ``TRANSIENT`` (worth retrying later: timeouts,
    connection faults, 429, 5xx) or ``FATAL`` (a person must act: bad key, unknown model, invalid request).
    When not given it follows ``retryable``. ``status`` is the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        attempts: int = 1,
        status: int | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        if kind is not None and kind not in ErrorKind.ALL:
            raise ValueError(f"unknown error kind {kind!r}")
        self.kind = kind or (ErrorKind.TRANSIENT if retryable else ErrorKind.FATAL)
        self.retryable = self.kind == ErrorKind.TRANSIENT
        self.attempts = attempts
        self.status = status


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

    async def prepare(self) -> None:
        """Learn what :attr:`model_id` depends on (e.g. the model a server serves) before keys are built."""

    @property
    def model_name(self) -> str:
        """The model, without where it is served (provenance): the same for every server of one model."""
        return self.model_id

    @property
    def cacheable(self) -> bool:
        """Whether :attr:`model_id` identifies the answering model well enough to cache its answers."""
        return True

    def describe(self) -> str:
        return f"{self.kind} ({self.model_id})"

    async def aclose(self) -> None:
        """Release connections, threads, models."""
