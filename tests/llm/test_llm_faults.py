"""Fault injection against the OpenAI-compatible client (a fault server in its own process: real faults cannot
be ordered from a real server).

Every test runs under a hard pytest timeout: the client must recover or report per-item errors,
never hang, and keep the results it already has. No test measures time: they count calls and synchronise
with the server through its control endpoints.
"""

from __future__ import annotations

import logging

import pytest

from emopillars.llm import ChatRequest, ErrorKind, SamplingParams, load_llm
from emopillars.llm.backends.openai_compat import OpenAICompatBackend, _retry_after_seconds

pytestmark = pytest.mark.timeout(120)
ANSWER_MARGIN_S = 30.0

SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}


def _llm(server, tmp_path=None, **kw):
    # The timeout is a margin, not a measurement: no test here waits for it to fire (the hanging ones release the
    # server themselves), so it is long enough that a loaded machine never turns a slow answer into a retry.
    options = dict(timeout=ANSWER_MARGIN_S, http_retries=3, backoff_base=0.01, backoff_max=0.05, server="generic")
    options.update(kw)
    cache = tmp_path is not None
    return load_llm(
        f"openai:{server.url}#fake-model",
        cache=cache,
        cache_path=(tmp_path / "cache.sqlite") if cache else None,
        concurrency=options.pop("concurrency", 8),
        max_retries=options.pop("max_retries", 2),
        **options,
    )


def _req(key: str, schema=SCHEMA, **params) -> ChatRequest:
    return ChatRequest.from_prompt(key, params=SamplingParams(max_tokens=32, **params), schema=schema, tag=key)


def test_429_with_retry_after_is_honoured_fake_server(fake_server, monkeypatch):
    fake_server.script("a", [("status", 429, 0.3), ("status", 429, 0.3)])
    waits = []
    real_delay = OpenAICompatBackend._delay

    def recording_delay(self, attempt, retry_after):
        waits.append(real_delay(self, attempt, retry_after))
        return waits[-1]

    monkeypatch.setattr(OpenAICompatBackend, "_delay", recording_delay)
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("a")])
    assert response.ok, response.error
    assert response.parsed == {"echo": "a", "seed": 0}
    assert fake_server.calls_for("a") == 3
    assert waits == [0.3, 0.3]  # the server's Retry-After, longer than the 0.05 s backoff cap
    assert llm.metrics.transport_retries == 2


def test_retry_after_is_capped_and_backoff_grows():
    backend = OpenAICompatBackend("http://127.0.0.1:9/v1", "m", backoff_base=0.5, backoff_max=30, retry_after_max=60)
    assert backend._delay(0, 3600) == 60  # a server asking for an hour gets the cap
    assert 0.25 <= backend._delay(0, None) <= 0.5 and 2 <= backend._delay(3, None) <= 4
    assert backend._delay(10, None) <= 30


def test_500_then_success_fake_server(fake_server):
    fake_server.script("b", [("status", 500), ("status", 503)])
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("b")])
    assert response.ok and response.parsed["echo"] == "b"
    assert fake_server.calls_for("b") == 3


def test_persistent_500_gives_item_error_fake_server(fake_server):
    fake_server.script("c", [("always", ("status", 500))])
    with _llm(fake_server, http_retries=2) as llm:
        responses = llm.generate([_req("c"), _req("fine")])
    assert not responses[0].ok and "HTTP 500" in responses[0].error and "3 attempts" in responses[0].error
    assert responses[0].error_kind == ErrorKind.TRANSIENT and responses[0].call_failed
    assert responses[1].ok and responses[1].parsed["echo"] == "fine"
    assert fake_server.calls_for("c") == 3


def test_4xx_is_not_retried_fake_server(fake_server):
    fake_server.script("bad", [("always", ("status", 400))])
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("bad")])
    assert not response.ok and "HTTP 400" in response.error and "injected 400" in response.error
    assert response.error_kind == ErrorKind.FATAL
    assert fake_server.calls_for("bad") == 1


def test_dropped_connection_is_retried_fake_server(fake_server):
    fake_server.script("drop", [("drop",), ("drop",)])
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("drop")])
    assert response.ok and response.parsed["echo"] == "drop"
    assert fake_server.calls_for("drop") == 3


def test_unreadable_body_is_retried_then_reported_fake_server(fake_server):
    fake_server.script("garbled", [("garbage",)])
    fake_server.script("always-garbled", [("always", ("garbage",))])
    with _llm(fake_server, http_retries=2) as llm:
        ok, bad = llm.generate([_req("garbled"), _req("always-garbled")])
    assert ok.ok and ok.parsed["echo"] == "garbled"
    assert not bad.ok and "unreadable answer" in bad.error and bad.error_kind == ErrorKind.TRANSIENT


