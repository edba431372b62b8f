"""Step checkpoints: one self-contained JSON line per finished input row, appended, flushed, fsynced.

``DIR/steps/<step>.jsonl`` holds one :class:`Entry` per finished input row: its outputs, or the reason
the teacher's answer was dropped. Rows whose *call* failed are never written (see
:mod:`emopillars.synth.runner`). Lines are written whole (each ends with its newline); a kill can tear
only the last line, which :func:`load_checkpoint` cuts off so that its row is redone. A damaged line
elsewhere is a :class:`~emopillars.synth.errors.CheckpointError` naming the file and line.

Written with orjson (a fifth of the stdlib encoder's time: checkpoint encoding was most of the
runner's own time against a fast server); fsynced on one helper thread (:class:`CheckpointWriter`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from emopillars.llm.types import ChatResponse
from emopillars.synth.errors import CheckpointError
from emopillars.synth.steps.base import Parsed

logger = logging.getLogger(__name__)


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
        self.lines_written = 0  # by this writer (the file may hold lines of earlier runs)
        with _SYNC_LOCK:
            self._earlier = _LAST_SYNC_JOB

    def append(self, entries: list[Entry]) -> None:
        if not entries:
            return
        self.write(b"".join([encode_line(e) for e in entries]))

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
        self.lines_written += lines.count(b"\n")
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


def encode_line(entry: Entry) -> bytes:
    """One checkpoint line: UTF-8 JSON (orjson: a fifth of the stdlib encoder's time) and a newline."""
    return orjson.dumps(entry.to_dict(), option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
