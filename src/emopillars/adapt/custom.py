"""A user's own labelled file: any CSV/TSV or JSONL with a text column, a label column and a declared label list.

Rows are read as plain dicts (``read_rows``) so the dialogue loader shares the same parsing and the
same errors: a malformed row names its file and line; a label outside the declared list is an error
(a typo in a label must not silently become a new class), or a counted skip with ``skip_bad``.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders.errors import DataFormatError

log = logging.getLogger("emopillars.adapt")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) pairs from a CSV (``,``), TSV (``.tsv``) or JSONL (``.jsonl``/``.json``) file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise DataFormatError("is a directory, expected a data file", path)
    if path.stat().st_size == 0:
        raise DataFormatError("file is empty", path)
    try:
        if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
            yield from _jsonl_rows(path)
        else:
            yield from _csv_rows(path, "\t" if path.suffix.lower() in {".tsv", ".txt"} else ",")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not valid UTF-8 text ({exc.reason} at byte {exc.start})", path) from exc


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"not valid JSON ({exc.msg})", path, number) from exc
            if not isinstance(row, dict):
                raise DataFormatError("each JSONL line must be an object", path, number)
            yield number, row


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        if not reader.fieldnames:
            raise DataFormatError("no header row", path)
        for row in reader:
            if None in row:
                raise DataFormatError(
                    f"{len(reader.fieldnames) + len(row[None])} fields, header has {len(reader.fieldnames)}",
                    path,
                    reader.line_num,
                )
            yield reader.line_num, row


def require_columns(path: str | Path, row: dict, columns: list[str | None], line: int) -> None:
    missing = [c for c in columns if c and c not in row]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; the file has {sorted(row)}", path, line)


def parse_labels(raw, labels: list[str], separator: str | None) -> list[str]:
    """Labels of one cell: a JSON list, a separated string, or one label; stripped; unknown ones raise KeyError."""
    if raw is None:
        return []
    if isinstance(raw, list):
        parts = [str(item) for item in raw]
    elif separator:
        parts = str(raw).split(separator)
    else:
        parts = [str(raw)]
    parts = [part.strip() for part in parts if part and part.strip()]
    unknown = [part for part in parts if part not in labels]
    if unknown:
        raise KeyError(f"label(s) {unknown} not in the task's labels {labels}")
    return parts


def load_custom(
    path: str | Path,
    labels: list[str],
    *,
    multi_label: bool = False,
    text_column: str = "text",
    label_column: str = "label",
    context_column: str | None = None,
    id_column: str | None = None,
    group_column: str | None = None,
    label_separator: str | None = None,
    skip_bad: bool = False,
) -> LabeledData:
    """A labelled file as ``LabeledData`` over ``labels``. Single-label rows must carry exactly one label."""
    examples: list[Example] = []
    skipped = 0
    for line, row in read_rows(path):
        require_columns(path, row, [text_column, label_column, context_column, id_column, group_column], line)
        text = str(row[text_column] or "").strip()
        try:
            if not text:
                raise KeyError("empty text")
            names = parse_labels(row[label_column], labels, label_separator)
            if not names:
                raise KeyError("no label")
            if not multi_label and len(names) != 1:
                raise KeyError(f"{len(names)} labels in a single-label task")
        except KeyError as exc:
            if not skip_bad:
                raise DataFormatError(str(exc).strip("'\""), path, line) from None
            skipped += 1
            continue
        context = str(row[context_column]).strip() if context_column and row.get(context_column) else None
        examples.append(
            Example(
                text=text,
                labels={name: 1.0 for name in names},
                context=context or None,
                id=str(row[id_column]) if id_column else f"{Path(path).name}:{line}",
                group=str(row[group_column]) if group_column else None,
            )
        )
    if skipped:
        log.warning("%s: skipped %d bad row(s)", path, skipped)
    if not examples:
        raise DataFormatError("no examples found", path)
    return LabeledData(examples, list(labels), str(path), skipped, multi_label)
