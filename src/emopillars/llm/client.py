"""The LLM every caller uses: a backend plus cache, bounded concurrency, retries, progress and metrics.

``generate(requests)`` returns one response per request, in order, and never raises for one bad
item: failures come back as responses with ``error`` set and ``error_kind`` saying whose fault it is
(:class:`~emopillars.llm.types.ErrorKind`): ``ANSWER`` (the teacher's answer was unusable after the
retries), ``TRANSIENT`` (the call failed for a reason that may pass) or ``FATAL`` (a person must act;
after the first one, requests of the same batch not yet sent come back FATAL without being sent). Work
already done is kept: every answer is handed to ``on_result`` and written to the cache the moment it
arrives, however long other requests of the batch take, so a crashed or interrupted run resumes where
it stopped. A request with no answer after ``slow_after`` seconds is logged once, with its tag.

All backend work runs on one private event loop in a background thread. The sync ``generate``
blocks on it; ``agenerate`` awaits it from any other loop. So an HTTP connection pool is always used
from the loop that made it, and the caller's own loop (e.g. a notebook's) is never an obstacle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from tqdm.auto import tqdm

from emopillars.llm.backends.base import Backend, BackendError, Completion
from emopillars.llm.cache import ResponseCache, cache_key
from emopillars.llm.metrics import LLMMetrics
from emopillars.llm.parsing import parse_json
from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ChatRequest, ChatResponse, ErrorKind

log = logging.getLogger(__name__)

ResultCallback = Callable[[int, ChatResponse], None]
T = TypeVar("T")
RETRY_TEMPERATURE = 0.7  # a new seed changes nothing at temperature 0, so a retry samples a little
SLOW_AFTER_S = 30.0  # a request still unanswered after this long gets one log line


def reseeded(request: ChatRequest, attempt: int) -> ChatRequest:
    """The request for retry ``attempt``: another seed, and some temperature if it was greedy."""
    params = request.params
    temperature = params.temperature if params.temperature > 0 else RETRY_TEMPERATURE
    new_params = dataclasses.replace(params, seed=params.seed + 7919 * attempt, temperature=temperature)
    return dataclasses.replace(request, params=new_params)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (Linux, macOS), else asyncio's.

    Why: with aiohttp against a zero-latency server, the event loop's own work is about a third of the
    client's CPU time per request; uvloop (libuv) cut the CPU per request by 16-33 % here (BENCHMARKS.md).
    ``EMOPILLARS_UVLOOP=0`` keeps asyncio's loop.
    """
    if os.environ.get("EMOPILLARS_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="emopillars-llm-loop", daemon=True)
        self.thread.start()

    def submit(self, coro) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class LLM:
    """A backend with cache, bounded concurrency, retries on bad structured output, and metrics."""

    def __init__(
        self,
        backend: Backend,
        *,
        cache: ResponseCache | None = None,
        concurrency: int | None = None,
        max_retries: int = 3,
        progress_desc: str = "LLM",
        slow_after: float | None = SLOW_AFTER_S,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.backend = backend
        self.cache = cache
        self.concurrency = max(1, int(concurrency or backend.default_concurrency))
        self.max_retries = max_retries
        self.progress_desc = progress_desc
        self.slow_after = slow_after if slow_after and slow_after > 0 else None
        self.metrics = LLMMetrics()
        self._runner: _LoopThread | None = None
        self._runner_lock = threading.Lock()
        self._tokens = itertools.count()

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    @property
    def model_name(self) -> str:
        """The model without its endpoint: what a dataset's provenance records."""
        return self.backend.model_name

    def describe(self) -> str:
        return self.backend.describe()

    def __repr__(self) -> str:
        cache = str(self.cache.path) if self.cache is not None else "off"
        return f"LLM({self.backend.describe()}, concurrency={self.concurrency}, cache={cache})"

    # -- running ----------------------------------------------------------------------------------
    def _loop(self) -> _LoopThread:
        with self._runner_lock:
            if self._runner is None:
                self._runner = _LoopThread()
            return self._runner

    def generate(
        self, requests: Iterable[ChatRequest], progress: bool = False, on_result: ResultCallback | None = None
    ) -> list[ChatResponse]:
        """Responses for ``requests`` in the same order. ``on_result(index, response)`` sees each as it lands."""
        requests = list(requests)
        if not requests:
            return []
        runner = self._loop()
        if threading.current_thread() is runner.thread:
            raise RuntimeError("LLM.generate called from inside an LLM callback; use agenerate instead")
        future = runner.submit(self._run(requests, progress, on_result))
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this LLM's event loop and wait for its result.

        Inside it, :meth:`agenerate` awaits the backend directly (no thread hop) and the coroutine's own
        work interleaves with the requests in flight: the synthesis runner parses answers and prepares
        the next batch there. Ctrl-C cancels the coroutine and returns once it has finished unwinding,
        so whatever it was writing is not left half-done behind the caller's back.
        """
        runner = self._loop()
        if threading.current_thread() is runner.thread:
            coro.close()
            raise RuntimeError("LLM.run called from inside the LLM's loop; await the coroutine instead")
        finished = threading.Event()

        async def guarded() -> T:
            try:
                return await coro
            finally:
                finished.set()

        future = runner.submit(guarded())
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            finished.wait(timeout=30)
            raise

    async def agenerate(
        self, requests: Iterable[ChatRequest], progress: bool = False, on_result: ResultCallback | None = None
    ) -> list[ChatResponse]:
        """The async form of :meth:`generate`, usable from any event loop."""
        requests = list(requests)
        if not requests:
            return []
        runner = self._loop()
        coro = self._run(requests, progress, on_result)
        if asyncio.get_running_loop() is runner.loop:
            return await coro
        return await asyncio.wrap_future(runner.submit(coro))

    def check(self) -> None:
        """Raise BackendUnavailable when the backend cannot serve (server down, bad key)."""
        self._loop().submit(self.backend.check()).result()

    async def _run(
        self, requests: list[ChatRequest], progress: bool, on_result: ResultCallback | None
    ) -> list[ChatResponse]:
        started = time.perf_counter()
        results: list[ChatResponse | None] = [None] * len(requests)
        bar = tqdm(total=len(requests), desc=self.progress_desc, unit="req", disable=not progress, dynamic_ncols=True)

        def done(index: int, response: ChatResponse) -> None:
            results[index] = response
            bar.update(1)
            if on_result is not None:
                try:
                    on_result(index, response)
                except Exception:  # the caller's checkpoint code must not stop the other requests
                    log.exception("on_result callback failed for request %d", index)

        self.metrics.add(requests=len(requests))
        try:
            await self._prepare()
            keys = [cache_key(self.model_id, r) for r in requests] if self._cache_usable() else None
            pending = self._serve_from_cache(requests, keys, done)
            if pending and self.backend.batched:
                await self._run_batched(requests, pending, keys, done)
            elif pending:
                await self._run_concurrent(requests, pending, keys, done)
        finally:
            bar.close()
            self.metrics.add(wall_seconds=time.perf_counter() - started)
            if progress:
                print(self.metrics.summary(), file=sys.stderr)
        return [
            r if r is not None else ChatResponse(error="not run (interrupted)", error_kind=ErrorKind.TRANSIENT)
            for r in results
        ]

    async def _prepare(self) -> None:
        """Let the backend learn what its model id depends on (the served model) before keys are built."""
        try:
            await self.backend.prepare()
        except Exception as exc:  # the requests themselves will report what is wrong
            log.debug("preparing the backend failed: %s", redact_spec(str(exc)))

    def _cache_usable(self) -> bool:
        return self.cache is not None and not self.cache.disabled and self.backend.cacheable

    def _serve_from_cache(self, requests, keys, done) -> list[int]:
        if keys is None:
            return list(range(len(requests)))
        pending = []
        for i, (request, key) in enumerate(zip(requests, keys)):
            hit = self.cache.get(key)
            if hit is None:
                pending.append(i)
                continue
            hit.tag = request.tag
            done(i, hit)
        hits = len(requests) - len(pending)
        self.metrics.add(cache_hits=hits, cache_misses=len(pending))
        return pending

    async def _run_concurrent(self, requests, pending, keys, done) -> None:
        """``concurrency`` workers pull from one queue: bounded in-flight work, no task per request.

        Each answer goes to ``done`` (and so to ``on_result`` and the cache) as soon as it lands. After a
        FATAL failure the requests not yet sent are answered with that failure instead of being sent.
        """
        todo = iter(pending)
        fatal: list[ChatResponse] = []
        inflight: dict = {}
        watcher = asyncio.ensure_future(self._watch_slow(inflight)) if self.slow_after is not None else None

        async def worker() -> None:
            for i in todo:
                if fatal:
                    response = ChatResponse(
                        error=f"not sent: an earlier request failed and needs a fix first: {fatal[0].error}",
                        error_kind=ErrorKind.FATAL,
                        tag=requests[i].tag,
                    )
                    self.metrics.add(errors=1, fatal_errors=1)
                    done(i, response)
                    continue
                try:
                    response = await self._attempts(requests[i], inflight if watcher is not None else None)
                except Exception as exc:  # a bug must stop the batch, loudly, never be taken for an answer
                    response = self._failed(requests[i], exc, 0, 0.0)
                try:
                    self._store(keys, i, response)
                except Exception:  # the answer is still good: only its cache entry is lost
                    log.exception("could not cache the answer to request %s", requests[i].tag or i)
                if response.error_kind == ErrorKind.FATAL and not fatal:
                    fatal.append(response)
                    log.error("LLM request %s failed: %s", response.tag or i, response.error)
                done(i, response)

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(pending)))))
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _attempts(self, request: ChatRequest, inflight: dict | None = None) -> ChatResponse:
        """Call the backend; on an unusable answer (``ANSWER`` error) retry with another seed.

        While it runs, the request sits in ``inflight`` (watched by :meth:`_watch_slow`): one dict entry
        instead of a timer per request, which the client's hot path would feel.
        """
        if inflight is None:
            return await self._attempts_unwatched(request)
        token = next(self._tokens)
        inflight[token] = (time.monotonic(), request)
        try:
            return await self._attempts_unwatched(request)
        finally:
            del inflight[token]

    async def _watch_slow(self, inflight: dict) -> None:
        """Log each request still unanswered after ``slow_after`` seconds, once."""
        logged: set[int] = set()  # tokens are never reused
        interval = max(0.02, min(self.slow_after / 4, 5.0))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for token, (started, request) in list(inflight.items()):
                if now - started >= self.slow_after and token not in logged:
                    logged.add(token)
                    log.warning(
                        "LLM request %s: no answer after %g s; still waiting (%s)",
                        request.tag or "-",
                        self.slow_after,
                        self.backend.describe(),
                    )

    async def _attempts_unwatched(self, request: ChatRequest) -> ChatResponse:
        response = ChatResponse(error="no attempt made", error_kind=ErrorKind.TRANSIENT, tag=request.tag)
        for attempt in range(self.max_retries + 1):
            sent = request if attempt == 0 else reseeded(request, attempt)
            started = time.perf_counter()
            try:
                completion = await self.backend.complete(sent)
            except Exception as exc:  # one item's failure, never the batch's
                return self._failed(request, exc, attempt, time.perf_counter() - started)
            response = self._finish(sent, completion, time.perf_counter() - started)
            response.retries = attempt
            if response.ok or not self._retryable(sent, response):
                break
            if attempt < self.max_retries:
                self.metrics.add(retries=1)
        if not response.ok:
            self.metrics.add(errors=1, answer_errors=1)
            if response.retries:
                response.error = f"{response.error} (after {response.retries} retries)"
        return response

    async def _run_batched(self, requests, pending, keys, done) -> None:
        """Batched engines (vLLM offline): send every pending request at once, then retry the failures."""
        todo = list(pending)
        for attempt in range(self.max_retries + 1):
            sent = [requests[i] if attempt == 0 else reseeded(requests[i], attempt) for i in todo]
            started = time.perf_counter()
            try:
                outcomes = await self.backend.complete_batch(sent)
            except Exception as exc:
                for i in todo:
                    done(i, self._failed(requests[i], exc, attempt, time.perf_counter() - started))
                return
            elapsed = time.perf_counter() - started
            retry = []
            for i, request, outcome in zip(todo, sent, outcomes):
                if isinstance(outcome, BaseException):
                    done(i, self._failed(requests[i], outcome, attempt, elapsed))
                    continue
                response = self._finish(request, outcome, elapsed)
                response.retries = attempt
                if not response.ok and self._retryable(request, response) and attempt < self.max_retries:
                    retry.append(i)
                    continue
                if not response.ok:
                    self.metrics.add(errors=1, answer_errors=1)
                    if attempt:
                        response.error = f"{response.error} (after {attempt} retries)"
                self._store(keys, i, response)
                done(i, response)
            if not retry:
                return
            self.metrics.add(retries=len(retry))
            todo = retry

    # -- bookkeeping ------------------------------------------------------------------------------
    def _finish(self, request: ChatRequest, completion: Completion, latency: float) -> ChatResponse:
        """Turn a completion into a response: parse structured output, check it is complete, count everything.

        Every error set here is ``ANSWER``: the call went through and the answer is unusable (no choices,
        null content, cut at max_tokens, cut off inside its JSON, not JSON, not the schema). A cut-off answer
        keeps no parsed value: repair may fix syntax, never stand in for lost content.
        """
        response = ChatResponse(
            text=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=latency,
            finish_reason=completion.finish_reason,
            tag=request.tag,
        )
        self.metrics.add(
            calls=1,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            transport_retries=completion.transport_retries,
            call_seconds=latency,
        )
        if completion.problem:
            response.error, response.error_kind = completion.problem, ErrorKind.ANSWER
            self.metrics.add(parse_failures=1)
            return response
        if request.schema is None:
            return response
        parsed = parse_json(completion.text, request.schema)
        response.repairs = parsed.repairs
        response.parsed = None if parsed.cut_off else parsed.value
        if completion.finish_reason == "length":
            response.error = f"answer cut at max_tokens={request.params.max_tokens} (finish_reason=length)"
            response.parsed = None
        elif not parsed.ok:
            response.error = parsed.error
        if response.ok:
            self.metrics.add(repairs=parsed.repairs)
        else:
            response.error_kind = ErrorKind.ANSWER
            self.metrics.add(parse_failures=1)
        return response

    @staticmethod
    def _retryable(request: ChatRequest, response: ChatResponse) -> bool:
        return response.error_kind == ErrorKind.ANSWER

    def _failed(self, request: ChatRequest, exc: BaseException, attempt: int, latency: float) -> ChatResponse:
        """A response for a call that failed: the backend's typed error, or FATAL for anything unexpected."""
        if isinstance(exc, BackendError):
            kind, message = exc.kind, str(exc)
        else:  # a bug or an unexpected library error: stop and show it rather than guess
            kind = ErrorKind.FATAL
            message = f"unexpected error in the {self.backend.kind} backend: {type(exc).__name__}: {exc}"
            log.error("LLM request %s: %s", request.tag or "-", redact_spec(message), exc_info=exc)
        counter = {ErrorKind.FATAL: "fatal_errors", ErrorKind.TRANSIENT: "transient_errors"}.get(kind, "answer_errors")
        self.metrics.add(errors=1, calls=getattr(exc, "attempts", 1), **{counter: 1})
        return ChatResponse(
            error=redact_spec(message), error_kind=kind, latency_s=latency, retries=attempt, tag=request.tag
        )

    def _store(self, keys: list[str] | None, index: int, response: ChatResponse) -> None:
        """Cache clean answers only: no errors, nothing that needed a JSON repair (a rerun asks again)."""
        if keys is not None and response.ok and not response.repairs:
            self.cache.put(keys[index], response, self.model_id)

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the backend (model memory, connections) and the cache; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.submit(self.backend.aclose()).result(timeout=30)
            except Exception as exc:  # closing must not mask the caller's own error
                log.debug("closing the backend failed: %s", exc)
            runner.stop()
        else:
            try:
                asyncio.run(self.backend.aclose())
            except Exception as exc:
                log.debug("closing the backend failed: %s", exc)
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
