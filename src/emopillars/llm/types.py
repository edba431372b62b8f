"""Requests and responses of the LLM layer: one shape for every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings. Defaults follow the paper: greedy, repetition penalty 1.03."""

    max_tokens: int = 300
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.03
    seed: int = 0
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty,
            "seed": self.seed,
            "stop": list(self.stop),
        }


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion: messages, sampling, and an optional JSON schema for structured output.

    ``tag`` is the caller's handle (e.g. a record id); it is not part of the cache key.
    """

    messages: tuple[dict[str, str], ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    schema: dict[str, Any] | None = None
    tag: str | None = None

    @classmethod
    def from_prompt(
        cls, user: str, system: str | None = None, *, params: SamplingParams | None = None, schema=None, tag=None
    ) -> ChatRequest:
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": user})
        return cls(tuple(messages), params or SamplingParams(), schema, tag)


class ErrorKind:
    """Why a request failed; set in :attr:`ChatResponse.error_kind` whenever ``error`` is set.

    - ``ANSWER``: the call went through but the teacher's answer is unusable for this item (unparseable
      or schema-invalid after the retries, cut at ``max_tokens``, empty): a property of the item, which a
      caller may record as final.
    - ``TRANSIENT``: the call itself failed for a reason that may pass (timeout, connection refused or
      reset, 429, 5xx): never the item's fault; never record it as final; retry later.
    - ``FATAL``: the call failed for a reason no retry fixes until a person acts (401/403 bad or revoked
      key, 404 unknown model, an invalid request setting): never the item's fault; stop the run.
    """

    ANSWER = "answer"
    TRANSIENT = "transient"
    FATAL = "fatal"
    ALL = (ANSWER, TRANSIENT, FATAL)


@dataclass
class ChatResponse:
    """The outcome of one request. ``error`` is set instead of raising: one bad item never fails a batch.

    ``error_kind`` (see :class:`ErrorKind`) says whose fault an error is: the answer's or the call's.
    """

    text: str = ""
    parsed: Any = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str | None = None
    error: str | None = None
    cached: bool = False
    retries: int = 0
    repairs: int = 0
    tag: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def call_failed(self) -> bool:
        """The call failed (transient or fatal), as opposed to a bad answer: never a final result for the item."""
        return self.error_kind in (ErrorKind.TRANSIENT, ErrorKind.FATAL)
