"""Generic CSV/TSV and JSON lines with column options: any labelled text file a user brings.

This is the one loader of user files: the ``generic``, ``generic_csv`` and ``generic_jsonl`` formats, the
``custom`` format of adaptation tasks, and the row reader of the dialogue loader all go through it.

File kind and delimiter:

- ``.jsonl``, ``.ndjson`` and ``.json``: one JSON object per line, or (a file starting with ``[``) one array of
  objects. Any other file is a table with a header row.
- Tables: the ``delimiter`` option when given; else ``.tsv``/``.tab`` are tab-separated, ``.csv`` comma-separated,
  and any other extension (``.txt``, ...) is tab-separated when its header line holds a tab, else comma-separated.

Columns: ``text_column`` (default: the first of ``text``, ``utterance``, ``sentence``), optional ``context_column``,
``speaker_column``, ``id_column``, ``group_column``. Texts and the optional values are stripped; an empty text is a
malformed row. Ids (``id_column``) must be unique within the file.

Labels come either from one label column or from multi-hot columns:

- ``label_column`` (default: the first of ``label``, ``labels``, ``emotion``, ``emotions``): a cell holds one label
  name, several names separated by ``label_separator`` (default ``,``; ``None``: never split, one name per cell),
  a JSON list of names, a JSON object ``{label: level}`` (soft labels), or integer ids into ``labels``.
- ``multi_hot_columns``: one numeric column per label (0/1 or a level in [0, 1]); ``"*"`` means every column
  that is not the text, context, speaker, id or group column. With ``labels`` of the same length the columns are
  renamed in order (e.g. ``0..27`` -> the taxonomy labels).

``labels`` (a list, a comma-separated string, or ``"taxonomy"`` for the 28 labels) fixes the label set and order,
and a label outside it is a malformed row; without it the label set is every label seen, sorted.
``multi_label`` is inferred (multi-hot, soft or any row with other than one label) unless given; given as False,
a row with other than exactly one label is a malformed row.

A malformed row raises :class:`DataFormatError` naming file and line, or with ``skip_bad`` is skipped and counted.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import (
    BadRows,
    UniqueIds,
    csv_rows,
    decode_guard,
    open_text,
    read_header,
    require_examples,
    require_nonempty,
)
from emopillars.data.loaders.errors import DataFormatError
from emopillars.taxonomy import LABELS

AUTO_LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "emotion", "emotions")
AUTO_TEXT_COLUMNS: tuple[str, ...] = ("text", "utterance", "sentence")
JSON_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})
TAB_SUFFIXES = frozenset({".tsv", ".tab"})


class _BadRow(Exception):
    """Internal: one row cannot be used; the message says why."""


@dataclass
class ColumnSpec:
    """Which columns hold what, validated once before any row is read."""

    text_column: str | None = None
    label_column: str | None = None
    labels: list[str] | None = None
    context_column: str | None = None
    speaker_column: str | None = None
    id_column: str | None = None
    group_column: str | None = None
    multi_hot_columns: list[str] | str | None = None
    label_separator: str | None = ","
    multi_label: bool | None = None
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.labels, str):
            if self.labels.strip().lower() == "taxonomy":
                self.labels = list(LABELS)
            else:
                self.labels = _split_names(self.labels, ",")
        if self.labels is not None:
            self.set_labels(self.labels)
        if self.multi_hot_columns is True:
            self.multi_hot_columns = "*"
        elif self.multi_hot_columns is False:
            self.multi_hot_columns = None
        if isinstance(self.multi_hot_columns, str) and self.multi_hot_columns.strip() != "*":
            self.multi_hot_columns = _split_names(self.multi_hot_columns, ",")
        if self.multi_hot_columns is not None and self.label_column is not None:
            raise ValueError("give either label_column or multi_hot_columns, not both")
        if self.label_separator == "":
            raise ValueError("label_separator must not be empty (None: one label per cell)")

    def set_labels(self, labels: list[str]) -> None:
        """Fix the label set and order (names are stripped; they must be distinct and non-empty)."""
        names = [str(label).strip() for label in labels]
        if len(set(names)) != len(names) or not all(names):
            raise ValueError(f"labels must be distinct, non-empty names, got {names}")
        self.labels = names
        self._index = {label: i for i, label in enumerate(names)}

    def resolve(self, columns: list[str], path: str | Path, line: int | None, strict: bool = True) -> None:
        """Fill automatic choices from the available columns and (``strict``) check that the named ones exist.

        JSON records may omit optional keys, so JSON lines are resolved from the first record without ``strict``.
        """
        present = set(columns)
        if self.text_column is None:
            self.text_column = next((name for name in AUTO_TEXT_COLUMNS if name in present), None)
            if self.text_column is None:
                raise DataFormatError(f"no text column (tried {AUTO_TEXT_COLUMNS}); pass text_column", path, line)
        if self.multi_hot_columns is None and self.label_column is None:
            self.label_column = next((name for name in AUTO_LABEL_COLUMNS if name in present), None)
            if self.label_column is None:
                raise DataFormatError(
                    f"no label column (tried {AUTO_LABEL_COLUMNS}); pass label_column or multi_hot_columns", path, line
                )
        if isinstance(self.multi_hot_columns, str):
            used = {self.text_column, self.context_column, self.speaker_column, self.id_column, self.group_column}
            self.multi_hot_columns = [name for name in columns if name not in used]
        named = [self.text_column, self.label_column, self.context_column, self.speaker_column, self.id_column]
        named += [self.group_column, *(self.multi_hot_columns or [])]
        missing = [name for name in named if name is not None and name not in present]
        if missing and strict:
            raise DataFormatError(f"column(s) {missing} not found; columns are {columns}", path, line)
        if self.multi_hot_columns is not None:
            if not self.multi_hot_columns:
                raise DataFormatError("no multi-hot label columns left after the text/context/id columns", path, line)
            if self.labels is not None and len(self.labels) != len(self.multi_hot_columns):
                raise DataFormatError(
                    f"{len(self.labels)} labels given for {len(self.multi_hot_columns)} multi-hot columns", path, line
                )


def load_generic(
    path: str | Path, *, skip_bad: bool = False, delimiter: str | None = None, **columns: Any
) -> LabeledData:
    """A table or JSON lines, by extension (see the module docstring): formats ``generic`` and ``custom``."""
    if Path(path).suffix.lower() in JSON_SUFFIXES:
        return load_generic_jsonl(path, skip_bad=skip_bad, **columns)
    return load_generic_csv(path, skip_bad=skip_bad, delimiter=delimiter, **columns)


def load_generic_csv(
    path: str | Path, *, skip_bad: bool = False, delimiter: str | None = None, **columns: Any
) -> LabeledData:
    """Load a CSV or TSV with a header row (delimiter rules in the module docstring)."""
    spec = ColumnSpec(**columns)
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    with open_text(path) as handle, decode_guard(path):
        header, rows = _table(handle, path, bad, delimiter)
        spec.resolve(header, path, 1)
        return build(rows, spec, bad, path)


def load_generic_jsonl(path: str | Path, *, skip_bad: bool = False, **columns: Any) -> LabeledData:
    """Load JSON lines (one object per line), or a ``.json`` file holding one array of objects."""
    spec = ColumnSpec(**columns)
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    with open_text(path) as handle, decode_guard(path):
        resolved = False

        def rows() -> Iterator[tuple[int | None, dict[str, Any]]]:
            nonlocal resolved
            for line_no, item in _json_objects(handle, path, bad):
                if not resolved:
                    spec.resolve(list(item), path, line_no, strict=False)
                    resolved = True
                yield line_no, item

        return build(rows(), spec, bad, path)


def read_rows(
    path: str | Path, *, skip_bad: bool = False, delimiter: str | None = None
) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """(line number, row dict) pairs of a table or JSON lines file, for loaders that interpret rows themselves
    (the dialogue loader). Structural problems (bad JSON, a row with the wrong number of fields) follow
    ``skip_bad``; the file kind and delimiter follow the module docstring's rules."""
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    with open_text(path) as handle, decode_guard(path):
        if Path(path).suffix.lower() in JSON_SUFFIXES:
            yield from _json_objects(handle, path, bad)
        else:
            _, rows = _table(handle, path, bad, delimiter)
            yield from rows
    bad.finish()


