"""Fixtures for the LLM layer: a scriptable fake OpenAI-compatible server, a free port, the small GGUFs.

The fake server (stdlib ``http.server`` in a thread) stands in for a misbehaving real server: the
faults it injects (429, 500, slow answers, dropped connections, unreadable bodies) cannot be
produced on demand by a real one. Tests that use it say ``fake_server`` in their names.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeServer:
    """Answers chat completions. ``script(key, actions)`` queues behaviours for requests whose last user
    message is ``key``; each request consumes one action, then the default (a JSON echo) applies.

    Actions: ``("ok", text)``, ``("length", text)``, ``("status", code, retry_after)``, ``("sleep", s)``
    (then answer normally), ``("drop",)`` (close the socket without a response), ``("garbage",)``
    (200 with a body that is not JSON), ``("chunked", text)`` (a chunked body, then close),
    ``("always", action)`` (repeat forever).
    """

    def __init__(self, owned_by: str = "fake", version: str | None = None) -> None:
        self.owned_by = owned_by
        self.version = version
        self.scripts: dict[str, list[tuple]] = defaultdict(list)
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake-model", "owned_by": server.owned_by}]})
                elif self.path == "/version" and server.version:
                    self._json(200, {"version": server.version})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                key = body["messages"][-1]["content"]
                with server.lock:
                    server.bodies.append(body)
                    server.headers.append(dict(self.headers))
                    action = server._next_action(key)
                try:
                    self._act(action, body, key)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                    pass

            def _act(self, action: tuple, body: dict, key: str) -> None:
                kind = action[0]
                if kind == "sleep":
                    time.sleep(action[1])
                    action = ("ok", None)
                    kind = "ok"
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if kind == "chunked":  # the same answer with Transfer-Encoding: chunked and Connection: close
                    payload = json.dumps(_completion(action[1], "stop")).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for i in range(0, len(payload), 17):
                        piece = payload[i : i + 17]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.close_connection = True
                    return
                if kind == "garbage":
                    self._raw(200, b'{"choices": [ {"message": ')
                    return
                if kind == "status":
                    headers = {"Retry-After": str(action[2])} if len(action) > 2 and action[2] is not None else {}
                    self._json(action[1], {"error": {"message": f"injected {action[1]}"}}, headers)
                    return
                text = action[1] if action[1] is not None else json.dumps({"echo": key, "seed": body.get("seed")})
                finish = "length" if kind == "length" else "stop"
                self._json(200, _completion(text, finish))

            def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
                self._raw(status, json.dumps(data).encode(), headers)

            def _raw(self, status: int, payload: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _next_action(self, key: str) -> tuple:
        queue = self.scripts.get(key)
        if not queue:
            return ("ok", None)
        action = queue[0]
        if action[0] == "always":
            return action[1]
        return queue.pop(0)

    def script(self, key: str, actions: list[tuple]) -> None:
        self.scripts[key] = list(actions)

    def calls_for(self, key: str) -> int:
        return sum(1 for body in self.bodies if body["messages"][-1]["content"] == key)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion(text: str, finish: str) -> dict:
    return {
        "id": "cmpl-fake",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text) // 4), "total_tokens": 10},
    }


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def fake_server():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def make_fake_server():
    servers = []

    def make(**kwargs) -> FakeServer:
        servers.append(FakeServer(**kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def qwen_gguf():
    """The packaged Qwen2.5-Coder-0.5B GGUF (assembled once into the user cache)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from emopillars.llm.models import ModelNotAvailable, model_path

    try:
        return model_path("qwen2.5-0.5b")
    except ModelNotAvailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def smollm_gguf():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from emopillars.llm.models import ModelNotAvailable, model_path

    try:
        return model_path("smollm2-135m")
    except ModelNotAvailable as exc:
        pytest.skip(str(exc))
