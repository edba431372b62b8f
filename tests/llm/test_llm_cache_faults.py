"""The cache key names the model that actually answers; a damaged cache file never stops a run.

Servers are fault servers in their own processes; cache files are real SQLite files damaged the ways a disk,
a copy or a person damages them: garbage, truncated, a folder in their place, garbage written mid-run.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from emopillars.llm import ChatRequest, SamplingParams, load_llm
from emopillars.llm.cache import ResponseCache, cache_key

pytestmark = pytest.mark.timeout(120)

SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}


def _reqs(n: int, prefix: str = "q") -> list[ChatRequest]:
    return [
        ChatRequest.from_prompt(key, params=SamplingParams(max_tokens=32), schema=SCHEMA, tag=key)
        for key in (f"{prefix}{i}" for i in range(n))
    ]


def _no_traceback(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


# -- identity --------------------------------------------------------------------------------------------------
def test_two_servers_under_one_model_name_do_not_share_answers_fault_server(make_fake_server, tmp_path):
    first, second = make_fake_server(), make_fake_server()
    path = tmp_path / "c.sqlite"
    for server in (first, second):
        with load_llm(f"openai:{server.url}#fake-model", cache_path=path) as llm:
            llm.generate(_reqs(5))
            assert llm.metrics.cache_hits == 0 and llm.metrics.calls == 5
    assert len(first.bodies) == len(second.bodies) == 5
    with load_llm(f"openai:{second.url}#fake-model", cache_path=path) as llm:  # the same server again: all cached
        llm.generate(_reqs(5))
        assert llm.metrics.cache_hits == 5 and llm.metrics.calls == 0


def test_served_model_is_asked_before_keys_are_built_fault_server(fake_server, tmp_path):
    """No #MODEL: the key uses the model /models names, so a server that now serves another model is asked again."""
    path = tmp_path / "c.sqlite"
    fake_server.configure(models=["alpha"])
    with load_llm(f"openai:{fake_server.url}", cache_path=path) as llm:
        [response] = llm.generate(_reqs(1))
        model_id = llm.model_id
    assert response.ok and fake_server.bodies[-1]["model"] == "alpha"
    assert "default" not in model_id and model_id.endswith("#alpha")
    assert model_id == f"openai:generic:http://127.0.0.1:{fake_server.port}/v1#alpha"
    fake_server.configure(models=["beta"])
    with load_llm(f"openai:{fake_server.url}", cache_path=path) as llm:
        [again] = llm.generate(_reqs(1))
        assert llm.metrics.cache_hits == 0 and llm.metrics.calls == 1
    assert fake_server.bodies[-1]["model"] == "beta"
    fake_server.configure(models=["alpha"])
    with load_llm(f"openai:{fake_server.url}", cache_path=path) as llm:
        llm.generate(_reqs(1))
        assert llm.metrics.cache_hits == 1  # and the first server's answer is still there for it


def test_key_includes_server_kind_and_normalized_endpoint():
    from emopillars.llm.backends.openai_compat import OpenAICompatBackend

    a = OpenAICompatBackend("HTTP://GPU:80/v1/", "m", server="vllm")
    b = OpenAICompatBackend("http://gpu/v1", "m", server="vllm")
    c = OpenAICompatBackend("http://gpu/v1", "m", server="llamacpp")
    d = OpenAICompatBackend("http://gpu:8001/v1", "m", server="vllm")
    assert a.model_id == b.model_id == "openai:vllm:http://gpu/v1#m"
    request = _reqs(1)[0]
    assert len({cache_key(x.model_id, request) for x in (b, c, d)}) == 3


def test_unknown_served_model_is_not_cached_fault_server(fake_server, tmp_path, caplog):
    fake_server.configure(models_status=404)  # a server without a model list, and no #MODEL in the spec
    with load_llm(f"openai:{fake_server.url}", cache_path=tmp_path / "c.sqlite") as llm:
        responses = llm.generate(_reqs(3))
        assert len(llm.cache) == 0 and not llm.backend.cacheable
    assert all(r.ok for r in responses)
    assert "answers are not cached" in caplog.text and "openai:URL#MODEL" in caplog.text


