"""The step runner, written once for every step: batches, checkpoints, resume, progress.

For one step and its input rows (each with a unique ``id``):

1. load the step's checkpoint ``DIR/steps/<step>.jsonl`` and skip the rows already in it;
2. send the remaining rows to the LLM in batches (the LLM layer runs a batch concurrently), parsing
   each answer as it lands;
3. after each batch, append one line per finished input row -- its outputs, or a drop record with
   the reason -- and flush, so a kill loses at most the batch in flight and the one being written
   (the fsync against a machine crash runs on a helper thread, at most once a second and at the
   step's end, see :class:`CheckpointWriter`);
4. show a progress bar (rows done / total, rate, ETA, outputs, drops).

The loop is pipelined on the LLM's own event loop (:func:`_one_pass`): while batch k is with the
LLM, batch k-1 is written and batch k+1's requests are built, so the LLM hardly waits for the runner.

Checkpoint lines are self-contained JSON objects (:class:`Entry`). A kill can tear only the last
line; loading truncates it and the row is simply redone. Ctrl-C stops after the finished batches are
on disk and says so. A request that failed for a *transient* reason (connection refused, timeout,
server error) is not recorded, so a rerun retries it; if no request of a batch got through, the step
stops with :class:`SynthesisError` (the backend is down) instead of writing a file full of failures.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from tqdm.auto import tqdm

from emopillars.llm.types import ChatResponse
from emopillars.synth.steps.base import Parsed, Step

logger = logging.getLogger(__name__)

_TRANSIENT = re.compile(
    r"connect|refused|timed? ?out|timeout|unreachable|unavailable|reset by peer|broken pipe|"
    r"\b(429|500|502|503|504)\b|server error|too many requests|remote ?protocol",
    re.IGNORECASE,
)


class SynthesisError(RuntimeError):
    """A run that cannot go on (backend down, corrupt checkpoint); finished work stays on disk."""


class CheckpointError(SynthesisError, ValueError):
    """A checkpoint file that is damaged beyond a torn last line."""


@dataclass
class Entry:
    """One finished input row in a step checkpoint."""

    id: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    drop: str | None = None
    item_drops: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every output row, which is most of the runner's own time.
        return {
            "id": self.id,
            "outputs": self.outputs,
            "drop": self.drop,
            "item_drops": self.item_drops,
            "notes": self.notes,
            "usage": self.usage,
        }

    @classmethod
    def from_parsed(cls, row_id: str, parsed: Parsed, response: ChatResponse) -> Entry:
        usage = {
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
            "latency_s": round(response.latency_s, 4),
            "finish_reason": response.finish_reason,
            "cached": response.cached,
            "retries": response.retries,
            "repairs": response.repairs,
        }
        notes = {k: v for k, v in parsed.notes.items() if v is not None}
        return cls(row_id, parsed.outputs, parsed.drop, dict(parsed.item_drops), notes, usage)


def load_checkpoint(path: str | Path) -> dict[str, Entry]:
    """Entries by input id, in file order. A torn last line (killed mid-write) is cut off the file."""
    path = Path(path)
    entries: dict[str, Entry] = {}
    if not path.exists():
        return entries
    data = path.read_bytes()
    pos = good_end = line_no = 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        if newline == -1:  # every entry is written with its newline: a line without one is torn
            break
        raw, line_no = data[pos:newline], line_no + 1
        if raw.strip():
            try:
                entry = Entry(**orjson.loads(raw))
            except (ValueError, TypeError) as exc:
                if data[newline + 1 :].strip():
                    raise CheckpointError(
                        f"{path}:{line_no}: damaged checkpoint line ({exc}); delete the file to redo this step"
                    ) from None
                break
            if entry.id in entries:
                logger.warning("%s:%d: duplicate id %s ignored", path, line_no, entry.id)
            else:
                entries[entry.id] = entry
        pos = good_end = newline + 1
    if good_end < len(data):
        logger.warning("%s: cutting a torn last line (a run was killed while writing it); it will be redone", path)
        with open(path, "r+b") as handle:
            handle.truncate(good_end)
    return entries


SYNC_INTERVAL_S = 1.0  # a step's checkpoint is fsynced at most this often while it runs, and at its end

_SYNC_POOL: ThreadPoolExecutor | None = None
_SYNC_LOCK = threading.Lock()
_LAST_SYNC_JOB: Future | None = None  # the pool runs jobs in order: this one done = every earlier one done


def _submit_sync(job) -> Future:
    """Run ``job`` on the process's one fsync thread (starting a thread per step cost more than the fsyncs
    themselves on busy cores)."""
    global _SYNC_POOL, _LAST_SYNC_JOB
    with _SYNC_LOCK:
        if _SYNC_POOL is None:
            _SYNC_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-fsync")
        _LAST_SYNC_JOB = _SYNC_POOL.submit(job)
        return _LAST_SYNC_JOB


def wait_for_checkpoints() -> None:
    """Return once every checkpoint line written so far in this process and not lost to an fsync error is
    on disk (closed writers fsync their last lines in the background)."""
    with _SYNC_LOCK:
        job = _LAST_SYNC_JOB
    if job is not None:
        job.result()


class CheckpointWriter:
    """Appends entries to a checkpoint: written and flushed at once, fsynced in the background.

    After ``append`` returns, the lines are in the operating system's page cache, so a killed process
    loses nothing. The fsync that protects them against a machine crash runs on a helper thread and
    never holds up the runner; it runs at most every :data:`SYNC_INTERVAL_S` seconds (one fsync covers
    every line written before it starts), so a machine crash -- not a kill -- can cost the last
    second of finished rows, which a rerun redoes. Against a fast server, waiting for an fsync per
    batch, or waking the helper thread per batch, was most of the runner's own time.

    Order on disk is kept: a writer's first append waits until the checkpoints closed before it was
    created are fsynced (a step's lines never reach the disk before those of the step it was
    computed from). ``close(wait=True)`` returns once everything appended is fsynced;
    ``close(wait=False)`` leaves the last fsync (and closing the file) to the helper thread, see
    :func:`wait_for_checkpoints`. An fsync error surfaces on the next ``append`` or a waiting
    ``close``; after a non-waiting close it is logged.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle = open(path, "ab")  # noqa: SIM115 (closed in close() or _sync())
        self._lock = threading.Lock()
        self._dirty = False
        self._closing = False
        self._last_sync = float("-inf")
        self._job: Future | None = None
        self._error: OSError | None = None
        with _SYNC_LOCK:
            self._earlier = _LAST_SYNC_JOB

    def append(self, entries: list[Entry]) -> None:
        if not entries:
            return
        self.write(b"".join([_encode_line(e) for e in entries]))

    def write(self, lines: bytes) -> None:
        """Append already encoded checkpoint lines (each ends with a newline)."""
        if not lines:
            return
        self._raise_error()
        if self._earlier is not None:
            self._earlier.result()
            self._earlier = None
        self._handle.write(lines)
        self._handle.flush()
        with self._lock:
            self._dirty = True
            now = time.monotonic()
            if self._job is None and now - self._last_sync >= SYNC_INTERVAL_S:
                self._last_sync = now
                self._job = _submit_sync(self._sync)

    def _sync(self) -> None:
        fd = self._handle.fileno()
        while True:
            with self._lock:
                if not self._dirty or self._error is not None:
                    self._job = None
                    if self._closing:
                        self._handle.close()
                    return
                self._dirty = False
                closing = self._closing
            try:
                os.fsync(fd)  # covers every line written before it starts
            except OSError as exc:
                self._error = exc
                if closing:
                    logger.error("%s: fsync failed (%s); the lines may not survive a machine crash", self._path, exc)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self, wait: bool = True) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._job is None and self._dirty:
                self._job = _submit_sync(self._sync)
            job = self._job
            if job is None:
                self._handle.close()
        if wait and job is not None:
            job.result()
        if wait or job is None:
            self._raise_error()

    def __enter__(self) -> CheckpointWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _encode_line(entry: Entry) -> bytes:
    """One checkpoint line: UTF-8 JSON (orjson: a fifth of the stdlib encoder's time) and a newline."""
    return orjson.dumps(entry.to_dict(), option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)


