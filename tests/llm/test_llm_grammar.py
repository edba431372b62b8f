"""The bounded GBNF grammar: strings bounded and single-line, whitespace bounded, llama.cpp accepts it."""

from __future__ import annotations

import pytest

from emopillars.llm.grammar import SchemaGrammarError, schema_to_gbnf

SCHEMA = {
    "type": "object",
    "properties": {
        "emotion": {"type": "string", "enum": ["joy", "anger"]},
        "utterance": {"type": "string", "maxLength": 120},
        "labels": {"type": "array", "items": {"$ref": "#/$defs/Label"}, "minItems": 1, "maxItems": 3},
        "intensity": {"type": "number"},
        "neutral": {"type": ["boolean", "null"]},
    },
    "required": ["emotion", "utterance", "labels"],
    "$defs": {"Label": {"type": "object", "properties": {"name": {"type": "string"}, "score": {"type": "integer"}}}},
}


def test_strings_are_bounded_and_exclude_newlines():
    grammar = schema_to_gbnf(SCHEMA, max_string=50)
    assert "char{0,120}" in grammar  # the schema's maxLength
    assert "char{0,50}" in grammar  # the default bound for the Label name
    char_rule = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert r"\x00-\x1f" in char_rule  # raw control characters, newline included, are excluded
    assert "n" not in char_rule.split("|")[1]  # and so is the \n escape
    assert 'ws ::= " "?' in grammar  # at most one space between tokens


def test_structure_follows_the_schema():
    grammar = schema_to_gbnf(SCHEMA)
    assert grammar.startswith("root ::= ")
    assert '("\\"joy\\"" | "\\"anger\\"")' in grammar
    assert "{0,2}" in grammar  # 1..3 labels
    assert "def-label ::=" in grammar


def test_unsupported_schema_is_a_clear_error():
    with pytest.raises(SchemaGrammarError, match="cannot resolve"):
        schema_to_gbnf({"$ref": "#/$defs/Missing"})
    with pytest.raises(SchemaGrammarError, match="maxLength"):
        schema_to_gbnf({"type": "string", "minLength": 5, "maxLength": 2})


def test_llama_cpp_parses_the_grammar():
    llama_cpp = pytest.importorskip("llama_cpp")
    for schema in (SCHEMA, {"type": "object"}, {"type": "array", "items": {"type": "string"}}):
        grammar = llama_cpp.LlamaGrammar.from_string(schema_to_gbnf(schema), verbose=False)
        assert grammar is not None
