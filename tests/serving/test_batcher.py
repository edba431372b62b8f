"""Dynamic batching, synchronised on events (no sleeps): what arrives while the model runs forms the next batch."""

from __future__ import annotations

import asyncio
import threading

import pytest

from emopillars.serving.batcher import DynamicBatcher


class BlockingModel:
    """Records each batch; the first batch blocks until the test releases it."""

    def __init__(self):
        self.batches: list[list] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list) -> list:
        self.batches.append(list(items))
        self.started.set()
        self.release.wait(timeout=60)
        return [f"result:{item}" for item in items]


def run(coro):
    return asyncio.run(coro)


def test_requests_queued_while_the_model_runs_form_one_batch_and_results_keep_their_owner():
    model = BlockingModel()

    async def scenario():
        batcher = DynamicBatcher(model, max_batch=64, max_wait_ms=0)
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["a"]))
        await asyncio.to_thread(model.started.wait, 60)  # the model now holds batch 1
        others = [asyncio.create_task(batcher.submit([f"x{i}", f"y{i}"])) for i in range(5)]
        while batcher.queued < 10:  # every request is queued (no clock involved)
            await asyncio.sleep(0)
        model.release.set()
        results = await asyncio.gather(first, *others)
        await batcher.stop()
        return results, batcher.stats.to_dict()

    results, stats = run(scenario())
    assert results[0] == ["result:a"]
    assert results[1:] == [[f"result:x{i}", f"result:y{i}"] for i in range(5)]
    assert model.batches == [["a"], [item for i in range(5) for item in (f"x{i}", f"y{i}")]]
    assert stats == {"batches": 2, "items": 11, "largest_batch": 10, "mean_batch": 5.5, "failed_batches": 0}


def test_size_bound_splits_large_requests_and_never_exceeds_max_batch():
    model = BlockingModel()
    model.release.set()

    async def scenario():
        batcher = DynamicBatcher(model, max_batch=4, max_wait_ms=0)
        await batcher.start()
        out = await asyncio.gather(batcher.submit(list(range(10))), batcher.submit(["z"]))
        await batcher.stop()
        return out

    big, small = run(scenario())
    assert big == [f"result:{i}" for i in range(10)] and small == ["result:z"]
    assert all(len(batch) <= 4 for batch in model.batches)
    assert sorted(item for batch in model.batches for item in map(str, batch)) == sorted(
        [str(i) for i in range(10)] + ["z"]
    )


def test_a_failing_batch_fails_its_requests_and_the_batcher_keeps_serving():
    calls = []

    def flaky(items):
        calls.append(items)
        if "boom" in items:
            raise RuntimeError("model exploded")
        return [item.upper() for item in items]

    async def scenario():
        batcher = DynamicBatcher(flaky, max_batch=8, max_wait_ms=0)
        await batcher.start()
        with pytest.raises(RuntimeError, match="model exploded"):
            await batcher.submit(["boom"])
        after = await batcher.submit(["fine"])
        stats = batcher.stats.to_dict()
        await batcher.stop()
        return after, stats

    after, stats = run(scenario())
    assert after == ["FINE"]
    assert stats["failed_batches"] == 1 and stats["batches"] == 1


def test_a_wrong_number_of_results_is_an_error_not_a_misaligned_answer():
    async def scenario():
        batcher = DynamicBatcher(lambda items: items[:-1], max_batch=8, max_wait_ms=0)
        await batcher.start()
        try:
            with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
                await batcher.submit(["a", "b"])
        finally:
            await batcher.stop()

    run(scenario())


def test_bounds_are_validated():
    with pytest.raises(ValueError, match="max batch"):
        DynamicBatcher(lambda items: items, max_batch=0)
    with pytest.raises(ValueError, match="max wait"):
        DynamicBatcher(lambda items: items, max_wait_ms=-1)
