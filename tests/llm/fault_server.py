"""A scriptable OpenAI-compatible fault server, run in its own process: ``python fault_server.py [--port N]``.

It stands in for a misbehaving real server: the faults it injects (429 with Retry-After, 5xx, 401/403/404,
a wrong model name, dropped and reset connections, answers that hang until released, truncated JSON, HTML
bodies, empty choices, null content, ``length`` cut-offs, a crash mid-request) cannot be ordered from a real
one. It runs in a separate process so that the client under test shares nothing with it but real HTTP
(or https with ``--tls-cert``), and so that a test can kill it (an outage) and start it again on the same port.

Stdlib only. On start it prints ``READY <port>`` on stdout. Tests drive it through ``/_control/*``:

- ``POST /_control/reset`` ``{config}``: forget scripts, bodies and counters, release hanging requests, then
  apply the config: ``owned_by``, ``version``, ``models`` (ids listed by ``/models``), ``strict_model``
  (chat for a model not in ``models`` answers 404 as vLLM does), ``models_status`` (``/models`` answers
  this status instead of the list), ``chat_status`` (every chat request answers
  this status), ``cut_every`` (every Nth answer is cut inside its last string), ``repair_every`` (every Nth
  answer gets a trailing comma: broken syntax, no lost content), ``story`` (answers carry a long ``story``).
- ``POST /_control/script`` ``{"key": K, "actions": [...]}``: behaviours for chat requests whose last user
  message is K; each request consumes one action, then the default answer applies.
- ``GET /_control/bodies``: the chat request bodies and headers received so far.
- ``GET /_control/await_hanging?n=N``: returns once N requests are hanging (blocks; the test's sync point).
- ``POST /_control/release``: hanging requests answer normally.

Actions: ``["ok", text]``, ``["length", text]``, ``["status", code, retry_after]``, ``["html", code]``,
``["drop"]`` (close without an answer), ``["reset"]`` (TCP RST), ``["garbage"]`` (200, body not JSON),
``["chunked", text]``, ``["empty_choices"]``, ``["null_content"]``, ``["hang"]`` (until released, then
answer), ``["die"]`` (the process exits mid-request), ``["always", action]`` (repeat forever).
The default answer is the JSON ``{"echo": K, "seed": SEED}`` (plus ``"story"`` when configured).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STORY = "The letter fell behind the old oven and stayed there for eleven winters before anyone looked."
DEFAULT_CONFIG = {
    "owned_by": "fake",
    "version": None,
    "models": ["fake-model"],
    "models_status": 200,
    "strict_model": False,
    "chat_status": None,
    "cut_every": 0,
    "repair_every": 0,
    "story": False,
}


def story_for(key: str) -> str:
    """The full story the server sends for ``key`` (tests compare answers against it)."""
    return f"{key}: {STORY} {STORY}"


class State:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.release = threading.Event()
        self.reset({})

    def reset(self, config: dict) -> None:
        with self.lock:
            if hasattr(self, "release"):
                self.release.set()  # let anything still hanging from before go
            self.release = threading.Event()
            self.config = {**DEFAULT_CONFIG, **config}
            self.scripts: dict[str, list] = {}
            self.bodies: list[dict] = []
            self.headers: list[dict] = []
            self.chat_count = 0
            self.hanging = 0
            self.lock.notify_all()

    def next_action(self, key: str) -> list:
        queue = self.scripts.get(key)
        if not queue:
            return ["ok", None]
        action = queue[0]
        if action[0] == "always":
            return action[1]
        return queue.pop(0)


STATE = State()


def completion(text, finish: str = "stop") -> dict:
    return {
        "id": "cmpl-fault",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text or "") // 4), "total_tokens": 10},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    # -- GET ------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        config = STATE.config
        if url.path == "/_control/bodies":
            with STATE.lock:
                self._json(200, {"bodies": STATE.bodies, "headers": STATE.headers, "chat_count": STATE.chat_count})
        elif url.path == "/_control/await_hanging":
            n = int(parse_qs(url.query).get("n", ["1"])[0])
            with STATE.lock:
                ok = STATE.lock.wait_for(lambda: STATE.hanging >= n, timeout=120)
                hanging = STATE.hanging
            self._json(200 if ok else 504, {"hanging": hanging})
        elif url.path.endswith("/models") and config["models_status"] != 200:
            self._json(config["models_status"], {"error": {"message": "no model list here"}})
        elif url.path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": config["owned_by"]} for m in config["models"]]
            self._json(200, {"object": "list", "data": data})
        elif url.path == "/version" and config["version"]:
            self._json(200, {"version": config["version"]})
        else:
            self._json(404, {"error": "not found"})

    # -- POST -----------------------------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_control/"):
            self._control(url.path, json.loads(raw or b"{}"))
            return
        if not url.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {url.path}"}})
            return
        body = json.loads(raw or b"{}")
        key = body["messages"][-1]["content"]
        with STATE.lock:
            STATE.bodies.append(body)
            STATE.headers.append(dict(self.headers))
            STATE.chat_count += 1
            count = STATE.chat_count
            action = STATE.next_action(key)
            config = dict(STATE.config)
            release = STATE.release
        try:
            self._chat(action, body, key, count, config, release)
        except (BrokenPipeError, ConnectionResetError, OSError):  # the client gave up (timeout): fine
            self.close_connection = True

    def _control(self, path: str, data: dict) -> None:
        if path == "/_control/reset":
            STATE.reset(data)
        elif path == "/_control/script":
            with STATE.lock:
                STATE.scripts[data["key"]] = [list(a) for a in data["actions"]]
        elif path == "/_control/release":
            STATE.release.set()
        else:
            self._json(404, {"error": f"no control {path}"})
            return
        self._json(200, {"ok": True})

    def _chat(self, action: list, body: dict, key: str, count: int, config: dict, release) -> None:
        kind = action[0]
        if kind == "hang":
            with STATE.lock:
                STATE.hanging += 1
                STATE.lock.notify_all()
            try:
                release.wait()
            finally:
                with STATE.lock:
                    STATE.hanging -= 1
            kind, action = "ok", ["ok", None]
        if kind == "die":
            os._exit(3)
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if kind == "garbage":
            self._raw(200, b'{"choices": [ {"message": ')
            return
        if kind == "html":
            page = f"<html><body><h1>{action[1]} Bad Gateway</h1><hr>nginx</body></html>".encode()
            self._raw(action[1], page, content_type="text/html")
            return
        if kind == "status":
            headers = {"Retry-After": str(action[2])} if len(action) > 2 and action[2] is not None else {}
            self._json(action[1], {"error": {"message": f"injected {action[1]}", "code": action[1]}}, headers)
            return
        if kind == "empty_choices":
            self._json(200, {"id": "x", "object": "chat.completion", "choices": [], "usage": {}})
            return
        if kind == "null_content":
            self._json(200, completion(None))
            return
        if kind == "chunked":
            payload = json.dumps(completion(action[1])).encode()
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
        status = config["chat_status"]
        if status:
            self._json(status, {"error": {"message": f"injected {status} for every chat request", "code": status}})
            return
        if config["strict_model"] and body.get("model") not in config["models"]:
            message = f"The model `{body.get('model')}` does not exist."
            self._json(404, {"object": "error", "message": message, "type": "NotFoundError", "code": 404})
            return
        text = action[1]
        if text is None:
            answer = {"echo": key, "seed": body.get("seed")}
            if config["story"]:
                answer["story"] = story_for(key)
            text = json.dumps(answer)
            if config["cut_every"] and count % config["cut_every"] == 0:
                text = text[: len(text) - 17]  # inside the last string: content is lost
            elif config["repair_every"] and count % config["repair_every"] == 0:
                text = text[:-1] + ",}"  # a trailing comma: broken syntax, nothing lost
        self._json(200, completion(text, "length" if kind == "length" else "stop"))

    # -- helpers --------------------------------------------------------------------------------------
    def _json(self, status: int, data, headers: dict | None = None) -> None:
        self._raw(status, json.dumps(data).encode(), headers)

    def _raw(self, status: int, payload: bytes, headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def main() -> int:
    parser = argparse.ArgumentParser(description="a scriptable OpenAI-compatible fault server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="serve https with this certificate (PEM) ...")
    parser.add_argument("--tls-key", help="... and this key")
    args = parser.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    # a deep accept queue: with the default of 5, a burst of concurrent connections on a loaded machine
    # overflows it and the kernel drops SYNs (the client then stalls for seconds per connection)
    ThreadingHTTPServer.request_queue_size = 1024
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    if args.tls_cert:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    print(f"READY {httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
