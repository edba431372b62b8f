"""The step scheduler, written once for every step: batches, passes, failed calls, progress.

For one step and its input rows (each with a unique ``id``):

1. load the step's checkpoint (:mod:`emopillars.synth.checkpoint`) and skip the rows already in it;
2. send the remaining rows to the LLM in batches (the LLM layer runs a batch concurrently), parsing
   each answer as it lands;
3. write each landed answer's checkpoint line -- its outputs, or a drop record with the reason the
   teacher's answer was unusable -- within :data:`FLUSH_INTERVAL_S` of its landing (or once
   :data:`FLUSH_LINES` are waiting), while the rest of its batch is still with the server: one slow or
   hung request never holds the others' results back, and a kill loses at most the answers of the
   last fraction of a second;
4. show a progress bar (rows done / total, rate, ETA, outputs, drops, failed calls).

**A failed call is never an answer.** A response whose call failed (``response.call_failed``:
timeout, connection refused or reset, 429, 5xx, a bad key, an unknown model; see
:class:`~emopillars.llm.types.ErrorKind`) is not written to the checkpoint: its row is retried in the
next pass (up to ``max_passes``) and, if it still fails, on the next run. The step then stops with
:class:`~emopillars.synth.errors.LLMCallError`. It stops at once when a whole batch of calls failed
(the backend is down) or after :data:`FATAL_STREAK` consecutive *fatal* failures (a key or model
name that no retry fixes), naming the cause and what to fix. Only answers that came back are final:
parsed into outputs, or recorded as a drop by reason.

The loop is pipelined on the LLM's own event loop (:func:`_one_pass`): while batch k is with the
LLM, batch k-1 is recorded and batch k+1's requests are built, so the LLM hardly waits for the
runner. A batch in flight for more than :data:`STALL_LOG_S` seconds is logged with how many of its
requests are still unanswered.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tqdm.auto import tqdm

from emopillars.llm.secrets import redact_spec
from emopillars.llm.types import ChatResponse, ErrorKind
from emopillars.synth.checkpoint import CheckpointWriter, Entry, encode_line, load_checkpoint
from emopillars.synth.errors import LLMCallError, SynthesisError
from emopillars.synth.steps.base import Parsed, Step

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25  # a landed answer reaches the checkpoint file at most this long after it landed
FLUSH_LINES = 256  # ... or as soon as this many lines are waiting
STALL_LOG_S = 30.0  # a batch in flight this long is logged (then at doubling intervals)
FATAL_STREAK = 8  # this many fatal call failures in a row (no good answer between) stop the run


def call_failure_kind(response: ChatResponse) -> str | None:
    """:data:`ErrorKind.TRANSIENT` or ``FATAL`` when the *call* failed; ``None`` when an answer came back.

    An LLM layer that does not type its errors yet (``error_kind`` None) is read conservatively: an
    error without any answer text is a transient call failure (retried, never recorded as a drop).
    """
    if response.call_failed:
        return response.error_kind
    if response.error and response.error_kind is None and not response.text:
        return ErrorKind.TRANSIENT
    return None


def explain_call_failure(kind: str, error: str | None) -> str:
    """What the user should check, for the first failed call's message."""
    text = (error or "").lower()
    if kind == ErrorKind.FATAL:
        if any(token in text for token in ("401", "403", "unauthorized", "forbidden", "api key", "api_key")):
            return (
                "the server refused the API key: set EMOPILLARS_API_KEY (or OPENAI_API_KEY) to a valid key "
                "(a key in the --llm URL works too but is never written to disk)"
            )
        if "404" in text or "model" in text:
            return (
                "the server does not serve this model or path: compare the #MODEL part of --llm with the ids the "
                "server lists at GET <url>/models, and check that the URL ends with /v1"
            )
        return "the server rejects these requests: check the --llm spec and the server's settings"
    return (
        "the server is down, overloaded or too slow: check it (emopillars llm check --llm ...), "
        "or give it more time (--timeout) or less load (--concurrency)"
    )