def test_malformed_model_json_is_repaired_fake_server(fake_server):
    fake_server.script("fenced", [("ok", '```json\n{"echo": "fenced",}\n```')])
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("fenced")])
    assert response.ok and response.parsed == {"echo": "fenced"}
    assert response.repairs == 1 and llm.metrics.repairs == 1
    assert response.retries == 0


def test_truncated_json_retries_with_another_seed_fake_server(fake_server):
    fake_server.script("cut", [("length", '{"echo": "cu'), ("ok", "not json at all")])
    with _llm(fake_server, max_retries=3) as llm:
        [response] = llm.generate([_req("cut")])
    assert response.ok and response.parsed["echo"] == "cut"
    assert response.retries == 2
    seeds = [b["seed"] for b in fake_server.bodies if b["messages"][-1]["content"] == "cut"]
    temperatures = [b["temperature"] for b in fake_server.bodies if b["messages"][-1]["content"] == "cut"]
    assert len(set(seeds)) == 3  # each retry used another seed
    assert temperatures[0] == 0.0 and temperatures[1] > 0  # greedy retries would repeat themselves
    assert llm.metrics.parse_failures == 2 and llm.metrics.retries == 2


def test_unparseable_after_all_retries_is_an_error_record_fake_server(fake_server):
    fake_server.script("junk", [("always", ("ok", "I cannot answer that."))])
    with _llm(fake_server, max_retries=2) as llm:
        [response] = llm.generate([_req("junk")])
    assert not response.ok and "not JSON" in response.error and "after 2 retries" in response.error
    assert response.error_kind == ErrorKind.ANSWER and not response.call_failed
    assert response.text == "I cannot answer that."
    assert fake_server.calls_for("junk") == 3


def test_schema_mismatch_is_retried_fake_server(fake_server):
    fake_server.script("wrong", [("ok", '{"other": 1}')])
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("wrong")])
    assert response.ok and response.retries == 1


def test_dead_port_reports_every_item_as_transient(unused_port):
    spec = f"openai:http://127.0.0.1:{unused_port}/v1#m"
    llm = load_llm(spec, cache=False, timeout=1, http_retries=2, backoff_base=0.01)
    responses = llm.generate([_req(str(i)) for i in range(5)])
    llm.close()
    assert all(not r.ok and "connection error" in r.error and "3 attempts" in r.error for r in responses)
    assert all(r.error_kind == ErrorKind.TRANSIENT for r in responses)
    assert [r.tag for r in responses] == [str(i) for i in range(5)]


def test_mixed_batch_keeps_good_results_and_cache_resumes_fake_server(fake_server, tmp_path):
    fake_server.script("k3", [("always", ("status", 500))])
    keys = [f"k{i}" for i in range(8)]
    seen = {}
    with _llm(fake_server, tmp_path, http_retries=1) as llm:
        responses = llm.generate([_req(k) for k in keys], on_result=lambda i, r: seen.setdefault(i, r))
    assert sorted(seen) == list(range(8))  # every result was handed over as it landed
    assert [r.ok for r in responses] == [k != "k3" for k in keys]
    assert [r.tag for r in responses] == keys
    calls_before = len(fake_server.bodies)
    fake_server.script("k3", [])  # the server recovers; the rerun only asks for what failed
    with _llm(fake_server, tmp_path) as llm:
        again = llm.generate([_req(k) for k in keys])
        assert llm.metrics.cache_hits == 7 and llm.metrics.calls == 1
    assert all(r.ok for r in again)
    assert len(fake_server.bodies) == calls_before + 1
    assert [r.parsed for i, r in enumerate(again) if i != 3] == [r.parsed for i, r in enumerate(responses) if i != 3]


def test_concurrency_is_bounded_fake_server(fake_server):
    """Four slots: four requests hang in the server, the other eight wait in the client until released."""
    for i in range(12):
        fake_server.script(f"s{i}", [("hang",)])
    seen = []
    with _llm(fake_server, concurrency=4, timeout=60) as llm:
        import threading

        worker = threading.Thread(target=lambda: seen.extend(llm.generate([_req(f"s{i}") for i in range(12)])))
        worker.start()
        fake_server.await_hanging(4)
        assert len(fake_server.bodies) == 4  # a fifth request was never sent while four were in flight
        fake_server.release()
        worker.join(timeout=60)
    assert len(seen) == 12 and all(r.ok for r in seen)


