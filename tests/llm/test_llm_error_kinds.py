"""Every failure comes back with the right ``error_kind``, and no failure is cached (fault server in its own process).

The table (docs/llm.md): the call failed for a reason that may pass -> TRANSIENT, after the backend's own
bounded retries; a person must act (key, model, request settings) -> FATAL, at once; an answer arrived but is
unusable after the client's retries -> ANSWER. Each case also checks: no traceback logged, the good request of
the same batch answered and cached, the failed one not cached.
"""

from __future__ import annotations

import logging

import pytest

from emopillars.cli.main import main
from emopillars.llm import ChatRequest, ErrorKind, SamplingParams, load_llm

pytestmark = pytest.mark.timeout(120)

SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}
HTTP_RETRIES = 2  # 3 attempts per call
MAX_RETRIES = 2  # 3 generations per unusable answer

T, F, A = ErrorKind.TRANSIENT, ErrorKind.FATAL, ErrorKind.ANSWER
FAULTS = [
    # (name, action, kind, server calls for the failing request)
    ("500", ("status", 500), T, HTTP_RETRIES + 1),
    ("502 html page from a proxy", ("html", 502), T, HTTP_RETRIES + 1),
    ("200 html page from a proxy", ("html", 200), T, HTTP_RETRIES + 1),
    ("503", ("status", 503), T, HTTP_RETRIES + 1),
    ("429 with Retry-After", ("status", 429, 0), T, HTTP_RETRIES + 1),
    ("408", ("status", 408), T, HTTP_RETRIES + 1),
    ("409", ("status", 409), T, HTTP_RETRIES + 1),
    ("425", ("status", 425), T, HTTP_RETRIES + 1),
    ("dropped connection", ("drop",), T, HTTP_RETRIES + 1),
    ("reset connection", ("reset",), T, HTTP_RETRIES + 1),
    ("truncated JSON body", ("garbage",), T, HTTP_RETRIES + 1),
    ("401", ("status", 401), F, 1),
    ("403", ("status", 403), F, 1),
    ("404", ("status", 404), F, 1),
    ("400", ("status", 400), F, 1),
    ("422", ("status", 422), F, 1),
    ("empty choices", ("empty_choices",), A, MAX_RETRIES + 1),
    ("null content", ("null_content",), A, MAX_RETRIES + 1),
    ("length cut-off", ("length", '{"echo": "cu'), A, MAX_RETRIES + 1),
    ("answer cut inside a string", ("ok", '{"echo": "cut mid-str'), A, MAX_RETRIES + 1),
    ("not JSON", ("ok", "I cannot answer that."), A, MAX_RETRIES + 1),
    ("schema-invalid", ("ok", '{"other": 1}'), A, MAX_RETRIES + 1),
]


def _llm(server, tmp_path, **kw):
    options = dict(
        timeout=30,
        http_retries=HTTP_RETRIES,
        backoff_base=0.001,
        backoff_max=0.002,
        retry_after_max=0.01,
        server="generic",
        concurrency=4,
        max_retries=MAX_RETRIES,
    )
    options.update(kw)
    return load_llm(f"openai:{server.url}#fake-model", cache_path=tmp_path / "cache.sqlite", **options)


def _req(key: str, schema=SCHEMA) -> ChatRequest:
    return ChatRequest.from_prompt(key, params=SamplingParams(max_tokens=32), schema=schema, tag=key)


