"""The embedded CPU backend: llama-cpp-python running a GGUF in this process.

One ``Llama`` instance, and calls are serialized on one worker thread: llama.cpp already uses every
core for one sequence, and the async client stays responsive (progress, timeouts, other backends)
while a generation runs. The chat template is the one stored in the GGUF (the prompt is built exactly as
llama-cpp-python's ``create_chat_completion`` builds it). Structured requests use the bounded grammar of
:mod:`emopillars.llm.grammar` instead of llama.cpp's stock schema grammar. Consecutive requests that share
a prefix (the system prompt, the 28 definitions) reuse llama.cpp's KV cache.

Decoding runs in :mod:`emopillars.llm.backends.llamacpp_engine` (``engine="fast"``, the default): lazy
grammar checks, jump-forward over the text the grammar forces, prompt-lookup drafts for greedy requests.
``engine="llama-cpp-python"`` decodes with ``create_chat_completion`` instead (the code path before it, kept
to compare against).

``workers`` (fast engine): several ``Llama`` contexts on the same memory-mapped weights, each with its own KV
cache and thread(s), decode independent requests side by side; a request goes to the idle worker whose KV
cache shares the longest prefix with its prompt. On 2 cores, 2 one-thread workers keep both cores busy
during the token-by-token phase, where one two-thread context spends much of each step synchronising its
threads; default 2 workers on 2+ cores for models under 2 GB (``EMOPILLARS_LLM_WORKERS`` overrides).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emopillars.llm.backends.base import Backend, BackendError, BackendUnavailable, Completion
from emopillars.llm.backends.llamacpp_engine import DecodeStats, Engine, EngineError
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


def default_workers(model_bytes: int) -> int:
    """``EMOPILLARS_LLM_WORKERS``, else 2 on a machine with 2+ cores for a model under 2 GB, else 1."""
    env = os.environ.get("EMOPILLARS_LLM_WORKERS")
    if env:
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores >= 2 and model_bytes < 2 * 1024**3 else 1


@dataclass
class _Worker:
    llama: Any
    engine: Engine


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
        engine: str = "fast",
        jump_forward: bool = True,
        draft_max: int = 8,
        fixed_separators: bool = True,
        workers: int | None = None,
        enum_scoring: bool = True,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown llama.cpp engine {engine!r}: one of {', '.join(ENGINES)}")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"model file not found: {path}")
        llama_cpp = import_llama_cpp()
        self.path = path
        # The decoding options that change answers are part of the model id, and so of the answer cache's key:
        # an answer decoded token by token is never served for a request that asks for enum scoring.
        # "jf2": jump-forward leaves the last forced token to the model; answers cached by the first version (which
        # cut arrays after one item) are not served again.
        decoding = [name for name, on in (("sep", fixed_separators), ("jf2", jump_forward), ("enum", enum_scoring))
                    if on and engine == "fast"]  # fmt: skip
        self.model_id = (model_id or f"llamacpp:{path.name}:{path.stat().st_size}") + (
            "+" + ",".join(decoding) if decoding else ""
        )
        self.max_string = max_string
        self.workers = 1 if engine != "fast" else (workers or default_workers(path.stat().st_size))
        self.n_threads = n_threads or max(1, default_threads() // self.workers)
        self.default_concurrency = self.workers + 1  # one queued request per worker... and one to spare
        self._llama_cpp = llama_cpp

        fast = engine == "fast"

        def load():
            try:
                return llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=min(n_ctx, 512) if fast else n_ctx,  # the fast engine makes its own context
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_batch=n_batch,
                    chat_format=chat_format,
                    verbose=verbose,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailable(f"llama.cpp could not load {path}: {exc}") from exc

        self._llama = load()
        train_ctx = int(self._llama.metadata.get(f"{self._arch()}.context_length", 0) or 0)
        if train_ctx and n_ctx > train_ctx:
            log.info("n_ctx %d exceeds the model's training context %d", n_ctx, train_ctx)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="llamacpp")
        self._grammar_cache: dict[str, Any] = {}
        self._gbnf_cache: dict[str, str] = {}
        self._lock = threading.Lock()  # the stock path, and building prompts (the chat handler of the first model)
        self._idle_changed = threading.Condition()
        self.engine_name = engine
        self.fixed_separators = fixed_separators
        self._engine = None
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        if fast:
            options = {
                "n_ctx": n_ctx,
                "jump_forward": jump_forward,
                "draft_max": draft_max,
                "enum_scoring": enum_scoring,
            }
            self._engine = Engine(self._llama, **options)
            self._workers.append(_Worker(self._llama, self._engine))
            for _ in range(self.workers - 1):
                llama = load()
                self._workers.append(_Worker(llama, Engine(llama, **options)))
            self._idle = list(self._workers)
        self.n_ctx = self._engine.n_ctx if fast else self._llama.n_ctx()

    def _arch(self) -> str:
        return str(self._llama.metadata.get("general.architecture", ""))

    def describe(self) -> str:
        return (
            f"llama.cpp embedded, {self.path.name} ({self.workers} worker(s) x {self.n_threads} thread(s), "
            f"n_ctx {self.n_ctx}, engine {self.engine_name})"
        )

    def decode_stats(self) -> DecodeStats | None:
        """Token and time counts of the fast engine since the model was loaded, summed over the workers (None for
        the other engine)."""
        if not self._workers:
            return None
        total = DecodeStats()
        for worker in self._workers:
            total.add(worker.engine.stats)
        return total

    def reset_stats(self) -> None:
        for worker in self._workers:
            worker.engine.stats = DecodeStats()

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

    def _gbnf(self, schema: dict[str, Any]) -> str:
        key = json.dumps(schema, sort_keys=True)
        text = self._gbnf_cache.get(key)
        if text is None:
            text = schema_to_gbnf(schema, max_string=self.max_string, fixed_separators=self.fixed_separators)
            self._gbnf_cache[key] = text
        return text

    def prompt_tokens(self, request: ChatRequest) -> tuple[list[int], list[str]]:
        """(prompt tokens, stop strings) exactly as ``create_chat_completion`` would build them.

        The GGUF's chat handler is run with a stand-in for the model that records the completion call it
        makes instead of running it, so any chat format the library knows is rendered the same way.
        """
        llama = self._llama
        handler = (
            llama.chat_handler
            or llama._chat_handlers.get(llama.chat_format)
            or _chat_format().get_chat_completion_handler(llama.chat_format)
        )
        capture = _CaptureCompletion(llama)
        try:
            handler(llama=capture, messages=[dict(m) for m in request.messages], stop=list(request.params.stop))
        except _Captured:
            pass
        if capture.kwargs is None:
            raise BackendError("the chat handler did not build a completion request")
        prompt = capture.kwargs["prompt"]
        if isinstance(prompt, str):
            prompt = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        stop = capture.kwargs.get("stop") or []
        return list(prompt), [stop] if isinstance(stop, str) else list(stop)

    def _complete_sync(self, request: ChatRequest) -> Completion:
        if self._engine is not None:
            return self._complete_fast(request)
        return self._complete_stock(request)

    def _take_worker(self, prompt: list[int]) -> _Worker:
        """The idle worker whose KV cache shares the longest prefix with ``prompt`` (waits for one)."""
        with self._idle_changed:
            while not self._idle:
                self._idle_changed.wait()
            best = max(self._idle, key=lambda w: _common_prefix(w.engine.tokens, prompt))
            self._idle.remove(best)
            return best

    def _give_back(self, worker: _Worker) -> None:
        with self._idle_changed:
            self._idle.append(worker)
            self._idle_changed.notify()

    def _complete_fast(self, request: ChatRequest) -> Completion:
        with self._lock:
            prompt, stop = self.prompt_tokens(request)
            grammar = self._gbnf(request.schema) if request.schema is not None else None
            enums = schema_enums(request.schema) if request.schema is not None else None
        worker = self._take_worker(prompt)
        try:
            out = worker.engine.generate(prompt, request.params, grammar_text=grammar, stop=stop, enums=enums)
        except EngineError as exc:
            raise BackendError(f"llama.cpp rejected the request: {exc}") from exc
        finally:
            self._give_back(worker)
        return Completion(
            text=out.text,
            prompt_tokens=out.prompt_tokens,
            completion_tokens=out.completion_tokens,
            finish_reason=out.finish_reason,
        )

    def _complete_stock(self, request: ChatRequest) -> Completion:
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
        workers = getattr(self, "_workers", [])
        for worker in workers:
            worker.engine.close()
            if worker.llama is not getattr(self, "_llama", None):
                worker.llama.close()
        self._workers, self._idle, self._engine = [], [], None
        llama = getattr(self, "_llama", None)
        if llama is not None:
            try:
                llama.close()
            except AttributeError:
                pass
            self._llama = None


ENGINES = ("fast", "llama-cpp-python")


class _Captured(Exception):
    """Raised by :class:`_CaptureCompletion` to stop the chat handler once it has built its request."""


class _CaptureCompletion:
    """Stands in for ``Llama`` inside a chat handler: records ``create_completion``'s arguments, runs nothing."""

    def __init__(self, llama) -> None:
        self._llama = llama
        self.kwargs: dict[str, Any] | None = None

    def __getattr__(self, name: str):
        return getattr(self._llama, name)

    def create_completion(self, **kwargs):
        self.kwargs = kwargs
        raise _Captured


def _chat_format():
    from llama_cpp import llama_chat_format

    return llama_chat_format


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def schema_enums(schema: Any) -> dict[str, list[str]]:
    """Property name -> its string enum values, anywhere in a JSON schema (the first definition of a name wins)."""
    found: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                values = sub.get("enum") if isinstance(sub, dict) else None
                if values and all(isinstance(v, str) for v in values):
                    found.setdefault(name, list(values))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found
