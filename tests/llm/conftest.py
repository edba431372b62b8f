"""Fixtures for the LLM layer: a fault server in its own process, a free port, the small GGUFs.

The fault server (``fault_server.py``, stdlib ``http.server``) runs in a separate process and stands in for
a misbehaving real server: the faults it injects (429, 500, 401/403/404, hangs, dropped and reset
connections, truncated or unreadable bodies, a crash) cannot be ordered from a real one. The client under
test shares nothing with it but real HTTP. Tests that use it say ``fake_server`` or ``fault_server`` in
their names. Tests synchronise with it through its control endpoints (e.g. "a request is hanging now"),
never through sleeps.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

FAULT_SERVER = Path(__file__).with_name("fault_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultServer:
    """Client side of ``fault_server.py``: start, script, inspect, kill and restart the server process.

    ``script(key, actions)`` queues behaviours for chat requests whose last user message is ``key`` (see
    ``fault_server.py`` for the actions); ``configure(**config)`` resets the server with a configuration.
    """

    def __init__(self, port: int = 0, tls: tuple[str, str] | None = None, **config) -> None:
        self.port = port
        self.tls = tls
        self.process: subprocess.Popen | None = None
        self.start()
        if config:
            self.configure(**config)

    # -- process --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server process (on the same port as before, after a kill) and wait until it listens."""
        command = [sys.executable, str(FAULT_SERVER), "--port", str(self.port)]
        if self.tls:
            command += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.process.kill()
            raise RuntimeError(f"fault server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/v1"

    def kill(self) -> None:
        """SIGKILL, as an outage: open connections break, new ones are refused."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()
            self.process.stdout.close()

    def wait_exit(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        self.kill()

    # -- control --------------------------------------------------------------------------------------
    def _call(self, path: str, data: dict | None = None, timeout: float = 150) -> dict:
        body = None if data is None else json.dumps(data).encode()
        scheme = "https" if self.tls else "http"
        request = urllib.request.Request(f"{scheme}://127.0.0.1:{self.port}{path}", data=body)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        handlers: list = [urllib.request.ProxyHandler({})]  # never through a proxy a test configured
        if self.tls:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=self.tls[0])))
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            return json.loads(response.read())

    def configure(self, **config) -> None:
        self._call("/_control/reset", config)

    def script(self, key: str, actions: list) -> None:
        self._call("/_control/script", {"key": key, "actions": [list(a) for a in actions]})

    def await_hanging(self, n: int = 1) -> None:
        """Block until ``n`` chat requests are hanging in the server."""
        self._call(f"/_control/await_hanging?n={n}")

    def release(self) -> None:
        self._call("/_control/release", {})

    @property
    def bodies(self) -> list[dict]:
        return self._call("/_control/bodies")["bodies"]

    @property
    def headers(self) -> list[dict]:
        return self._call("/_control/bodies")["headers"]

    def calls_for(self, key: str) -> int:
        return sum(1 for body in self.bodies if body["messages"][-1]["content"] == key)


# One server process for the whole session, reset before each test: starting a process per test costs more
# than the tests themselves on a loaded machine. Tests that kill a server make their own (make_fake_server).
@pytest.fixture(scope="session")
def _shared_fault_server():
    server = FaultServer()
    yield server
    server.close()


@pytest.fixture
def fake_server(_shared_fault_server):
    if _shared_fault_server.process.poll() is not None:  # a test crashed it: start it again
        _shared_fault_server.start()
    _shared_fault_server.configure()
    yield _shared_fault_server
    _shared_fault_server.release()  # nothing may stay hanging into the next test


@pytest.fixture
def make_fake_server():
    servers = []

    def make(**config) -> FaultServer:
        servers.append(FaultServer(**config))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def unused_port() -> int:
    return free_port()


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