@dataclass
class StepStats:
    """What one step did in this invocation (the manifest adds what was in the checkpoint before)."""

    name: str
    total: int = 0
    resumed: int = 0
    done_now: int = 0
    call_failures: Counter = field(default_factory=Counter)  # failed calls by ErrorKind, every pass counted
    failed_rows: int = 0  # rows left without an answer at the end (retried on the next run)
    first_failure: str | None = None
    wall_s: float = 0.0
    llm_s: float = 0.0
    interrupted: bool = False

    @property
    def transient_failures(self) -> int:
        return self.call_failures[ErrorKind.TRANSIENT]


@dataclass
class StepRun:
    """The step's complete results (checkpoint + this invocation), in input order."""

    entries: list[Entry]
    stats: StepStats

    def outputs(self) -> list[dict[str, Any]]:
        return [out for entry in self.entries for out in entry.outputs]


class StepStart(NamedTuple):
    """Where a step run starts: what :func:`begin_step` found and opened (both engines use it)."""

    checkpoint: Path
    ids: list[str]  # every input row's id, in input order
    done: dict[str, Entry]  # rows the checkpoint already holds
    stats: StepStats
    pending: list[dict]  # rows still to call, in input order
    start: float  # time.perf_counter() at the start, for stats.wall_s
    bar: tqdm


def begin_step(
    step: Step, rows: list[dict], checkpoint: str | Path, progress: bool, stats: StepStats | None
) -> StepStart:
    """Open a step run: check the row ids are unique, load the checkpoint, fill ``stats.total``/``resumed``
    (in ``stats`` when given, else a new :class:`StepStats`), and open the progress bar at the resumed count."""
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    ids = [str(row["id"]) for row in rows]
    if len(set(ids)) != len(ids):
        raise SynthesisError(f"step {step.name}: input rows have duplicate ids")
    done = load_checkpoint(checkpoint)
    stats = stats if stats is not None else StepStats(step.name)
    stats.total, stats.resumed = len(rows), sum(1 for i in ids if i in done)
    pending = [row for row in rows if str(row["id"]) not in done]
    start = time.perf_counter()
    bar = tqdm(
        total=len(rows),
        initial=stats.resumed,
        desc=f"{step.name:>10}",
        unit="row",
        disable=not progress or not rows,
        dynamic_ncols=True,
    )
    return StepStart(checkpoint, ids, done, stats, pending, start, bar)


def run_step(
    step: Step,
    rows: list[dict],
    llm,
    checkpoint: str | Path,
    *,
    batch_size: int = 64,
    progress: bool = True,
    max_passes: int = 2,
    stats: StepStats | None = None,
) -> StepRun:
    """Run ``step`` over ``rows`` (see module doc). Returns every row's entry in input order.

    ``stats`` (optional) is filled in place, so a caller sees what was done even when the step stops
    with an error. Raises :class:`LLMCallError` when calls still fail after ``max_passes`` passes.
    """
    checkpoint, ids, done, stats, pending, start, bar = begin_step(step, rows, checkpoint, progress, stats)
    counts = Counter(outputs=sum(len(done[i].outputs) for i in ids if i in done))
    counts["dropped"] = sum(1 for i in ids if i in done and done[i].drop)
    writer = CheckpointWriter(checkpoint)
    last_error: ChatResponse | None = None
    try:
        for _ in range(max_passes):
            if not pending:
                break
            guard = _Guard()
            pending = _drive(llm, _one_pass(step, pending, llm, writer, batch_size, done, stats, bar, counts, guard))
            last_error = guard.last_failure or last_error
    except KeyboardInterrupt:
        stats.interrupted = True
        logger.warning(
            "interrupted in step %s: %d/%d rows are saved in %s; rerun the same command to resume",
            step.name,
            stats.resumed + writer.lines_written,  # with the answers of the batch in flight that had landed
            len(rows),
            checkpoint,
        )
        raise
    finally:
        writer.close(wait=False)  # the last fsync overlaps the next step; wait_for_checkpoints() waits for it
        bar.close()
        stats.wall_s = time.perf_counter() - start
    stats.failed_rows = len(pending)
    if pending:
        kind = ErrorKind.FATAL if stats.call_failures[ErrorKind.FATAL] else ErrorKind.TRANSIENT
        error = redact_spec(last_error.error if last_error is not None else None)
        raise LLMCallError(
            f"step {step.name}: {len(pending)} of {len(rows)} LLM calls still failed after {max_passes} passes "
            f"({kind}: {error}); {explain_call_failure(kind, error)}. Nothing was recorded for those rows; finished "
            f"rows are saved in {checkpoint}: rerun the same command to resume",
            kind,
        )
    return StepRun([done[i] for i in ids], stats)


