"""The embedded CPU backend: llama-cpp-python running a GGUF in this process.

One ``Llama`` instance, and calls are serialized on one worker thread: llama.cpp already uses every
core for one sequence, and the async client stays responsive (progress, timeouts, other backends)
while a generation runs. The chat template is the one stored in the GGUF. Structured requests use
the bounded grammar of :mod:`emopillars.llm.grammar` instead of llama.cpp's stock schema grammar.
Consecutive requests that share a prefix (the same system prompt) reuse llama.cpp's KV cache.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable, Completion
from emopillars.llm.grammar import DEFAULT_MAX_STRING, schema_to_gbnf
from emopillars.llm.types import ChatRequest

log = logging.getLogger(__name__)

INSTALL_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]==0.3.36"'


def import_llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendUnavailable(f"llama-cpp-python is not installed; install it with: {INSTALL_HINT}") from exc
    return llama_cpp


def default_threads() -> int:
    """``EMOPILLARS_LLM_THREADS``, else the cores not already busy (never fewer than 1).

    Why not simply ``os.cpu_count()``: llama.cpp threads spin-wait on each other, so asking for more
    threads than free cores is catastrophic. Measured on a shared 2-core machine with one other busy
    process: 2 threads ran 15x slower than 1 (1.5 tok/s vs 13 tok/s).
    """
    env = os.environ.get("EMOPILLARS_LLM_THREADS")
    if env:
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:
        busy = 0
    return max(1, min(cores, cores - busy))


class LlamaCppBackend(Backend):
    """A GGUF file served in-process."""

    kind = "llamacpp"
    default_concurrency = 2  # one running, one queued: the worker thread never idles between requests

    def __init__(
        self,
        model_path: str | Path,
        *,
        model_id: str | None = None,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        chat_format: str | None = None,
        max_string: int = DEFAULT_MAX_STRING,
        verbose: bool = False,
    ) -> None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"model file not found: {path}")
        llama_cpp = import_llama_cpp()
        self.path = path
        self.model_id = model_id or f"llamacpp:{path.name}:{path.stat().st_size}"
        self.max_string = max_string
        self.n_threads = n_threads or default_threads()
        self._llama_cpp = llama_cpp
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=n_batch,
                chat_format=chat_format,
                verbose=verbose,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
        train_ctx = int(self._llama.metadata.get(f"{self._arch()}.context_length", 0) or 0)
        if train_ctx and n_ctx > train_ctx:
            log.info("n_ctx %d exceeds the model's training context %d", n_ctx, train_ctx)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp")
        self._grammar_cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _arch(self) -> str:
        return str(self._llama.metadata.get("general.architecture", ""))

    def describe(self) -> str:
        return f"llama.cpp embedded, {self.path.name} ({self.n_threads} threads, n_ctx {self._llama.n_ctx()})"

    async def complete(self, request: ChatRequest) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._complete_sync, request)

    def _grammar(self, schema: dict[str, Any]):
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammar_cache.get(key)
        if grammar is None:
            text = schema_to_gbnf(schema, max_string=self.max_string)
            grammar = self._llama_cpp.LlamaGrammar.from_string(text, verbose=False)
            self._grammar_cache[key] = grammar
        return grammar

    def _complete_sync(self, request: ChatRequest) -> Completion:
        p = request.params
        kwargs: dict[str, Any] = {
            "messages": [dict(m) for m in request.messages],
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "repeat_penalty": p.repetition_penalty,
            "seed": p.seed,
            "stop": list(p.stop) or None,
        }
        with self._lock:  # one sequence at a time on the one model, whatever thread calls
            try:
                if request.schema is not None:
                    kwargs["grammar"] = self._grammar(request.schema)
                out = self._llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise BackendError(f"llama.cpp rejected the request: {exc}") from exc
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            finish_reason=choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)
        llama = getattr(self, "_llama", None)
        if llama is not None:
            try:
                llama.close()
            except AttributeError:
                pass
            self._llama = None
