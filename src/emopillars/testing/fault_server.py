"""An OpenAI-compatible server that answers the synthesis prompts like the stub and injects faults on command.

Not a model (see :mod:`emopillars.testing.stub_server`): healthy answers are the stub's deterministic
JSON. Faults follow :class:`Rule` s -- e.g. "every 4th labels request gets a truncated answer", "every
request after the 30th gets HTTP 503", "hold the 25th labels request until released" -- and can be
changed while the server runs, so one test can break a run, then heal the server and rerun. It runs
in its own process (:class:`FaultServerProcess`), as a real server would, and is driven over HTTP:

    python -m emopillars.testing.fault_server --port 8099 --rules '[{"fault": "status", "status": 401}]'

    GET  /v1/models                 always answers (the faults hit chat requests, as in the field)
    POST /v1/chat/completions       answers or fails by the rules; the served model id is "stub" and
                                    any other model name gets the 404 a real server sends
    GET  /control/stats             requests by step, faults applied, requests held now
    POST /control/rules             replace the rules (a JSON list; [] = healthy); counters restart
    POST /control/release           let every held request go ("block": answered, "hang": dropped)
    GET  /control/wait?held=N&timeout=S   return once N requests are held (HTTP 408 on timeout)

Faults (``Rule.fault``):

========================  ===========================================================================
``status``                HTTP ``Rule.status`` (default 500) with an OpenAI-style JSON error body
``wrong_model``           the 404 an OpenAI server sends for an unknown model
``drop``                  close the connection without an answer
``reset``                 reset the connection (TCP RST)
``hang``                  never answer (the client's timeout fires; released: connection closed)
``block``                 hold the request until released, then answer normally
``truncate``              HTTP 200 whose content is the JSON answer cut in the middle of a string
``html``                  HTTP 200 with an HTML page (a proxy's error page) instead of JSON
``empty_choices``         HTTP 200 with ``"choices": []``
``null_content``          HTTP 200 with ``"content": null``
``length``                HTTP 200, content cut, ``finish_reason: "length"``
``content``               HTTP 200 whose content is ``Rule.content`` (a well-formed but unhelpful answer)
========================  ===========================================================================
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from emopillars.testing.stub_server import answer, chat_completion, prompt_of, step_of

FAULTS = (
    "status",
    "wrong_model",
    "drop",
    "reset",
    "hang",
    "block",
    "truncate",
    "html",
    "empty_choices",
    "null_content",
    "length",
    "content",
)
SERVED_MODEL = "stub"


@dataclass
class Rule:
    """Which requests get a fault: those of ``step`` (any step when None), from the ``after``-th + 1 on, every
    ``every``-th of them, at most ``limit`` times."""

    fault: str
    step: str | None = None
    every: int = 1
    after: int = 0
    limit: int | None = None
    status: int = 500
    content: str | None = None

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if self.every < 1 or self.after < 0:
            raise ValueError("Rule.every must be >= 1 and Rule.after >= 0")

    @classmethod
    def parse(cls, value: Rule | dict) -> Rule:
        return value if isinstance(value, Rule) else cls(**value)


class _State:
    """Rules, counters and held requests, shared by the handler threads."""

    def __init__(self, rules) -> None:
        self.lock = threading.Condition()
        self.set_rules(rules)
        self.release_event = threading.Event()

    def set_rules(self, rules) -> None:
        with self.lock:
            self.rules = [Rule.parse(rule) for rule in rules]
            self.seen = [0] * len(self.rules)
            self.applied = [0] * len(self.rules)
            self.requests = 0
            self.by_step: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()
            self.held = 0

    def choose(self, step: str | None) -> Rule | None:
        """Count the request and return the first rule that applies to it."""
        with self.lock:
            self.requests += 1
            self.by_step[step or "other"] += 1
            chosen = None
            for i, rule in enumerate(self.rules):
                if rule.step is not None and rule.step != step:
                    continue
                self.seen[i] += 1
                n = self.seen[i] - rule.after
                if chosen is None and n > 0 and n % rule.every == 0:
                    if rule.limit is None or self.applied[i] < rule.limit:
                        self.applied[i] += 1
                        chosen = rule
            if chosen is not None:
                self.faults[chosen.fault] += 1
            return chosen

    def hold(self) -> None:
        """Wait until released (the request counts as held meanwhile)."""
        with self.lock:
            event = self.release_event
            self.held += 1
            self.lock.notify_all()
        try:
            event.wait()
        finally:
            with self.lock:
                self.held -= 1
                self.lock.notify_all()

    def release(self) -> None:
        with self.lock:
            event, self.release_event = self.release_event, threading.Event()
        event.set()

    def wait_held(self, n: int, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.held >= n, timeout=timeout)

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "by_step": dict(self.by_step),
                "faults": dict(self.faults),
                "held": self.held,
                "rules": [asdict(rule) for rule in self.rules],
            }


class _Handler(BaseHTTPRequestHandler):
    server_version = "emopillars-faults/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:
        pass

    @property
    def state(self) -> _State:
        return self.server.state

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data).encode())

    def _error(self, status: int, message: str, kind: str, code=None) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _read_body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    # -- routes -------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlparse(self.path)
        path = url.path.rstrip("/")
        if path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": SERVED_MODEL, "object": "model", "owned_by": "stub"}]})
        elif path == "/control/stats":
            self._json(200, self.state.stats())
        elif path == "/control/wait":
            query = parse_qs(url.query)
            n, timeout = int(query.get("held", ["1"])[0]), float(query.get("timeout", ["60"])[0])
            ok = self.state.wait_held(n, timeout)
            self._json(200 if ok else 408, self.state.stats())
        else:
            self._error(404, f"no route {path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        path = urlparse(self.path).path.rstrip("/")
        try:
            body = self._read_body()
        except ValueError:
            self._error(400, "invalid JSON", "invalid_request_error")
            return
        if path == "/control/rules":
            try:
                self.state.set_rules(body if isinstance(body, list) else body.get("rules", []))
            except (TypeError, ValueError) as exc:
                self._error(400, str(exc), "invalid_request_error")
                return
            self._json(200, self.state.stats())
        elif path == "/control/release":
            self.state.release()
            self._json(200, self.state.stats())
        elif path.endswith("/chat/completions"):
            self._chat(body)
        else:
            self._error(404, f"no route {path}", "not_found")

    def _chat(self, body: dict) -> None:
        prompt = prompt_of(body)
        rule = self.state.choose(step_of(prompt))
        model = body.get("model")
        if model != SERVED_MODEL:
            self._error(404, f"The model `{model}` does not exist.", "NotFoundError", code="model_not_found")
            return
        content = json.dumps(answer(prompt))
        request_id = f"faults-{self.state.requests}"
        fault = rule.fault if rule else None
        if fault is None or fault == "block":
            if fault == "block":
                self.state.hold()
            self._json(200, chat_completion(request_id, model, prompt, content))
        elif fault == "status":
            self._error(rule.status, f"injected HTTP {rule.status}", "server_error" if rule.status >= 500 else "error")
        elif fault == "wrong_model":
            self._error(404, f"The model `{model}` does not exist.", "NotFoundError", code="model_not_found")
        elif fault in ("drop", "hang"):
            if fault == "hang":
                self.state.hold()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif fault == "truncate":
            cut = _cut_in_string(content)
            self._json(200, chat_completion(request_id, model, prompt, cut))
        elif fault == "length":
            self._json(200, chat_completion(request_id, model, prompt, _cut_in_string(content), "length"))
        elif fault == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self._send(200, page, "text/html")
        elif fault == "empty_choices":
            data = chat_completion(request_id, model, prompt, content)
            data["choices"] = []
            self._json(200, data)
        elif fault == "null_content":
            self._json(200, chat_completion(request_id, model, prompt, None))
        elif fault == "content":
            self._json(200, chat_completion(request_id, model, prompt, rule.content or ""))


def _cut_in_string(content: str) -> str:
    """The JSON text cut in the middle of its last string value (what a dropped stream leaves)."""
    end = content.rfind('"', 0, len(content) - 2)  # the closing quote of the last string value
    start = content.rfind('"', 0, end)
    middle = (start + end) // 2 if start >= 0 and end > start + 2 else len(content) // 2
    return content[: max(middle, 1)]


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the default 5 overflows under a burst of connections on a loaded machine

    def __init__(self, host: str = "127.0.0.1", port: int = 0, rules=()) -> None:
        super().__init__((host, port), _Handler)
        self.state = _State(rules)

    def handle_error(self, request, client_address) -> None:  # a client that went away: not worth a traceback
        pass

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


class FaultServerProcess:
    """The fault server in its own process; ``url`` is its OpenAI base URL. Use as a context manager.

    The control methods talk to it over HTTP, so a test synchronises on the server's own events
    (``wait_held``) instead of sleeping.
    """

    def __init__(self, rules=(), *, python: str = sys.executable) -> None:
        rules_json = json.dumps([asdict(Rule.parse(rule)) for rule in rules])
        self.proc = subprocess.Popen(
            [python, "-m", "emopillars.testing.fault_server", "--port", "0", "--rules", rules_json],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if "fault server at" not in line:
            self.proc.kill()
            raise RuntimeError(f"the fault server did not start: {line!r}")
        self.url = line.rsplit(" ", 1)[-1].strip()
        self.root = self.url[: -len("/v1")]

    def _call(self, method: str, path: str, data=None, timeout: float = 30.0) -> dict:
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(self.root + path, data=body, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 408:
                raise TimeoutError(f"fault server: {path} timed out ({exc.read()[:200]!r})") from None
            raise

    def stats(self) -> dict:
        return self._call("GET", "/control/stats")

    def set_rules(self, rules) -> dict:
        return self._call("POST", "/control/rules", [asdict(Rule.parse(rule)) for rule in rules])

    def heal(self) -> dict:
        """No more faults, and every held request let go."""
        stats = self.set_rules([])
        self.release()
        return stats

    def release(self) -> dict:
        return self._call("POST", "/control/release", {})

    def wait_held(self, n: int = 1, timeout: float = 120.0) -> dict:
        """Return once ``n`` requests are held by ``block``/``hang`` rules (TimeoutError after ``timeout``)."""
        return self._call("GET", f"/control/wait?held={n}&timeout={timeout}", timeout=timeout + 30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> FaultServerProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--rules", default="[]", help="JSON list of rules (see the module doc)")
    args = parser.parse_args(argv)
    server = FaultServer(port=args.port, rules=json.loads(args.rules))
    print(f"fault server at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