# -- damaged cache files ---------------------------------------------------------------------------------------
def _fill(path, n: int = 200) -> None:
    cache = ResponseCache(path)
    from emopillars.llm import ChatResponse

    for i in range(n):
        cache.put(f"key{i}", ChatResponse(text="x" * 500, parsed={"i": i}))
    cache._connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache.close()


def _check_moved_aside(path, caplog) -> None:
    aside = sorted(path.parent.glob(f"{path.name}.corrupt-*"))
    assert len(aside) == 1, list(path.parent.iterdir())
    assert "is damaged" in caplog.text and str(aside[0]) in caplog.text and "started a new" in caplog.text
    _no_traceback(caplog)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "folder", "empty header"])
def test_damaged_cache_file_at_open_is_moved_aside_fault_server(fake_server, tmp_path, caplog, damage):
    path = tmp_path / "c.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not a database\n" * 200)
    elif damage == "truncated":
        _fill(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "folder":
        path.mkdir()
        (path / "something").write_text("x")
    else:
        _fill(path)
        data = bytearray(path.read_bytes())
        data[:100] = b"\0" * 100
        path.write_bytes(bytes(data))
    with load_llm(f"openai:{fake_server.url}#fake-model", cache_path=path) as llm:
        responses = llm.generate(_reqs(4))
        assert len(llm.cache) == 4  # a new cache took the answers
    assert all(r.ok for r in responses)
    _check_moved_aside(path, caplog)
    with load_llm(f"openai:{fake_server.url}#fake-model", cache_path=path) as llm:
        llm.generate(_reqs(4))
        assert llm.metrics.cache_hits == 4


def test_garbage_written_mid_run_is_survived_fault_server(fake_server, tmp_path, caplog):
    path = tmp_path / "c.sqlite"
    with load_llm(f"openai:{fake_server.url}#fake-model", cache_path=path) as llm:
        llm.generate(_reqs(150))
        other = sqlite3.connect(path)
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        other.close()
        size = path.stat().st_size
        with path.open("r+b") as handle:  # garbage over everything but the first page
            handle.seek(4096)
            handle.write(b"\xde\xad\xbe\xef" * ((size - 4096) // 4))
        responses = llm.generate(_reqs(150) + _reqs(10, "new"))
        stats = llm.cache.stats()
    assert all(r.ok for r in responses)
    assert [r.parsed["echo"] for r in responses] == [f"q{i}" for i in range(150)] + [f"new{i}" for i in range(10)]
    _check_moved_aside(path, caplog)
    assert stats["disabled"] is None and stats["entries"] >= 10  # a new cache took over mid-run


def test_cache_that_cannot_be_created_turns_off_fault_server(fake_server, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with load_llm(f"openai:{fake_server.url}#fake-model", cache_path=blocker / "c.sqlite") as llm:
        responses = llm.generate(_reqs(3))
        assert llm.cache.disabled
    assert all(r.ok for r in responses)
    assert "is off for this run" in caplog.text
    _no_traceback(caplog)


def test_old_repaired_entries_are_asked_again(tmp_path):
    from emopillars.llm import ChatResponse

    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("clean", ChatResponse(text="{}", parsed={}))
    cache.put("repaired", ChatResponse(text="{,}", parsed={}, repairs=1))  # refused now
    old_value = '{"text": "x", "repairs": 2}'  # as an older version stored a repaired answer
    insert = "INSERT INTO responses (key, model, value, created) VALUES ('old', 'm', ?, 0)"
    cache._connect().execute(insert, (old_value,))
    assert cache.get("clean") is not None and cache.get("repaired") is None and cache.get("old") is None
    cache.close()


@pytest.fixture(autouse=True)
def _log_everything(caplog):
    caplog.set_level(logging.DEBUG)