def test_api_key_from_env_is_sent_and_never_logged_fake_server(fake_server, monkeypatch, caplog):
    secret = "sk-test-SECRET-123"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("EMOPILLARS_API_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with _llm(fake_server) as llm:
        llm.generate([_req("key")])
        text = repr(llm) + repr(llm.backend) + llm.describe()
    assert fake_server.headers[-1].get("Authorization") == f"Bearer {secret}"
    assert secret not in text and secret not in caplog.text


def test_vllm_server_gets_guided_decoding_fields_fake_server(make_fake_server):
    new = make_fake_server(owned_by="vllm", version="0.11.0")
    old = make_fake_server(owned_by="vllm", version="0.6.3")
    for server, field in ((new, "structured_outputs"), (old, "guided_json")):
        llm = load_llm(f"openai:{server.url}#fake-model", cache=False, timeout=ANSWER_MARGIN_S)
        [response] = llm.generate([_req("v")])
        llm.close()
        body = server.bodies[-1]
        assert response.ok
        assert body["response_format"]["json_schema"]["schema"] == SCHEMA
        assert field in body and SCHEMA in (body[field], body[field].get("json"))
        assert body["repetition_penalty"] == 1.03


def test_llamacpp_server_gets_bounded_grammar_fake_server(make_fake_server):
    server = make_fake_server(owned_by="me")  # what llama_cpp.server reports
    llm = load_llm(f"openai:{server.url}", cache=False, timeout=ANSWER_MARGIN_S, concurrency=4)
    responses = llm.generate([_req(f"g{i}") for i in range(4)])  # concurrent first requests wait for the probe
    llm.close()
    assert all(r.ok for r in responses) and llm.backend.model == "fake-model"  # model name read from /models
    for body in server.bodies:
        assert "grammar" in body and "char{0," in body["grammar"] and "response_format" not in body
        assert body["repeat_penalty"] == 1.03


def test_chunked_answer_and_connection_close_fake_server(fake_server):
    fake_server.script("chunks", [("chunked", '{"echo": "chunks", "long": "' + "x" * 300 + '"}')])
    with _llm(fake_server) as llm:
        first, second = llm.generate([_req("chunks"), _req("after")])  # the second needs a new connection
    assert first.ok and first.parsed["long"] == "x" * 300
    assert second.ok and second.parsed["echo"] == "after"


def test_all_transport_faults_in_a_row_are_survived_fake_server(fake_server):
    fake_server.script("mix", [("status", 429, 0.01), ("drop",), ("status", 502), ("garbage",), ("reset",)])
    with _llm(fake_server, http_retries=5) as llm:
        [response] = llm.generate([_req("mix")])
    assert response.ok and response.parsed["echo"] == "mix"
    assert fake_server.calls_for("mix") == 6


def test_retry_after_header_forms():
    assert _retry_after_seconds("2.5") == 2.5
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after_seconds("soon") is None


def test_agenerate_from_another_loop_and_empty_batch_fake_server(fake_server):
    import asyncio

    with _llm(fake_server) as llm:
        assert llm.generate([]) == []  # an empty batch returns at once
        first = asyncio.run(llm.agenerate([_req("x1")]))
        second = asyncio.run(llm.agenerate([_req("x2")]))  # a second loop: the shared pool still works
        third = llm.generate([_req("x3")], progress=True)
    assert [r.parsed["echo"] for r in first + second + third] == ["x1", "x2", "x3"]
    assert llm.metrics.requests == 3 and llm.metrics.calls == 3


def test_run_executes_a_coroutine_on_the_llm_loop_fake_server(fake_server):
    import asyncio
    import threading

    seen: list[tuple[str, str]] = []

    async def work(llm):
        loop_thread = threading.current_thread().name
        answers = await llm.agenerate(
            [_req("r1"), _req("r2")],
            on_result=lambda i, r: seen.append((threading.current_thread().name, r.parsed["echo"])),
        )
        await asyncio.sleep(0)
        return loop_thread, [a.parsed["echo"] for a in answers]

    with _llm(fake_server) as llm:
        thread, echoes = llm.run(work(llm))
        with pytest.raises(RuntimeError, match="await the coroutine"):

            async def nested():
                llm.run(asyncio.sleep(0))

            llm.run(nested())
    assert thread == "emopillars-llm-loop" and echoes == ["r1", "r2"]
    assert sorted(seen) == [("emopillars-llm-loop", "r1"), ("emopillars-llm-loop", "r2")]


def test_request_body_and_headers_fake_server(fake_server, monkeypatch):
    monkeypatch.setenv("EMOPILLARS_API_KEY", "sk-test-123")
    with _llm(fake_server) as llm:
        [response] = llm.generate([_req("same", temperature=0.5)])
    assert response.ok and response.parsed["echo"] == "same"
    [body], [headers] = fake_server.bodies, fake_server.headers
    assert body == {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "same"}],
        "max_tokens": 32,
        "temperature": 0.5,
        "top_p": 1.0,
        "seed": 0,
        "response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}},
    }
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert headers["Content-Type"] == "application/json" and headers["Host"] == f"127.0.0.1:{fake_server.port}"