class _Guard:
    """Counts fatal call failures in a row across a pass (a good answer resets the count)."""

    def __init__(self) -> None:
        self.fatal_streak = 0
        self.last_failure: ChatResponse | None = None
        self.last_fatal: ChatResponse | None = None

    def failure(self, kind: str, response: ChatResponse) -> None:
        self.last_failure = response
        if kind == ErrorKind.FATAL:
            self.fatal_streak += 1
            self.last_fatal = response

    def success(self) -> None:
        self.fatal_streak = 0


class _Sink:
    """Landed checkpoint lines waiting to be written: written when :data:`FLUSH_LINES` wait, or by a timer on
    the event loop :data:`FLUSH_INTERVAL_S` after the first of them landed. A write error (a full disk) is
    kept and raised from the runner's own code (:meth:`flush`), never lost in a callback."""

    def __init__(self, writer: CheckpointWriter, loop: asyncio.AbstractEventLoop) -> None:
        self.writer, self.loop = writer, loop
        self.lines: list[bytes] = []
        self.timer: asyncio.TimerHandle | None = None
        self.error: BaseException | None = None
        self.closed = False

    def add(self, line: bytes) -> None:
        if self.closed or self.error is not None:
            return  # stopping (or the disk failed): the row is redone on the next run
        self.lines.append(line)
        if len(self.lines) >= FLUSH_LINES:
            self._write()
        elif self.timer is None:
            self.timer = self.loop.call_later(FLUSH_INTERVAL_S, self._write)

    def _write(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.lines or self.error is not None:
            return
        lines, self.lines = b"".join(self.lines), []
        try:
            self.writer.write(lines)
        except Exception as exc:  # raised by flush() in the runner's own code
            self.error = exc

    def flush(self) -> None:
        """Write every waiting line now; raise a write error from here (not from a callback)."""
        self._write()
        if self.error is not None:
            error, self.error = self.error, None
            self.closed = True
            raise error

    def close(self) -> None:
        """Write what landed and stop taking lines (answers landing after this are redone on the next run)."""
        try:
            self._write()
        finally:
            self.closed = True


class _Batch:
    """One batch sent to the LLM. Each answer is parsed and handed to the sink the moment it lands, while the
    batch's other requests are still with the server."""

    def __init__(self, step: Step, rows: list[dict], bar, sink: _Sink, guard: _Guard) -> None:
        self.step, self.rows, self.bar, self.sink, self.guard = step, rows, bar, sink, guard
        self.entries: list[Entry | None] = [None] * len(rows)
        self.failed: dict[int, tuple[str, ChatResponse]] = {}
        self.outstanding = len(rows)
        self.sent = time.monotonic()

    def land(self, index: int, response: ChatResponse) -> None:
        if self.entries[index] is not None or index in self.failed:
            return
        kind = call_failure_kind(response)
        if kind is not None:
            self.failed[index] = (kind, response)
            self.guard.failure(kind, response)
        else:
            entry = _entry(self.step, self.rows[index], response)
            self.entries[index] = entry
            self.sink.add(encode_line(entry))
            self.guard.success()
        self.outstanding -= 1
        self.bar.update(1)

    def finish(self, responses: list[ChatResponse]) -> None:
        """Parse the answers the LLM did not hand over one by one (an LLM object without ``on_result``)."""
        for index, response in enumerate(responses):
            self.land(index, response)


def _entry(step: Step, row: dict, response: ChatResponse) -> Entry:
    try:
        parsed = step.parse(response, row)
    except Exception as exc:  # a parser bug must cost one row, not the run
        logger.exception("step %s: parsing the answer for %s failed", step.name, row["id"])
        parsed = Parsed.dropped("parser_error", error=f"{type(exc).__name__}: {exc}")
    return Entry.from_parsed(str(row["id"]), parsed, response)


class _Watchdog:
    """Logs a batch that has been in flight for :data:`STALL_LOG_S` seconds, then at doubling intervals.

    A warning with the ``--timeout`` hint for a server backend (a hung server is worth acting on); a plain
    progress note for an in-process model (llama.cpp on a CPU is simply slow, and no timeout applies to it).
    """

    def __init__(self, batch: _Batch, loop: asyncio.AbstractEventLoop, server: bool) -> None:
        self.batch, self.loop, self.wait, self.server = batch, loop, STALL_LOG_S, server
        self.handle = loop.call_later(self.wait, self._check)

    def _check(self) -> None:
        batch = self.batch
        if batch.outstanding <= 0:
            return
        landed = len(batch.rows) - batch.outstanding
        if self.server:
            logger.warning(
                "step %s: %d of %d requests of the batch still unanswered after %.0f s (a slow or hung server; "
                "the %d answers that landed are saved; --timeout bounds the wait per request)",
                batch.step.name, batch.outstanding, len(batch.rows), time.monotonic() - batch.sent, landed,
            )  # fmt: skip
        else:
            logger.info(
                "step %s: %d of %d answers of the batch after %.0f s (each is saved as it lands)",
                batch.step.name, landed, len(batch.rows), time.monotonic() - batch.sent,
            )  # fmt: skip
        self.wait *= 2
        self.handle = self.loop.call_later(self.wait, self._check)

    def cancel(self) -> None:
        self.handle.cancel()


def _is_server(llm) -> bool:
    """Whether the LLM answers over the network (an OpenAI-compatible server), where a timeout applies."""
    return getattr(getattr(llm, "backend", None), "kind", None) == "openai"


def _drive(llm, coro):
    """Run a pass coroutine: on the LLM's own event loop when it has one (``LLM.run``), else on a new one
    (any object with ``generate(requests)`` works as the LLM; its calls then run on a helper thread)."""
    if hasattr(llm, "run") and hasattr(llm, "agenerate"):
        return llm.run(coro)
    return asyncio.run(coro)


def _on_loop(loop: asyncio.AbstractEventLoop, callback):
    """``callback`` run on ``loop``'s thread, whichever thread the LLM hands the answer over on."""
    owner = threading.get_ident()

    def deliver(index: int, response: ChatResponse) -> None:
        if threading.get_ident() == owner:
            callback(index, response)
        else:
            loop.call_soon_threadsafe(callback, index, response)

    return deliver


async def _send(llm, requests: list, on_result) -> list[ChatResponse]:
    on_result = _on_loop(asyncio.get_running_loop(), on_result)
    if hasattr(llm, "agenerate"):
        return await llm.agenerate(requests, on_result=on_result)
    return await asyncio.to_thread(_generate, llm, requests, on_result)


def _generate(llm, requests: list, on_result) -> list[ChatResponse]:
    """``llm.generate``, with ``on_result`` when the object takes one."""
    try:
        accepts = "on_result" in inspect.signature(llm.generate).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        return llm.generate(requests)
    return llm.generate(requests, on_result=on_result)


_SLICE = 16  # rows of runner work between two looks at the answers coming in


async def _one_pass(step, pending, llm, writer, batch_size, done, stats, bar, counts, guard) -> list[dict]:
    """Process ``pending`` in batches; return the rows whose calls failed (to retry).

    Pipelined on the LLM's event loop, one batch in flight at a time: each answer is parsed as it lands
    and its line written shortly after (:class:`_Sink`); while batch k is with the LLM the runner records
    batch k-1 and builds batch k+1's requests, in slices between which the loop handles the answers
    arriving. The LLM waits for the runner only for the moment it takes to hand over the next batch, and
    no second thread competes with the LLM client for the interpreter.
    """
    loop = asyncio.get_running_loop()
    sink = _Sink(writer, loop)
    server = _is_server(llm)
    chunks = [pending[begin : begin + batch_size] for begin in range(0, len(pending), batch_size)]
    failed: list[dict] = []
    task: asyncio.Future | None = None
    watchdog: _Watchdog | None = None
    try:
        requests = await _build(step, chunks[0]) if chunks else []
        landed: _Batch | None = None
        for k, rows in enumerate(chunks):
            batch = _Batch(step, rows, bar, sink, guard)
            sent = time.perf_counter()
            task = asyncio.ensure_future(_send(llm, requests, batch.land))
            watchdog = _Watchdog(batch, loop, server)
            await asyncio.sleep(0)  # the requests leave before the runner's own work starts
            if landed is not None:
                _record(landed, sink, done, stats, counts, failed, guard)
            requests = await _build(step, chunks[k + 1]) if k + 1 < len(chunks) else []
            responses = await task
            watchdog.cancel()
            stats.llm_s += time.perf_counter() - sent
            task = None
            batch.finish(responses)
            landed = batch
        if landed is not None:
            _record(landed, sink, done, stats, counts, failed, guard)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if task is not None:  # stopped with a batch in flight (Ctrl-C, dead backend): its landed answers are kept
            task.cancel()
        sink.close()
    return failed


async def _build(step: Step, rows: list[dict]) -> list:
    """``step.build_requests`` in slices, letting the event loop handle landed answers in between."""
    requests: list = []
    for begin in range(0, len(rows), _SLICE):
        requests += step.build_requests(rows[begin : begin + _SLICE])
        await asyncio.sleep(0)
    return requests


def _record(batch: _Batch, sink: _Sink, done, stats: StepStats, counts, failed, guard: _Guard) -> None:
    """Count one finished batch (its lines are written first); failed calls go to ``failed`` for another pass."""
    sink.flush()
    bar = batch.bar
    finished = [entry for entry in batch.entries if entry is not None]
    for entry in finished:
        done[entry.id] = entry
        counts["outputs"] += len(entry.outputs)
        counts["dropped"] += bool(entry.drop)
    stats.done_now += len(finished)
    for index in sorted(batch.failed):
        kind, response = batch.failed[index]
        stats.call_failures[kind] += 1
        stats.first_failure = stats.first_failure or redact_spec(response.error)
        failed.append(batch.rows[index])
    bar.n = stats.resumed + stats.done_now  # the per-answer ticks counted this batch already
    bar.refresh()
    postfix = {"out": counts["outputs"], "dropped": counts["dropped"]}
    if stats.call_failures:
        postfix["failed_calls"] = sum(stats.call_failures.values())
    bar.set_postfix(postfix, refresh=False)
    whole_batch = bool(batch.failed) and not finished
    if whole_batch or guard.fatal_streak >= FATAL_STREAK:
        fatal = guard.last_fatal if guard.fatal_streak >= FATAL_STREAK else None
        kind, response = (ErrorKind.FATAL, fatal) if fatal else batch.failed[min(batch.failed)]
        error = redact_spec(response.error)
        what = "a whole batch of" if whole_batch else f"{guard.fatal_streak} consecutive"
        raise LLMCallError(
            f"step {batch.step.name}: {what} LLM calls failed ({kind}: {error}); {explain_call_failure(kind, error)}. "
            "Nothing was recorded for the failed rows; finished rows are saved in the step checkpoint: "
            "rerun the same command to resume",
            kind,
        )
