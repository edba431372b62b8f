"""Hanging requests: bounded by the timeout, logged with their tag, and never holding back the other answers.

The fault server (its own process) holds a request until the test releases it; the tests synchronise on
"the server holds N requests", "the callback saw N answers" and "the log line arrived", never on sleeps.
"""

from __future__ import annotations

import logging
import threading

import pytest

from emopillars.cli.main import main
from emopillars.llm import ChatRequest, ErrorKind, SamplingParams, load_llm

pytestmark = pytest.mark.timeout(120)

SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}
GUARD_S = 90  # a deadlock guard for waits, never an expectation about speed


def _req(key: str) -> ChatRequest:
    return ChatRequest.from_prompt(key, params=SamplingParams(max_tokens=32), schema=SCHEMA, tag=key)


class _LogEvent(logging.Handler):
    """Sets an event when a record whose message contains ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.event = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.text in message:
            self.messages.append(message)
            self.event.set()


@pytest.fixture
def log_event():
    handlers = []

    def make(text: str) -> _LogEvent:
        handler = _LogEvent(text)
        logging.getLogger("emopillars").addHandler(handler)
        logging.getLogger("emopillars").setLevel(logging.DEBUG)
        handlers.append(handler)
        return handler

    yield make
    for handler in handlers:
        logging.getLogger("emopillars").removeHandler(handler)


def test_one_hung_request_does_not_hold_back_the_others_fault_server(fake_server, tmp_path):
    fake_server.script("k3", [("hang",)])
    keys = [f"k{i}" for i in range(8)]
    landed: dict[int, object] = {}
    seven = threading.Event()

    def on_result(index, response):
        landed[index] = response
        if len(landed) == 7:
            seven.set()

    llm = load_llm(f"openai:{fake_server.url}#fake-model", cache_path=tmp_path / "c.sqlite", concurrency=8)
    results: list = []
    requests = [_req(k) for k in keys]
    worker = threading.Thread(target=lambda: results.extend(llm.generate(requests, on_result=on_result)))
    worker.start()
    try:
        assert seven.wait(GUARD_S), "the other answers were held back"
        assert sorted(landed) == [0, 1, 2, 4, 5, 6, 7]  # every answer but the hung one, while it hangs
        assert len(llm.cache) == 7  # and each is already in the cache: a kill now loses nothing
        fake_server.await_hanging(1)  # the hung request is still in the server
    finally:
        fake_server.release()
        worker.join(GUARD_S)
        llm.close()
    assert [r.parsed["echo"] for r in results] == keys


def test_hung_request_times_out_as_transient_and_is_logged_with_its_tag_fault_server(fake_server, tmp_path, log_event):
    fake_server.script("stuck", [("always", ("hang",))])
    timeouts = log_event("timed out after")
    llm = load_llm(
        f"openai:{fake_server.url}#fake-model",
        cache_path=tmp_path / "c.sqlite",
        timeout=1,
        http_retries=4,
        backoff_base=0.001,
    )
    stuck, quick = llm.generate([_req("stuck"), _req("quick")])
    entries = len(llm.cache)
    llm.close()
    assert stuck.error_kind == ErrorKind.TRANSIENT and stuck.call_failed
    assert "no answer within the 1 s timeout" in stuck.error and "gave up after 2 attempts" in stuck.error
    assert fake_server.calls_for("stuck") == 2  # a timed-out request is retried once, not http_retries times
    assert quick.ok and entries == 1
    mine = [m for m in timeouts.messages if "LLM request stuck timed out" in m]
    assert len(mine) == 2 and "retrying" in mine[0] and "giving up" in mine[1]


def test_slow_request_is_logged_once_with_its_tag_fault_server(fake_server, tmp_path, log_event):
    fake_server.script("slowpoke", [("hang",)])
    slow = log_event("no answer after")
    llm = load_llm(
        f"openai:{fake_server.url}#fake-model", cache_path=tmp_path / "c.sqlite", timeout=60, slow_after=0.2
    )
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(llm.generate([_req("slowpoke"), _req("fast")])))
    worker.start()
    try:
        assert slow.event.wait(GUARD_S), "no slow-request log line"
    finally:
        fake_server.release()
        worker.join(GUARD_S)
        llm.close()
    mine = [m for m in slow.messages if "slowpoke" in m]
    assert len(mine) == 1 and "LLM request slowpoke: no answer after 0.2 s" in mine[0]
    assert [r.ok for r in results] == [True, True]


def test_cli_check_timeout_option_fault_server(fake_server, capsys):
    from emopillars.cli.llm import CHECK_PROMPT

    fake_server.script(CHECK_PROMPT, [("always", ("hang",))])
    assert main(["llm", "check", "--llm", f"openai:{fake_server.url}#fake-model", "--no-cache", "--timeout", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "transient" in err[-1] and "no answer within the 1 s timeout" in err[-1]
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_cli_check_rejects_a_bad_timeout(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["llm", "check", "--llm", "openai:http://127.0.0.1:9/v1#m", "--timeout", value])
    assert exit_info.value.code == 2 and "--timeout" in capsys.readouterr().err


def test_default_timeout_and_in_process_backends(fake_server, tmp_path):
    llm = load_llm(f"openai:{fake_server.url}#fake-model", cache=False)
    assert llm.backend.timeout == 120.0
    llm.close()
    assert load_llm(f"openai:{fake_server.url}#fake-model", cache=False, timeout=7).backend.timeout == 7
    with pytest.raises(FileNotFoundError, match="model file not found"):  # not "unexpected keyword 'timeout'"
        load_llm(f"llamacpp:{tmp_path / 'absent.gguf'}", cache=False, timeout=5)