def _no_traceback(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(("name", "action", "kind", "calls"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_gets_its_error_kind_and_is_never_cached_fault_server(
    fake_server, tmp_path, caplog, name, action, kind, calls
):
    caplog.set_level(logging.DEBUG)
    fake_server.script("bad", [("always", action)])
    with _llm(fake_server, tmp_path) as llm:
        bad, good = llm.generate([_req("bad"), _req("good")])
        entries = len(llm.cache)
    assert bad.error and bad.error_kind == kind, (bad.error, bad.error_kind)
    assert bad.call_failed == (kind != ErrorKind.ANSWER)
    assert fake_server.calls_for("bad") == calls
    if kind == ErrorKind.ANSWER:
        assert bad.parsed is None or "schema" in bad.error  # a cut-off answer keeps no parsed value
    assert good.ok and good.parsed["echo"] == "good" and good.error_kind is None
    assert entries == 1  # the good answer only
    _no_traceback(caplog)


@pytest.mark.parametrize("action", [("empty_choices",), ("null_content",)])
def test_empty_answers_to_free_text_requests_are_answer_errors_fault_server(fake_server, tmp_path, action):
    fake_server.script("free", [("always", action)])
    with _llm(fake_server, tmp_path, max_retries=1) as llm:
        [response] = llm.generate([_req("free", schema=None)])
        assert len(llm.cache) == 0
    assert response.error_kind == ErrorKind.ANSWER and fake_server.calls_for("free") == 2


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, ["refused the API key", "EMOPILLARS_API_KEY"]),
        (403, ["may not use model fake-model"]),
        (404, ["unknown model 'fake-model' or wrong URL"]),
    ],
)
def test_auth_and_model_errors_stop_the_batch_at_once_fault_server(
    fake_server, tmp_path, monkeypatch, caplog, status, says
):
    """/models answers fine, every chat request answers 401/403/404: all FATAL, few calls, a message to act on."""
    monkeypatch.delenv("EMOPILLARS_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_server.configure(chat_status=status)
    with _llm(fake_server, tmp_path, http_retries=5, concurrency=4) as llm:
        responses = llm.generate([_req(f"row{i}") for i in range(40)])
        assert len(llm.cache) == 0
    assert all(r.error_kind == ErrorKind.FATAL and r.call_failed for r in responses)
    assert len(fake_server.bodies) <= 4  # no retries of a FATAL status; nothing sent after the first one
    first = next(r for r in responses if not r.error.startswith("not sent"))
    assert f"HTTP {status}" in first.error and all(s in first.error for s in says), first.error
    assert all(f"HTTP {status}" in r.error for r in responses)
    _no_traceback(caplog)


def test_wrong_model_name_lists_the_served_models_fault_server(fake_server, tmp_path):
    fake_server.configure(models=["qwen-7b", "mistral-7b"], strict_model=True)
    llm = load_llm(f"openai:{fake_server.url}#qwen-7B", cache_path=tmp_path / "c.sqlite", http_retries=3)
    [response] = llm.generate([_req("x")])
    llm.close()
    assert response.error_kind == ErrorKind.FATAL
    assert "does not serve model 'qwen-7B'" in response.error and "it serves: qwen-7b, mistral-7b" in response.error
    assert fake_server.calls_for("x") == 1


def test_cli_check_says_what_to_fix_on_401_chat_fault_server(fake_server, capsys, monkeypatch):
    monkeypatch.setenv("EMOPILLARS_API_KEY", "sk-revoked-KEY")
    fake_server.configure(chat_status=401)
    assert main(["llm", "check", "--llm", f"openai:{fake_server.url}#fake-model", "--no-cache"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()[-1]
    assert "fatal" in err and "HTTP 401" in err and "wrong, revoked or lacks access" in err
    assert "sk-revoked-KEY" not in captured.err + captured.out and "Traceback" not in captured.err


def test_outage_mid_run_then_restart_fault_server(make_fake_server, tmp_path, caplog):
    """The server dies in the middle of a request: that request and the ones after it are TRANSIENT and not
    cached; after a restart on the same port the same LLM answers them and reuses what was cached."""
    server = make_fake_server()
    with _llm(server, tmp_path, concurrency=1, http_retries=1) as llm:
        first = llm.generate([_req(f"a{i}") for i in range(3)])  # keep-alive connections are now pooled
        server.script("dies", [("die",)])
        second = llm.generate([_req("b0"), _req("dies"), _req("b2")])
        assert server.wait_exit() == 3
        after = llm.generate([_req("b3")])
        server.start()  # same port
        third = llm.generate([_req(f"a{i}") for i in range(3)] + [_req("b0"), _req("dies"), _req("b2"), _req("b3")])
        cache_hits = llm.metrics.cache_hits
    assert all(r.ok for r in first) and second[0].ok
    assert [r.error_kind for r in second[1:] + after] == [ErrorKind.TRANSIENT] * 3
    assert all(r.ok for r in third) and [r.parsed["echo"] for r in third][-3:] == ["dies", "b2", "b3"]
    assert cache_hits == 4  # a0-a2 and b0; the failed ones were asked again
    assert len(server.bodies) == 3  # the restarted server saw only the three that had failed
    _no_traceback(caplog)


def test_every_error_has_a_kind_fault_server(fake_server, tmp_path):
    """Whatever the mix of faults in one batch, no response has an error without an error_kind."""
    mix = [("status", 500), ("drop",), ("empty_choices",), ("ok", "nope"), ("html", 200), ("status", 401)]
    for i, action in enumerate(mix):
        fake_server.script(f"m{i}", [("always", action)])
    with _llm(fake_server, tmp_path, concurrency=1) as llm:
        responses = llm.generate([_req(f"m{i}") for i in range(len(mix))] + [_req("after")])
    assert all(r.error_kind in ErrorKind.ALL for r in responses if r.error)
    assert all(r.error_kind is None for r in responses if not r.error)
    kinds = [r.error_kind for r in responses]
    assert kinds == [ErrorKind.TRANSIENT, ErrorKind.TRANSIENT, ErrorKind.ANSWER, ErrorKind.ANSWER] + [
        ErrorKind.TRANSIENT,
        ErrorKind.FATAL,
        ErrorKind.FATAL,
    ]
    assert responses[-1].error.startswith("not sent") and "HTTP 401" in responses[-1].error
