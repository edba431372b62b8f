"""Strict parse, then repair (syntax only, never lost content), with a count of repairs; a light schema check."""

from __future__ import annotations

import pytest

from emopillars.llm.parsing import check_schema, parse_json, strip_fences

SCHEMA = {
    "type": "object",
    "properties": {"labels": {"type": "array", "items": {"type": "string"}}, "score": {"type": "number"}},
    "required": ["labels"],
}


def test_valid_json_needs_no_repair():
    result = parse_json('{"labels": ["joy"], "score": 0.5}', SCHEMA)
    assert result.ok and result.repairs == 0 and result.value == {"labels": ["joy"], "score": 0.5}


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"labels": ["joy"],}\n```',
        '{"labels": ["joy"],}',
        "{'labels': ['joy']}",
        'Sure! Here it is: {"labels": ["joy"]}',
    ],
)
def test_syntax_faults_are_repaired_and_counted(text):
    result = parse_json(text, SCHEMA)
    assert result.ok, result.error
    assert result.repairs == 1
    assert result.value["labels"][0] == "joy"


def test_a_code_fence_is_unwrapped_not_repaired():
    result = parse_json('```json\n{"labels": ["joy"]}\n```', SCHEMA)
    assert result.ok and result.repairs == 0 and result.value == {"labels": ["joy"]}


@pytest.mark.parametrize("text", ['{"labels": ["joy", "anger"', '{"labels": ["joy", "ang', '```json\n{"labels": ["jo'])
def test_cut_off_answers_are_errors_not_repairs(text):
    result = parse_json(text, SCHEMA)
    assert not result.ok and result.cut_off and result.value is None and "cut off" in result.error


@pytest.mark.parametrize("text", ["", "   ", "I cannot help with that"])
def test_non_json_is_an_error(text):
    result = parse_json(text, SCHEMA)
    assert not result.ok and result.value is None


def test_schema_mismatch_is_an_error_but_keeps_the_value():
    result = parse_json('{"score": 1}', SCHEMA)
    assert not result.ok and "missing key 'labels'" in result.error and result.value == {"score": 1}


def test_check_schema_types_and_enums():
    schema = {"type": "object", "properties": {"e": {"enum": ["joy", "fear"]}, "n": {"type": "integer"}}}
    assert check_schema({"e": "joy", "n": 3}, schema) is None
    assert "not one of" in check_schema({"e": "glee"}, schema)
    assert "expected integer" in check_schema({"n": True}, schema)
    assert "expected integer" in check_schema({"n": "3"}, schema)
    either = {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}
    assert check_schema([1, "a"], either) is None


def test_strip_fences():
    assert strip_fences('```\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_fences('{"a": 1}') == '{"a": 1}'
