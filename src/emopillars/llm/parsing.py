"""Turning model text into JSON: strict first, then repair syntax, never accept lost content.

Small models wrap JSON in code fences, leave trailing commas, or stop inside a string or an array. A
strict parse is tried first; then the text with one code fence stripped (unwrapping, not a repair: nothing
is lost); then ``json_repair`` (a maintained library for exactly these faults), which counts as one
repair so that callers (and the metrics) see how often the model needed help.

Repair may fix syntax, never accept lost content: ``json_repair`` also "repairs" an answer that stops in
the middle of a string by closing the string, which turns "Letter fell behind the old oven" into "Letter
fell old ov". So a repaired text must be *complete*: its top-level object or array closes and it does not
end inside a string. Otherwise the result is an error ("cut off"), with no value, and the caller retries.
A light schema check (type, required keys, enum values) catches answers that parse but do not fit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import json_repair
import orjson

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


@dataclass
class ParseResult:
    """``value`` is the parsed JSON when ``error`` is None; ``repairs`` counts the fixes that were needed."""

    value: Any = None
    repairs: int = 0
    error: str | None = None
    cut_off: bool = False  # the text stopped before its JSON was complete: content was lost

    @property
    def ok(self) -> bool:
        return self.error is None


def strip_fences(text: str) -> str:
    """Remove one surrounding Markdown code fence (```json ... ```), if present."""
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_json(text: str, schema: dict[str, Any] | None = None) -> ParseResult:
    """Parse ``text`` as JSON, repairing common faults; check it against ``schema`` when given."""
    if not text or not text.strip():
        return ParseResult(error="empty answer")
    value, repairs = _loads_with_repair(text)
    if repairs < 0:
        return ParseResult(error=f"not JSON: {_preview(text)}")
    if repairs:
        cut = truncation(strip_fences(text))
        if cut:
            return ParseResult(repairs=repairs, error=f"answer is cut off ({cut}): {_preview(text)}", cut_off=True)
    problem = check_schema(value, schema) if schema else None
    if problem:
        return ParseResult(value=value, repairs=repairs, error=f"does not match the schema: {problem}")
    return ParseResult(value=value, repairs=repairs)


def _loads_with_repair(text: str) -> tuple[Any, int]:
    """(value, repairs); repairs is -1 when nothing usable came out."""
    try:
        return orjson.loads(text), 0  # the fast path; json.loads also takes NaN/Infinity and huge integers
    except ValueError:
        pass
    try:
        return json.loads(text), 0
    except ValueError:
        pass
    stripped = strip_fences(text)
    if stripped is not text:
        try:
            return json.loads(stripped), 0
        except ValueError:
            pass
    try:
        repaired = json_repair.repair_json(stripped, return_objects=True)
    except Exception:  # the library should not raise, but a parser must never take a batch down
        return None, -1
    if repaired == "" or repaired is None:
        return None, -1
    return repaired, 1


def truncation(text: str) -> str | None:
    """Why ``text`` stops before its JSON value is complete, or None when it is complete.

    Scans from the first ``{`` or ``[`` (or a leading string) and tracks double-quoted strings with their
    escapes and bracket depth: a value is complete once its outermost bracket closes; text after it
    (a model's comment) does not matter. Ends inside a string, or with brackets still open: cut off.
    """
    start = -1
    for i, ch in enumerate(text):
        if ch in "{[":
            start = i
            break
        if ch == '"':
            start = i
            break
    if start < 0:
        return None  # a bare number or word: nothing to lose inside it
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                if depth == 0:
                    return None  # a complete top-level string
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth <= 0:
                return None
    if in_string:
        return "it ends inside a string"
    return f"{depth} bracket{'s' if depth != 1 else ''} never closed"


def check_schema(value: Any, schema: dict[str, Any], path: str = "$") -> str | None:
    """The first mismatch between ``value`` and a (subset of) JSON Schema, or None.

    Checks ``type``, ``enum``, ``const``, ``required``, object ``properties`` and array ``items``,
    which is what the synthesis prompts use; full validation would need another dependency.
    """
    if not isinstance(schema, dict):
        return None
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        problems = [check_schema(value, option, path) for option in options]
        return None if any(p is None for p in problems) else f"{path}: matches none of the alternatives"
    if "const" in schema and value != schema["const"]:
        return f"{path}: expected {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {_preview(repr(value))} is not one of {schema['enum']}"
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds and not any(_is_type(value, k) for k in kinds):
        return f"{path}: expected {'/'.join(kinds)}, got {type(value).__name__}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{path}: missing key {key!r}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problem = check_schema(value[key], sub, f"{path}.{key}")
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = check_schema(item, schema["items"], f"{path}[{i}]")
            if problem:
                return problem
    return None


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _preview(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
