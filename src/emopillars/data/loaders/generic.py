"""Generic CSV/TSV and JSON lines with column options: any labelled text file a user brings.

Labels come either from one label column or from multi-hot columns:

- ``label_column``: a cell holds one label name, several names separated by ``label_separator`` (default ``,``),
  a JSON list of names, a JSON object ``{label: level}`` (soft labels), or integer ids into ``labels``.
- ``multi_hot_columns``: one numeric column per label (0/1 or a level in [0, 1]); ``"*"`` means every column
  that is not the text, context, speaker, id or group column. With ``labels`` of the same length the columns are
  renamed in order (e.g. ``0..27`` -> the taxonomy labels).

``labels`` (a list, a comma-separated string, or ``"taxonomy"`` for the 28 labels) fixes the label set and order,
and a label outside it is a malformed row; without it the label set is every label seen, sorted.
``multi_label`` is inferred (multi-hot, soft or any row with other than one label) unless given.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import BadRows, decode_guard, open_text, require_examples, require_nonempty
from emopillars.data.loaders.errors import DataFormatError
from emopillars.taxonomy import LABELS

AUTO_LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "emotion", "emotions")
AUTO_TEXT_COLUMNS: tuple[str, ...] = ("text", "utterance", "sentence")


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
    label_separator: str = ","
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
        if not self.label_separator:
            raise ValueError("label_separator must not be empty")

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


def load_generic_csv(
    path: str | Path, *, skip_bad: bool = False, delimiter: str | None = None, **columns: Any
) -> LabeledData:
    """Load a CSV (or, for ``.tsv``/``.tab`` files or ``delimiter="\\t"``, a TSV) with a header row."""
    spec = ColumnSpec(**columns)
    if delimiter is None:
        delimiter = "\t" if Path(path).suffix.lower() in {".tsv", ".tab"} else ","
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    with open_text(path) as handle, decode_guard(path):
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None) or []
        header = [name.strip() for name in header]
        spec.resolve(header, path, 1)

        def rows() -> Iterator[tuple[int, dict[str, Any] | None]]:
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    bad.bad(reader.line_num, f"expected {len(header)} fields as in the header, got {len(row)}")
                    continue
                yield reader.line_num, dict(zip(header, row))

        return build(rows(), spec, bad, path)


def load_generic_jsonl(path: str | Path, *, skip_bad: bool = False, **columns: Any) -> LabeledData:
    """Load JSON lines (one object per line), or a ``.json`` file holding one array of objects."""
    spec = ColumnSpec(**columns)
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    with open_text(path) as handle, decode_guard(path):
        first = handle.read(1)
        while first and first.isspace():
            first = handle.read(1)
        handle.seek(0)
        if first == "[":
            try:
                items = json.load(handle)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"not valid JSON ({exc.msg})", path, exc.lineno) from exc
            records: Iterable[tuple[int | None, Any]] = ((None, item) for item in items)
        else:
            records = _json_lines(handle, bad)
        resolved = False

        def rows() -> Iterator[tuple[int | None, dict[str, Any]]]:
            nonlocal resolved
            for line_no, item in records:
                if not isinstance(item, dict):
                    bad.bad(line_no, f"expected a JSON object, got {type(item).__name__}")
                    continue
                if not resolved:
                    spec.resolve(list(item), path, line_no, strict=False)
                    resolved = True
                yield line_no, item

        return build(rows(), spec, bad, path)


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
    soft = spec.multi_hot_columns is not None
    for line_no, row in rows:
        try:
            text = _text(row.get(spec.text_column), "text")
            if spec.multi_hot_columns is not None:
                labels = _multi_hot(row, spec)
            else:
                labels, is_soft = _label_cell(row.get(spec.label_column), spec)
                soft = soft or is_soft
        except _BadRow as exc:
            bad.bad(line_no, str(exc))
            continue
        examples.append(
            Example(
                text=text,
                labels=labels,
                context=_optional(row, spec.context_column),
                speaker=_optional(row, spec.speaker_column),
                id=_optional(row, spec.id_column),
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
    return value


def _optional(row: dict[str, Any], column: str | None) -> str | None:
    if column is None:
        return None
    value = row.get(column)
    if value is None:
        return None
    value = str(value)
    return value if value.strip() else None


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
                value = _split_names(stripped.strip("[]"), spec.label_separator)
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


def _split_names(text: str, separator: str) -> list[str]:
    return [part.strip().strip("'\"") for part in text.split(separator) if part.strip()]