def require_columns(path: str | Path, row: dict, columns: list[str | None], line: int | None) -> None:
    """A DataFormatError naming the columns of ``columns`` (None entries ignored) that ``row`` lacks."""
    missing = [column for column in columns if column and column not in row]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; the file has {sorted(row)}", path, line)


def parse_labels(raw: Any, labels: list[str], separator: str | None = None) -> list[str]:
    """Label names of one cell, read by the generic rules and checked against ``labels``.

    Raises KeyError (message: why) for a name outside ``labels``; an empty cell gives no label.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return []
    spec = ColumnSpec(labels=list(labels), label_separator=separator)
    try:
        names, _ = _label_cell(raw, spec)
    except _BadRow as exc:
        raise KeyError(str(exc)) from None
    return list(names)


def table_delimiter(path: str | Path, header_line: str, delimiter: str | None = None) -> str:
    """The delimiter of a table file: ``delimiter``, else by extension, else tab if the header holds one."""
    if delimiter:
        return delimiter
    suffix = Path(path).suffix.lower()
    if suffix in TAB_SUFFIXES:
        return "\t"
    if suffix == ".csv":
        return ","
    return "\t" if "\t" in header_line else ","


def _table(
    handle, path: str | Path, bad: BadRows, delimiter: str | None
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The stripped header of a table and a generator of its rows as dicts (rows of another width are bad)."""
    first_line = handle.readline()
    handle.seek(0)
    reader = csv.reader(handle, delimiter=table_delimiter(path, first_line, delimiter))
    header = [name.strip() for name in read_header(reader, path) or []]
    if not any(header):
        raise DataFormatError("no header row (the first line names the columns)", path, 1)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DataFormatError(f"column name(s) {duplicated} appear more than once in the header", path, 1)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row in csv_rows(reader, bad):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                bad.bad(reader.line_num, f"expected {len(header)} fields as in the header, got {len(row)}")
                continue
            yield reader.line_num, dict(zip(header, row))

    return header, rows()


