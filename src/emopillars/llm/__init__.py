"""The LLM layer: one ``generate(requests) -> responses`` over an embedded CPU model, any OpenAI-compatible
server, or vLLM's offline engine, with a SQLite cache, structured output, retries and metrics.

>>> llm = load_llm()                       # embedded Qwen2.5-Coder-0.5B GGUF from PyPI
>>> llm = load_llm("openai:http://gpu:8000/v1#mistralai/Mistral-7B-Instruct-v0.2")
>>> [answer] = llm.generate([ChatRequest.from_prompt("Name one emotion as JSON", schema={...})])
>>> answer.parsed, answer.error, llm.metrics.summary()
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable
from emopillars.llm.cache import ResponseCache, cache_key, default_cache_path
from emopillars.llm.client import LLM, SLOW_AFTER_S
from emopillars.llm.metrics import LLMMetrics
from emopillars.llm.registry import create_backend, parse_spec
from emopillars.llm.types import ChatRequest, ChatResponse, ErrorKind, SamplingParams

log = logging.getLogger(__name__)

__all__ = [
    "LLM",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "ChatRequest",
    "ChatResponse",
    "ErrorKind",
    "LLMMetrics",
    "ResponseCache",
    "SamplingParams",
    "cache_key",
    "create_backend",
    "load_llm",
    "parse_spec",
]


def load_llm(
    spec: str | None = None,
    *,
    cache: bool = True,
    cache_path: str | Path | None = None,
    concurrency: int | None = None,
    max_retries: int = 3,
    timeout: float | None = None,
    slow_after: float | None = SLOW_AFTER_S,
    **backend_options: Any,
) -> LLM:
    """Build an :class:`LLM` from a spec string (see :mod:`emopillars.llm.registry`).

    ``cache=False`` turns the response cache off (default file: ``<EMOPILLARS_CACHE>/llm_cache.sqlite``).
    ``timeout``: seconds to wait for one answer from a server (default 120; each request may be retried once
    after a timeout, see docs/llm.md); the in-process backends (llama.cpp, vLLM offline) cannot be
    interrupted mid-generation and ignore it. ``slow_after``: log a request still unanswered after this
    many seconds (once; None: never). ``backend_options`` go to the backend, e.g. ``n_ctx=4096`` (llama.cpp),
    ``server="vllm"`` or ``http_retries=2`` (OpenAI-compatible), ``gpu_memory_utilization=0.8`` (vLLM).
    Raises FileNotFoundError (model file), BackendUnavailable (runtime or GPU missing), ValueError (bad spec).
    """
    kind = parse_spec(spec).kind
    if kind == "openai":
        if concurrency:
            backend_options.setdefault("max_connections", max(int(concurrency), 1))  # one connection per slot
        if timeout is not None:
            backend_options["timeout"] = timeout
    elif timeout is not None:
        log.debug("timeout=%s applies to servers only; the %s backend runs in this process", timeout, kind)
    backend = create_backend(spec, **backend_options)
    response_cache = ResponseCache(cache_path or default_cache_path()) if cache else None
    return LLM(backend, cache=response_cache, concurrency=concurrency, max_retries=max_retries, slow_after=slow_after)