def is_transient(response: ChatResponse) -> bool:
    """A failure worth retrying on a rerun (the backend, not the answer, was the problem)."""
    return bool(response.error) and not response.text and bool(_TRANSIENT.search(response.error or ""))


@dataclass
class StepStats:
    """What one step did in this invocation (the manifest adds what was in the checkpoint before)."""

    name: str
    total: int = 0
    resumed: int = 0
    done_now: int = 0
    transient_failures: int = 0
    wall_s: float = 0.0
    llm_s: float = 0.0
    interrupted: bool = False


@dataclass
class StepRun:
    """The step's complete results (checkpoint + this invocation), in input order."""

    entries: list[Entry]
    stats: StepStats

    def outputs(self) -> list[dict[str, Any]]:
        return [out for entry in self.entries for out in entry.outputs]


def run_step(
    step: Step,
    rows: list[dict],
    llm,
    checkpoint: str | Path,
    *,
    batch_size: int = 64,
    progress: bool = True,
    max_passes: int = 2,
) -> StepRun:
    """Run ``step`` over ``rows`` (see module doc). Returns every row's entry in input order."""
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    ids = [str(row["id"]) for row in rows]
    if len(set(ids)) != len(ids):
        raise SynthesisError(f"step {step.name}: input rows have duplicate ids")
    done = load_checkpoint(checkpoint)
    stats = StepStats(step.name, total=len(rows), resumed=sum(1 for i in ids if i in done))
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
    counts = Counter(outputs=sum(len(done[i].outputs) for i in ids if i in done))
    counts["dropped"] = sum(1 for i in ids if i in done and done[i].drop)
    writer = CheckpointWriter(checkpoint)
    try:
        for _ in range(max_passes):
            if not pending:
                break
            pending = _drive(llm, _one_pass(step, pending, llm, writer, batch_size, done, stats, bar, counts))
    except KeyboardInterrupt:
        stats.interrupted = True
        logger.warning(
            "interrupted in step %s: %d/%d rows are saved in %s; rerun the same command to resume",
            step.name,
            stats.resumed + stats.done_now,
            len(rows),
            checkpoint,
        )
        raise
    finally:
        writer.close(wait=False)  # the last fsync overlaps the next step; wait_for_checkpoints() waits for it
        bar.close()
        stats.wall_s = time.perf_counter() - start
    if pending:
        raise SynthesisError(
            f"step {step.name}: {len(pending)} requests failed with backend errors after {max_passes} passes "
            f"(finished rows are saved in {checkpoint}); check the LLM server and rerun to resume"
        )
    return StepRun([done[i] for i in ids], stats)


