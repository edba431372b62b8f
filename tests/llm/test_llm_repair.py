"""Repair may fix syntax, never accept lost content; answers that needed a repair are not cached as good ones.

The fault server (its own process) cuts every 4th answer inside its last string, as a server whose connection
or generation stops mid-answer would; ``json_repair`` would close the string and hand back "Letter fell old ov".
"""

from __future__ import annotations

import pytest
from fault_server import story_for

from emopillars.llm import ChatRequest, ErrorKind, SamplingParams, load_llm
from emopillars.llm.parsing import parse_json, truncation

pytestmark = pytest.mark.timeout(120)

SCHEMA = {
    "type": "object",
    "properties": {"echo": {"type": "string"}, "story": {"type": "string"}},
    "required": ["echo", "story"],
}
KEYS = [f"plot{i:02d}" for i in range(24)]


def _llm(server, tmp_path, **kw):
    options = dict(timeout=30, server="generic", concurrency=1, max_retries=3, http_retries=1)
    options.update(kw)
    return load_llm(f"openai:{server.url}#fake-model", cache_path=tmp_path / "cache.sqlite", **options)


def _reqs(keys=KEYS) -> list[ChatRequest]:
    return [ChatRequest.from_prompt(k, params=SamplingParams(max_tokens=200), schema=SCHEMA, tag=k) for k in keys]


def test_cut_answers_are_retried_and_no_cut_field_survives_fault_server(fake_server, tmp_path):
    fake_server.configure(story=True, cut_every=4)
    with _llm(fake_server, tmp_path) as llm:
        responses = llm.generate(_reqs())
        failures = llm.metrics.parse_failures
    assert failures == 7  # 31 calls for 24 answers, one at a time: calls 4, 8, ..., 28 were cut and retried
    for key, response in zip(KEYS, responses):
        assert response.ok, response.error
        assert response.parsed == {"echo": key, "seed": response.parsed["seed"], "story": story_for(key)}
        assert response.repairs == 0
    assert len(fake_server.bodies) == 31


def test_cut_answers_are_never_cached_and_a_healthy_rerun_asks_again_fault_server(fake_server, tmp_path):
    fake_server.configure(story=True, cut_every=4)
    with _llm(fake_server, tmp_path, max_retries=0) as llm:  # no retries: the cut answers stay failures
        first = llm.generate(_reqs())
    cut = [k for k, r in zip(KEYS, first) if not r.ok]
    assert len(cut) == 6
    for response in first:
        if not response.ok:
            assert response.error_kind == ErrorKind.ANSWER and "cut off" in response.error
            assert response.parsed is None  # the repaired, shortened value is not handed on
    fake_server.configure(story=True)  # healthy
    with _llm(fake_server, tmp_path) as llm:
        again = llm.generate(_reqs())
        assert llm.metrics.cache_hits == 18 and llm.metrics.calls == 6
    assert sorted(b["messages"][-1]["content"] for b in fake_server.bodies) == sorted(cut)
    assert all(r.ok and r.parsed["story"] == story_for(k) for k, r in zip(KEYS, again))


def test_repaired_answers_are_used_but_not_cached_fault_server(fake_server, tmp_path):
    fake_server.configure(story=True, repair_every=3)  # trailing commas: broken syntax, nothing lost
    with _llm(fake_server, tmp_path) as llm:
        first = llm.generate(_reqs())
    repaired = [k for k, r in zip(KEYS, first) if r.repairs]
    assert len(repaired) == 8
    assert all(r.ok and r.parsed["story"] == story_for(k) for k, r in zip(KEYS, first))
    fake_server.configure(story=True)
    with _llm(fake_server, tmp_path) as llm:
        again = llm.generate(_reqs())
        assert llm.metrics.cache_hits == 16
    assert sorted(b["messages"][-1]["content"] for b in fake_server.bodies) == sorted(repaired)
    assert all(r.ok and r.repairs == 0 for r in again)


def test_length_finish_keeps_no_value_even_when_the_json_parses_fault_server(fake_server, tmp_path):
    fake_server.script("long", [("always", ("length", '{"echo": "long", "story": "ok"}'))])
    with _llm(fake_server, tmp_path, max_retries=1) as llm:
        [response] = llm.generate(_reqs(["long"]))
        assert len(llm.cache) == 0
    assert response.error_kind == ErrorKind.ANSWER and "finish_reason=length" in response.error
    assert response.parsed is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"context": "Letter fell old ov', "inside a string"),
        ('{"labels": ["joy", "anger"', "2 brackets never closed"),
        ('{"a": {"b": "c"}', "1 bracket never closed"),
        ('```json\n{"a": "b\\"', "inside a string"),
        ('"just a str', "inside a string"),
    ],
)
def test_truncation_is_detected(text, why):
    assert why in truncation(text)
    result = parse_json(text)
    assert not result.ok and result.value is None  # cut off (or nothing left to call JSON)
    assert result.cut_off or result.error.startswith("not JSON")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "b"}',
        '{"a": "b",}',
        '{"a": "x}y", "b": ["[", "]"]} and some words after',
        'Sure! {"a": "quote \\" inside"} done',
        "[1, 2, 3]",
        "42",
    ],
)
def test_complete_text_is_not_truncated(text):
    assert truncation(text) is None
    assert parse_json(text).ok
