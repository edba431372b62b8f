"""The engine choice and the Ray engine's endpoint router, without Ray: real stub servers, a dead port."""

from __future__ import annotations

import socket
import sys

import pytest

from emopillars.llm.types import ChatRequest
from emopillars.synth import SynthesisConfig, SynthesisError
from emopillars.synth.engines import load_engine
from emopillars.synth.engines.ray_engine import _ROUTERS, ClientOptions, RayEngine, Router, call_batch, close_routers
from emopillars.synth.steps import STEP_MODULES, make_step
from emopillars.testing.stub_server import start_stub_server


@pytest.fixture
def stubs():
    servers = [start_stub_server(), start_stub_server()]
    yield servers
    for server in servers:
        server.shutdown()


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _label_requests(n: int) -> list[ChatRequest]:
    step = make_step(STEP_MODULES["labels"])
    rows = [{"id": f"u{i}", "utterance": f"I keep thinking about the lantern number {i}."} for i in range(n)]
    return step.build_requests(rows)


def test_router_spreads_calls_over_live_endpoints_stub_server(stubs):
    options = ClientOptions(tuple(f"openai:{s.url}#stub" for s in stubs), cache=False)
    with Router(options) as router:
        responses, where, failovers = router.generate(_label_requests(10))
        clients = list(router.llms)
    assert not router.llms and all(c.backend._session is None for c in clients)  # closed: no session left open
    assert all(r.ok and r.parsed for r in responses)
    assert sorted(set(where)) == [0, 1] and sum(failovers) == 0
    assert stubs[0].requests + stubs[1].requests == 10 and min(stubs[0].requests, stubs[1].requests) >= 4


def test_router_fails_over_from_a_dead_endpoint_stub_server(stubs):
    options = ClientOptions((f"openai:{_dead_url()}#stub", f"openai:{stubs[0].url}#stub"), cache=False)
    with Router(options) as router:
        responses, where, failovers = router.generate(_label_requests(6))
        assert all(r.ok for r in responses) and set(where) == {1}
        assert sum(failovers) == 3  # the dead endpoint's share went to the live one
        assert router.live() == [1]  # and the dead one is out of the rotation for a while
        responses, where, failovers = router.generate(_label_requests(4))
        assert set(where) == {1} and sum(failovers) == 0


def test_call_batch_returns_checkpoint_lines_and_failed_calls_stub_server(stubs):
    import orjson

    step = make_step(STEP_MODULES["labels"])
    rows = [{"id": f"u{i}", "utterance": f"The ferry left without me {i}."} for i in range(3)]
    batch = {"row": [orjson.dumps(row) for row in rows]}
    ok = call_batch(batch, step=step, options=ClientOptions((f"openai:{stubs[0].url}#stub",), cache=False))
    assert ok["id"] == ["u0", "u1", "u2"] and all(ok["line"]) and not any(ok["kind"])
    assert orjson.loads(ok["line"][0])["outputs"][0]["id"] == "u0"
    dead = ClientOptions((f"openai:{_dead_url()}#stub",), cache=False, timeout=5)
    failed = call_batch(batch, step=step, options=dead)
    assert not any(failed["line"]) and set(failed["kind"]) == {"transient"}  # a failed call is never a line
    close_routers()  # what the worker process does when it exits
    assert not _ROUTERS


def test_engine_choice_and_errors(tmp_path, monkeypatch):
    assert load_engine("local") is None and load_engine(None) is None
    assert isinstance(load_engine("ray", address="auto"), RayEngine)
    with pytest.raises(ValueError, match="unknown synthesis engine"):
        load_engine("spark")
    config = SynthesisConfig(corpus=str(tmp_path / "c.jsonl"), out_dir=str(tmp_path / "o"), llm="vllm:some/model")
    with pytest.raises(SynthesisError, match="vllm serve"):
        RayEngine().open_llm(config)
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    with pytest.raises(SynthesisError, match=r"emopillars\[ray\]"):
        RayEngine().start()
