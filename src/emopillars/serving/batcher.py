"""Dynamic batching for the HTTP server: requests that arrive together are scored as one batch.

Why our own (about 100 lines) and not a library: the maintained options are whole model servers (Triton,
TorchServe, Ray Serve, BentoML) that would replace FastAPI + uvicorn rather than sit inside them; what the
server needs is one asyncio queue with a size bound and a wait bound. Its measured gain is in BENCHMARKS.md
(``benchmarks/serve_load.py``: dynamic batching vs ``--max-batch 1``, same run).

How: requests append their items to a queue and await a future. One worker task takes the oldest request,
then keeps adding queued requests until the batch holds ``max_batch`` items or ``max_wait_ms`` have passed
since it started collecting; it runs the model in a worker thread (the event loop keeps accepting requests
meanwhile, and they form the next batch) and hands each request its rows. A request larger than
``max_batch`` is split into several jobs. An exception in the model fails the requests of that batch only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _Job:
    items: list
    future: asyncio.Future


@dataclass
class BatchStats:
    """What the batcher has done so far (``GET /health`` shows it)."""

    batches: int = 0
    items: int = 0
    largest_batch: int = 0
    failed_batches: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def record(self, size: int) -> None:
        self.batches += 1
        self.items += size
        self.largest_batch = max(self.largest_batch, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1

    def to_dict(self) -> dict:
        mean = self.items / self.batches if self.batches else 0.0
        return {
            "batches": self.batches,
            "items": self.items,
            "largest_batch": self.largest_batch,
            "mean_batch": round(mean, 2),
            "failed_batches": self.failed_batches,
        }


class DynamicBatcher:
    """Collects items from concurrent requests into batches of at most ``max_batch`` for ``run_batch``."""

    def __init__(self, run_batch: Callable[[list], Sequence], max_batch: int = 64, max_wait_ms: float = 5.0):
        if max_batch < 1:
            raise ValueError(f"max batch must be at least 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max wait must be >= 0 ms, got {max_wait_ms}")
        self.run_batch = run_batch
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self.stats = BatchStats()
        self._pending: deque[_Job] = deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queued(self) -> int:
        return sum(len(job.items) for job in self._pending)

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emopillars-inference")
        self._task = asyncio.create_task(self._worker(), name="emopillars-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, items: Sequence) -> list:
        """The results of ``items`` (in order), computed in whatever batches the load makes."""
        if self._task is None or self._arrived is None:
            raise RuntimeError("the batcher is not running")
        if self._task.done():
            raise RuntimeError("the batcher stopped")
        loop = asyncio.get_running_loop()
        jobs = []
        for start in range(0, len(items), self.max_batch):
            job = _Job(list(items[start : start + self.max_batch]), loop.create_future())
            self._pending.append(job)
            jobs.append(job)
        self._arrived.set()
        results = await asyncio.gather(*(job.future for job in jobs))
        return [row for part in results for row in part]

    async def _collect(self) -> list[_Job]:
        """Wait for work, then gather jobs until the size bound or the wait bound."""
        assert self._arrived is not None
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        jobs, size = [], 0
        while True:
            while self._pending and size + len(self._pending[0].items) <= self.max_batch:
                job = self._pending.popleft()
                if job.future.done():  # the client went away
                    continue
                jobs.append(job)
                size += len(job.items)
            if size >= self.max_batch or self._pending or not jobs:
                # full, or the next job does not fit (it leads the next batch), or everything was cancelled
                if jobs or not self._pending:
                    return jobs
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return jobs
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return jobs

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            if not jobs:
                continue
            items = [item for job in jobs for item in job.items]
            try:
                results = await loop.run_in_executor(self._executor, self.run_batch, items)
                if len(results) != len(items):
                    raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
            except Exception as exc:  # one failed batch fails its own requests, never the server
                self.stats.failed_batches += 1
                log.exception("inference failed on a batch of %d items", len(items))
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.stats.record(len(items))
            start = 0
            for job in jobs:
                part = list(results[start : start + len(job.items)])
                start += len(job.items)
                if not job.future.done():
                    job.future.set_result(part)
