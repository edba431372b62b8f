"""A deterministic OpenAI-compatible stub server that answers the synthesis prompts with valid JSON.

Not a model: it recognises which step a prompt belongs to (by the package templates' wording) and
returns a well-formed answer derived from a hash of the prompt, instantly or after ``delay`` seconds.
Two uses: tests of the runner's kill/resume behaviour (fast and deterministic, where a real model
would make a SIGKILL land at random places and take minutes), and measuring the runner's own
overhead against a zero-latency backend (``benchmarks/synthesis.py``).

    python -m emopillars.testing.stub_server --port 8099 [--delay 0.01]
    emopillars synthesize --llm openai:http://127.0.0.1:8099/v1#stub ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emopillars.taxonomy import EMOTIONS

_NOUNS = (
    "lantern bridge letter garden ticket river market violin harbour orchard tower mirror carriage "
    "kettle map compass ledger window ribbon anchor meadow chapel wagon candle cellar lighthouse "
    "fountain passport telescope quilt barn workshop station saddle piano attic ferry clock vineyard"
).split()
_PLACES = "square, cottage, pier, hall, forest, library, courtyard, stable, bakery, pub".split(", ")


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _pick(seq, *parts):
    return seq[_h(*parts) % len(seq)]


def _between(text: str, start: str, end: str = "\n") -> str:
    i = text.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = text.find(end, i)
    return text[i : j if j >= 0 else len(text)].strip()


# The wording of each step's package template that tells its prompts apart.
STEP_MARKERS = {
    "actors": "list its characters",
    "utterances": "thinking-aloud utterances",
    "labels": "Which emotions does the utterance",
    "context": "Write the situation",
    "cleaning": "Edit this text lightly",
    "rewriting": "Rewrite this thought",
}


def step_of(prompt: str) -> str | None:
    """Which synthesis step a prompt belongs to (``None`` for any other prompt)."""
    return next((step for step, marker in STEP_MARKERS.items() if marker in prompt), None)


def prompt_of(body: dict) -> str:
    """The non-system text of a chat request body."""
    messages = body.get("messages") or []
    return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") != "system")


def chat_completion(
    request_id: str, model: str, prompt: str, content: str | None, finish_reason: str = "stop"
) -> dict:
    """An OpenAI chat-completion body carrying ``content``."""
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": len(prompt) // 4,
            "completion_tokens": len(content or "") // 4,
            "total_tokens": len(prompt) // 4 + len(content or "") // 4,
        },
    }


def answer(prompt: str) -> dict:
    """The JSON answer for one synthesis prompt (see module doc)."""
    if "list its characters" in prompt:
        story = _between(prompt, "Story:\n", "\n\nAnswer")
        names: list[str] = []
        for word in re.findall(r"\b[A-Z][a-z]{2,}\b", story):
            if word not in names and word not in {"The", "When", "After", "She", "They", "His", "Her", "But"}:
                names.append(word)
        return {"characters": names[:3] or ["Nobody"]}
    if "thinking-aloud utterances" in prompt:
        actor = _between(prompt, "Character: ")
        emotions = re.findall(r"^\d+\. ([a-z]+)$", prompt, flags=re.MULTILINE)
        items = []
        for i, emotion in enumerate(emotions):
            a, b, c = (_pick(_NOUNS, actor, i, k) for k in range(3))
            items.append({"emotion": emotion, "text": f"I keep thinking about the {a} and the {b} near the {c}."})
        return {"utterances": items}
    if "Which emotions does the utterance" in prompt:
        # the utterance to label follows the question (the prompt's examples come before it)
        question = prompt[prompt.find("Which emotions does the utterance") :]
        utterance = _between(question, 'Utterance: "', '"\n')
        first = _pick(EMOTIONS, utterance, 1)
        second = _pick([e for e in EMOTIONS if e != first], utterance, 2)
        return {"emotions": [{"emotion": first, "level": 0.8}, {"emotion": second, "level": 0.4}]}
    if "Write the situation" in prompt:
        actor = _between(prompt, "this story, ", " thought:")
        utterance = _between(prompt, 'thought: "', '"\n')
        noun, place = _pick(_NOUNS, utterance, "c"), _pick(_PLACES, utterance, "p")
        return {"context": f"Earlier that day {actor} walked to the {place}. A stranger asked about the {noun}."}
    if "Edit this text lightly" in prompt:
        return {"cleaned_context": _between(prompt, ':\n"', '"\n')}
    if "Rewrite this thought" in prompt:
        utterance = _between(prompt, 'thought: "', '"\n')
        return {"rewritten": f"So the {_pick(_NOUNS, utterance, 'r')} is still there, next to the old gate."}
    return {"answer": "unknown prompt"}


class _Handler(BaseHTTPRequestHandler):
    server_version = "emopillars-stub/1"
    protocol_version = "HTTP/1.1"  # keep-alive: no new connection per request
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (stopped run, timeout): fine
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        elif self.path.rstrip("/").endswith("/stats"):
            self._send(200, {"requests": self.server.requests})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "invalid JSON"}})
            return
        with self.server.lock:
            self.server.requests += 1
        if self.server.delay:
            time.sleep(self.server.delay)
        prompt = prompt_of(body)
        content = json.dumps(answer(prompt))
        self._send(200, chat_completion(f"stub-{self.server.requests}", body.get("model") or "stub", prompt, content))


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 overflows under a burst of connections on a loaded machine

    def __init__(self, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0) -> None:
        super().__init__((host, port), _Handler)
        self.delay = delay
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


def start_stub_server(port: int = 0, delay: float = 0.0) -> StubServer:
    """Start a stub server in a daemon thread; ``server.url`` is its OpenAI base URL; ``shutdown()`` stops it."""
    server = StubServer(port=port, delay=delay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    args = parser.parse_args(argv)
    server = StubServer(port=args.port, delay=args.delay)
    print(f"stub server at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