def _json_objects(handle, path: str | Path, bad: BadRows) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """(line, object) of JSON lines, or of one JSON array (line None); non-objects are malformed rows."""
    first = handle.read(1)
    while first and first.isspace():
        first = handle.read(1)
    handle.seek(0)
    if first == "[":
        try:
            items = json.load(handle)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
        records: Iterable[tuple[int | None, Any]] = ((None, item) for item in items)
    else:
        records = _json_lines(handle, bad)
    for line_no, item in records:
        if not isinstance(item, dict):
            bad.bad(line_no, f"expected a JSON object, got {type(item).__name__}")
            continue
        yield line_no, item


def _json_lines(handle, bad: BadRows) -> Iterator[tuple[int, Any]]:
    for line_no, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            bad.bad(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})")


def build(
    rows: Iterable[tuple[int | None, dict[str, Any]]], spec: ColumnSpec, bad: BadRows, source: str | Path
) -> LabeledData:
    """Turn column dicts into a LabeledData; shared by CSV, JSON lines and Hugging Face datasets."""
    examples: list[Example] = []
    ids = UniqueIds(bad)
    soft = spec.multi_hot_columns is not None
    for line_no, row in rows:
        try:
            text = _text(row.get(spec.text_column), "text")
            if spec.multi_hot_columns is not None:
                labels = _multi_hot(row, spec)
            else:
                labels, is_soft = _label_cell(row.get(spec.label_column), spec)
                soft = soft or is_soft
            if spec.multi_label is False and len(labels) != 1:
                raise _BadRow(f"{len(labels)} labels in a single-label task (multi_label is off)")
        except _BadRow as exc:
            bad.bad(line_no, str(exc))
            continue
        identifier = _optional(row, spec.id_column)
        if not ids.accept(identifier, line_no):
            continue
        examples.append(
            Example(
                text=text,
                labels=labels,
                context=_optional(row, spec.context_column),
                speaker=_optional(row, spec.speaker_column),
                id=identifier,
                group=_optional(row, spec.group_column),
            )
        )
    skipped = bad.finish()
    require_examples(examples, source, skipped)
    if spec.labels is not None:
        label_names = list(spec.labels)
    elif spec.multi_hot_columns is not None:
        label_names = list(spec.multi_hot_columns)
    else:
        label_names = sorted({label for example in examples for label in example.labels})
    multi_label = spec.multi_label
    if multi_label is None:
        multi_label = soft or any(len(example.labels) != 1 for example in examples)
    return LabeledData(examples, label_names, source=str(source), skipped=skipped, multi_label=bool(multi_label))


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadRow(f"empty or missing {what}")
    return value.strip()


