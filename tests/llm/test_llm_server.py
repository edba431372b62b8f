"""The OpenAI-compatible backend against a real llama.cpp server (``python -m llama_cpp.server``) on 127.0.0.1,
serving the same packaged Qwen2.5-Coder-0.5B GGUF as the embedded backend."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from emopillars.cli.main import main
from emopillars.llm import ChatRequest, SamplingParams, load_llm

pytestmark = [pytest.mark.llm, pytest.mark.timeout(600)]

SCHEMA = {
    "type": "object",
    "properties": {
        "emotion": {"type": "string", "enum": ["joy", "sadness", "anger", "fear"]},
        "why": {"type": "string", "maxLength": 100},
    },
    "required": ["emotion", "why"],
}


@pytest.fixture(scope="module")
def llama_server(qwen_gguf, tmp_path_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(qwen_gguf), "--host", "127.0.0.1",
               "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048",
               "--model_alias", "qwen2.5-0.5b",
               "--verbose", "False"]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not come up within 180 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_structured_requests_against_llama_cpp_server(llama_server, tmp_path):
    llm = load_llm(f"openai:{llama_server}#qwen2.5-0.5b", cache_path=tmp_path / "c.sqlite", concurrency=2, timeout=120)
    requests = [
        ChatRequest.from_prompt(f"{text} Reply with JSON: the emotion and a short reason.",
                                params=SamplingParams(max_tokens=48), schema=SCHEMA, tag=text)
        for text in ["My best friend moved away today.", "Someone keyed my car!"]
    ]  # fmt: skip
    responses = llm.generate(requests)
    assert llm.backend.server == "llamacpp"  # detected from /models: the bounded grammar was sent
    for response in responses:
        assert response.ok, response.error
        assert response.parsed["emotion"] in {"joy", "sadness", "anger", "fear"}
        assert "\n" not in response.parsed["why"]
        assert response.completion_tokens > 0
    again = llm.generate(requests)
    assert all(r.cached for r in again) and llm.metrics.calls == 2
    llm.close()


def test_cli_check_against_the_server(llama_server, capsys):
    assert main(["llm", "check", "--llm", f"openai:{llama_server}#qwen2.5-0.5b", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "OpenAI-compatible server" in out and "parsed:" in out and '"emotion"' in out