class _Batch:
    """One batch sent to the LLM. Each answer is parsed and encoded as a checkpoint line the moment it
    lands, while the batch's other requests are still with the server."""

    def __init__(self, step: Step, rows: list[dict], bar) -> None:
        self.step, self.rows, self.bar = step, rows, bar
        self.entries: list[Entry | None] = [None] * len(rows)
        self.lines: list[bytes | None] = [None] * len(rows)
        self.transient: dict[int, ChatResponse] = {}

    def land(self, index: int, response: ChatResponse) -> None:
        if self.entries[index] is None and index not in self.transient:
            if is_transient(response):
                self.transient[index] = response
            else:
                entry = _entry(self.step, self.rows[index], response)
                self.lines[index] = _encode_line(entry)
                self.entries[index] = entry
        self.bar.update(1)

    def finish(self, responses: list[ChatResponse]) -> None:
        """Parse the answers the LLM did not hand over one by one (an LLM object without ``on_result``)."""
        for index, response in enumerate(responses):
            if self.entries[index] is None and index not in self.transient:
                self.land(index, response)


def _entry(step: Step, row: dict, response: ChatResponse) -> Entry:
    try:
        parsed = step.parse(response, row)
    except Exception as exc:  # a parser bug must cost one row, not the run
        logger.exception("step %s: parsing the answer for %s failed", step.name, row["id"])
        parsed = Parsed.dropped("parser_error", error=f"{type(exc).__name__}: {exc}")
    return Entry.from_parsed(str(row["id"]), parsed, response)


