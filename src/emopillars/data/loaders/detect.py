"""Guess a file's format from its extension and its first lines, so users rarely need ``--format``.

The checks are strict enough that a wrong guess is unlikely (e.g. ISEAR needs its 7 emotions in the first
rows, GoEmotions needs integer label ids in the second field); anything ambiguous falls back to the generic
loader of the extension, and an unknown file is a clear error that lists the formats.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from emopillars.data.loaders import emocontext, emopillars_csv, isear
from emopillars.data.loaders._rows import ENCODING, first_undecodable, require_nonempty
from emopillars.data.loaders.errors import DataFormatError

HUB_PREFIX = "hf:"
JSON_SUFFIXES = {".jsonl", ".json", ".ndjson"}
TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
SYNTHETIC_KEYS = {"record_id", "plot_id", "utterance", "provenance"}
_IDS = re.compile(r"\d+(,\d+)*")
_PEEK_BYTES = 64 * 1024


def detect_format(path: str | Path) -> str:
    """The format name for ``path`` (a key of ``FORMATS``), or DataFormatError when it cannot tell."""
    if str(path).startswith(HUB_PREFIX):
        return "hf"
    path = Path(path)
    require_nonempty(path)
    suffix = path.suffix.lower()
    lines = _head_lines(path)
    if suffix in JSON_SUFFIXES or _looks_like_json(lines[0]):
        return _detect_json(lines[0])
    first = lines[0]
    if "\t" in first:
        fields = next(csv.reader([first], delimiter="\t"))
        if tuple(name.strip().lower() for name in fields) == emocontext.HEADER:
            return "emocontext"
        if len(fields) == 3 and _IDS.fullmatch(fields[1].strip()):
            return "goemotions"
        if suffix in {".tsv", ".tab", ".txt"}:
            return "generic_csv"
    else:
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
        header = [name.strip() for name in rows[0]]
        if tuple(header) == emopillars_csv.HEADER:
            return "emopillars_csv"
        if _looks_like_isear(header, rows[1:]):
            return "isear"
        if suffix in {".csv", ".txt"} and len(header) > 1:
            return "generic_csv"
    raise DataFormatError(
        "cannot detect the format; pass --format (format=) with one of: goemotions, isear, emocontext, "
        "emopillars_csv, synthetic, generic, generic_csv, generic_jsonl, lines",
        path,
    )


COMPRESSED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"(\xb5/\xfd": "zstd"}


def _head_lines(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(_PEEK_BYTES)
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            raise DataFormatError(f"is a {kind}-compressed file: decompress it first", path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataFormatError("is UTF-16 text (it starts with a UTF-16 byte-order mark): re-save it as UTF-8", path)
    try:
        head.decode(ENCODING)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut by the peek: the loader would fail the same way
            line, offset, reason = first_undecodable(path)
            raise DataFormatError(
                f"not valid UTF-8 text ({reason} at byte {offset}); re-save the file as UTF-8", path, line
            ) from None
    if b"\x00" in head:
        raise DataFormatError(
            "holds NUL bytes: is this a binary file?", path, head[: head.index(b"\x00")].count(b"\n") + 1
        )
    text = head.decode(ENCODING, errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(head) == _PEEK_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return lines


def _looks_like_json(first_line: str) -> bool:
    """JSON in a file without a JSON extension: a first line that parses as an object or array, or opens one
    alone. A text that merely starts with a bracket (GoEmotions' ``[NAME] sees all``) is not JSON."""
    line = first_line.strip()
    if line in ("[", "{"):
        return True
    if not line.startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(line), dict | list)
    except json.JSONDecodeError:
        return False


def _detect_json(first_line: str) -> str:
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        return "generic_jsonl"  # a pretty-printed array, or a broken first line: the loader reports it
    if isinstance(record, dict) and SYNTHETIC_KEYS <= set(record):
        return "synthetic"
    return "generic_jsonl"


def _looks_like_isear(header: list[str], rows: list[list[str]]) -> bool:
    columns = {name.lower(): i for i, name in enumerate(header)}
    if "emotion" not in columns or "text" not in columns:
        return False
    emotions = [row[columns["emotion"]].strip().lower() for row in rows[:50] if len(row) == len(header)]
    return bool(emotions) and all(emotion in isear.ISEAR_LABELS for emotion in emotions)
