"""The embedded backend: the packaged Qwen2.5-Coder-0.5B GGUF answers a structured request with valid JSON."""

from __future__ import annotations

import pytest

from emopillars.llm import ChatRequest, SamplingParams, load_llm
from emopillars.llm.parsing import check_schema

pytestmark = [pytest.mark.llm, pytest.mark.timeout(600)]

SCHEMA = {
    "type": "object",
    "properties": {
        "emotion": {"type": "string", "enum": ["joy", "sadness", "anger", "fear", "surprise"]},
        "utterance": {"type": "string", "maxLength": 80},
    },
    "required": ["emotion", "utterance"],
}


@pytest.fixture(scope="module")
def qwen(qwen_gguf):
    llm = load_llm("llamacpp:qwen2.5-0.5b", cache=False, n_ctx=2048)
    yield llm
    llm.close()


def test_structured_request_gives_valid_json(qwen):
    situations = ["wins a long-awaited award", "loses a beloved dog", "hears a noise downstairs at night"]
    requests = [
        ChatRequest.from_prompt(
            f"A woman {s}. Reply with JSON: her emotion and one short sentence she says.",
            system="You write short, natural dialogue.",
            params=SamplingParams(max_tokens=48),
            schema=SCHEMA,
            tag=s,
        )
        for s in situations
    ]
    responses = qwen.generate(requests, progress=True)
    for response in responses:
        assert response.ok, response.error
        assert check_schema(response.parsed, SCHEMA) is None
        assert "\n" not in response.parsed["utterance"] and len(response.parsed["utterance"]) <= 80
        assert response.completion_tokens > 0 and response.finish_reason == "stop"
    assert qwen.metrics.calls >= 3 and qwen.metrics.completion_tokens > 0 and qwen.metrics.tokens_per_s > 0
    assert "backend calls" in qwen.metrics.summary()
    assert qwen.model_id.startswith("llamacpp:qwen2.5-0.5b@1d9614638d18")


def test_free_text_and_a_too_long_prompt_in_one_batch(qwen):
    ok = ChatRequest.from_prompt("Name one emotion. One word.", params=SamplingParams(max_tokens=8))
    too_long = ChatRequest.from_prompt("word " * 3000, params=SamplingParams(max_tokens=8))
    first, second = qwen.generate([ok, too_long])
    assert first.ok and first.text.strip() and first.parsed is None
    assert not second.ok and "context" in second.error.lower()  # one bad item, not a failed batch


def test_packaged_model_is_verified(qwen_gguf):
    stamp = qwen_gguf.with_name(qwen_gguf.name + ".sha256")
    assert qwen_gguf.stat().st_size == 491400064
    assert stamp.read_text().strip() == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