def _optional(row: dict[str, Any], column: str | None) -> str | None:
    if column is None:
        return None
    value = row.get(column)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _label_cell(value: Any, spec: ColumnSpec) -> tuple[dict[str, float], bool]:
    """Labels of one cell, and whether they are soft levels."""
    if isinstance(value, dict):
        labels = {}
        for name, level in value.items():
            if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 <= float(level) <= 1.0:
                raise _BadRow(f"label level for {name!r} must be a number in [0, 1], got {level!r}")
            labels[_name(name, spec)] = float(level)
        return labels, True
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError:
                value = _split_names(stripped.strip("[]"), spec.label_separator or ",")
        else:
            value = _split_names(stripped, spec.label_separator)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _BadRow(f"missing or unreadable label {value!r}")
    return {_name(item, spec): 1.0 for item in value}, False


def _name(item: Any, spec: ColumnSpec) -> str:
    """A label name, checked against ``labels`` when given; integer ids index ``labels``."""
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise _BadRow(f"label {item!r} is neither a name nor an integer id")
    if isinstance(item, str):
        name = item.strip()
        if not name:
            raise _BadRow("empty label name")
        if spec.labels is None and name.isdigit():
            raise _BadRow(
                f"label {name!r} looks like an integer id: pass the labels option to name the ids "
                "(labels='taxonomy' for GoEmotions ids; --format goemotions for a GoEmotions file)"
            )
        if spec.labels is None or name in spec._index:
            return name
        if not name.isdigit():
            raise _BadRow(f"unknown label {name!r} (labels are {spec.labels})")
        item = int(name)
    if spec.labels is None:
        raise _BadRow(f"integer label {item} needs the labels option to name it")
    if not 0 <= item < len(spec.labels):
        raise _BadRow(f"label id {item} out of range 0-{len(spec.labels) - 1}")
    return spec.labels[item]


def _multi_hot(row: dict[str, Any], spec: ColumnSpec) -> dict[str, float]:
    names = spec.labels or spec.multi_hot_columns
    labels: dict[str, float] = {}
    for name, column in zip(names, spec.multi_hot_columns):
        value = row.get(column)
        if value is None or value == "":
            continue
        try:
            level = float(value)
        except (TypeError, ValueError):
            raise _BadRow(f"column {column!r} must be a number in [0, 1], got {value!r}") from None
        if not 0.0 <= level <= 1.0:
            raise _BadRow(f"column {column!r} must be a number in [0, 1], got {value!r}")
        if level > 0:
            labels[name] = level
    return labels


def _split_names(text: str, separator: str | None) -> list[str]:
    parts = text.split(separator) if separator else [text]
    return [part.strip().strip("'\"") for part in parts if part.strip()]
