"""vLLM's offline engine on a GPU: batched guided JSON with prefix caching. Skipped without CUDA or vLLM."""

from __future__ import annotations

import os

import pytest

from emopillars.llm import ChatRequest, SamplingParams, load_llm
from emopillars.llm.backends.vllm_offline import cuda_available

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU"),
]

SCHEMA = {
    "type": "object",
    "properties": {"emotion": {"type": "string", "enum": ["joy", "sadness", "anger", "fear"]}},
    "required": ["emotion"],
}


def test_vllm_offline_batch_with_guided_json(tmp_path):
    pytest.importorskip("vllm")
    model = os.environ.get("EMOPILLARS_VLLM_TEST_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")
    llm = load_llm(f"vllm:{model}", cache_path=tmp_path / "c.sqlite", gpu_memory_utilization=0.5, max_model_len=2048)
    requests = [
        ChatRequest.from_prompt(f"Text {i}: 'I lost my keys again.' Emotion as JSON.",
                                system="You label emotions.", params=SamplingParams(max_tokens=24), schema=SCHEMA)
        for i in range(16)
    ]  # fmt: skip
    responses = llm.generate(requests)
    assert all(r.ok for r in responses), [r.error for r in responses if not r.ok]
    assert all(r.parsed["emotion"] in {"joy", "sadness", "anger", "fear"} for r in responses)
    assert llm.metrics.calls == 16
    again = llm.generate(requests)
    assert all(r.cached for r in again) and llm.metrics.calls == 16
    llm.close()
