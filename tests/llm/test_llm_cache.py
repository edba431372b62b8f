"""The SQLite response cache: stable keys, errors never stored, concurrent writers, a free second run."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from emopillars.llm import ChatRequest, ChatResponse, SamplingParams, load_llm
from emopillars.llm.cache import ResponseCache, cache_key

SCHEMA_A = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
SCHEMA_B = {"properties": {"b": {"type": "integer"}, "a": {"type": "string"}}, "type": "object"}


def test_key_depends_on_what_the_model_sees_only():
    base = ChatRequest.from_prompt("hi", system="sys", schema=SCHEMA_A, tag="one")
    same = ChatRequest.from_prompt("hi", system="sys", schema=SCHEMA_B, tag="x")
    assert cache_key("m", base) == cache_key("m", same)
    assert cache_key("m", base) != cache_key("other", base)
    assert cache_key("m", base) != cache_key("m", ChatRequest.from_prompt("hi!", system="sys", schema=SCHEMA_A))
    changed = ChatRequest.from_prompt("hi", system="sys", schema=SCHEMA_A, params=SamplingParams(seed=1))
    assert cache_key("m", base) != cache_key("m", changed)


def test_put_get_roundtrip_and_errors_not_stored(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k1", ChatResponse(text='{"a": 1}', parsed={"a": 1}, completion_tokens=3, finish_reason="stop"))
    cache.put("k2", ChatResponse(error="boom"))
    hit = cache.get("k1")
    assert hit.cached and hit.parsed == {"a": 1} and hit.completion_tokens == 3
    assert cache.get("k2") is None and len(cache) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    cache.close()
    assert ResponseCache(tmp_path / "c.sqlite").get("k1").text == '{"a": 1}'  # persisted


def _write_many(path: str, offset: int, n: int) -> None:
    cache = ResponseCache(path)
    for i in range(n):
        cache.put(f"p{offset + i}", ChatResponse(text=str(offset + i)))
    cache.close()


def test_concurrent_writers_threads_and_processes(tmp_path):
    path = tmp_path / "shared.sqlite"
    shared = ResponseCache(path)
    threads = [
        threading.Thread(target=lambda o=o: [shared.put(f"t{o}-{i}", ChatResponse(text="x")) for i in range(50)])
        for o in range(4)
    ]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), o * 100, 50)) for o in range(2)]
    for worker in threads + procs:
        worker.start()
    for worker in threads + procs:
        worker.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(shared) == 4 * 50 + 2 * 50
    assert shared.get("p149").text == "149"
    shared.close()


@pytest.mark.llm
@pytest.mark.timeout(300)
def test_second_identical_run_makes_zero_backend_calls(smollm_gguf, tmp_path):
    """Real embedded model: the rerun is served from the cache with the same outputs."""
    schema = {"type": "object", "properties": {"emotion": {"type": "string", "enum": ["joy", "fear"]}}}
    requests = [
        ChatRequest.from_prompt(
            f"Someone says: '{text}'. Emotion as JSON?",
            params=SamplingParams(max_tokens=16),
            schema=schema,
            tag=str(i),
        )
        for i, text in enumerate(["I won!", "A bear is behind me!", "We did it!"])
    ]
    first = load_llm(f"llamacpp:{smollm_gguf}", cache_path=tmp_path / "c.sqlite")
    out1 = first.generate(requests)
    assert first.metrics.calls >= 3 and first.metrics.cache_misses == 3
    first.close()
    second = load_llm(f"llamacpp:{smollm_gguf}", cache_path=tmp_path / "c.sqlite")
    out2 = second.generate(requests)
    assert second.metrics.calls == 0 and second.metrics.cache_hits == 3
    assert [r.text for r in out2] == [r.text for r in out1]
    assert [r.parsed for r in out2] == [r.parsed for r in out1]
    assert all(r.cached for r in out2) and [r.tag for r in out2] == ["0", "1", "2"]
    second.close()
    off = load_llm(f"llamacpp:{smollm_gguf}", cache=False)
    off.generate(requests[:1])
    assert off.cache is None and off.metrics.calls == 1
    off.close()


def test_damaged_entry_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache._connect().execute("INSERT INTO responses (key, model, value, created) VALUES ('bad', 'm', '{not json', 0)")
    assert cache.get("bad") is None and cache.misses == 1
    cache.close()