def _drive(llm, coro):
    """Run a pass coroutine: on the LLM's own event loop when it has one (``LLM.run``), else on a new one
    (any object with ``generate(requests)`` works as the LLM; its calls then run on a helper thread)."""
    if hasattr(llm, "run") and hasattr(llm, "agenerate"):
        return llm.run(coro)
    return asyncio.run(coro)


async def _send(llm, requests: list, on_result) -> list[ChatResponse]:
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


async def _one_pass(step, pending, llm, writer, batch_size, done, stats, bar, counts) -> list[dict]:
    """Process ``pending`` in batches; return the rows that failed transiently.

    Pipelined on the LLM's event loop, one batch in flight at a time: each answer is parsed as it lands;
    while batch k is with the LLM the runner writes batch k-1 to the checkpoint and builds batch k+1's
    requests, in slices between which the loop handles the answers arriving. The LLM waits for the
    runner only for the moment it takes to hand over the next batch, and no second thread competes
    with the LLM client for the interpreter.
    """
    chunks = [pending[begin : begin + batch_size] for begin in range(0, len(pending), batch_size)]
    failed: list[dict] = []
    task: asyncio.Future | None = None
    try:
        requests = await _build(step, chunks[0]) if chunks else []
        landed: _Batch | None = None
        for k, rows in enumerate(chunks):
            batch = _Batch(step, rows, bar)
            sent = time.perf_counter()
            task = asyncio.ensure_future(_send(llm, requests, batch.land))
            await asyncio.sleep(0)  # the requests leave before the runner's own work starts
            if landed is not None:
                _record(landed, writer, done, stats, counts, failed)
            requests = await _build(step, chunks[k + 1]) if k + 1 < len(chunks) else []
            responses = await task
            stats.llm_s += time.perf_counter() - sent
            task = None
            batch.finish(responses)
            landed = batch
        if landed is not None:
            _record(landed, writer, done, stats, counts, failed)
    finally:
        if task is not None:  # stopped with a batch in flight (Ctrl-C, dead backend): its rows are redone
            task.cancel()
    return failed


async def _build(step: Step, rows: list[dict]) -> list:
    """``step.build_requests`` in slices, letting the event loop handle landed answers in between."""
    requests: list = []
    for begin in range(0, len(rows), _SLICE):
        requests += step.build_requests(rows[begin : begin + _SLICE])
        await asyncio.sleep(0)
    return requests


def _record(batch: _Batch, writer, done, stats, counts, failed) -> None:
    """Append one batch's parsed answers to the checkpoint and count; transient failures go to ``failed``."""
    bar = batch.bar
    finished = [entry for entry in batch.entries if entry is not None]
    writer.write(b"".join([line for line in batch.lines if line is not None]))
    for entry in finished:
        done[entry.id] = entry
        counts["outputs"] += len(entry.outputs)
        counts["dropped"] += bool(entry.drop)
    stats.done_now += len(finished)
    stats.transient_failures += len(batch.transient)
    failed.extend(batch.rows[index] for index in sorted(batch.transient))
    bar.n = stats.resumed + stats.done_now  # the per-answer ticks counted this batch already
    bar.refresh()
    bar.set_postfix(out=counts["outputs"], dropped=counts["dropped"], refresh=False)
    if batch.transient and not finished:
        first = batch.transient[min(batch.transient)]
        raise SynthesisError(
            f"step {batch.step.name}: the LLM backend failed on a whole batch ({first.error}); "
            "finished rows are saved in the step checkpoint; rerun the same command to resume"
        )
