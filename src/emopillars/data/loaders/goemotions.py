"""GoEmotions TSV: ``text<TAB>label ids<TAB>comment id``, no header, default CSV quoting (some texts are quoted).

Comment ids must be unique: a repeated id (a file concatenated twice, a bad merge) is a malformed row naming the
id and both lines, skipped (keeping the first) with ``skip_bad``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import (
    BadRows,
    UniqueIds,
    csv_rows,
    decode_guard,
    open_text,
    require_examples,
    require_nonempty,
)
from emopillars.taxonomy import LABELS


def load_goemotions(path: str | Path, *, skip_bad: bool = False) -> LabeledData:
    """Load one GoEmotions split; labels are ids into the 28 taxonomy LABELS (GoEmotions order)."""
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    n_labels = len(LABELS)
    # Label cells repeat a lot ("27", "0,4"): parse each distinct cell once.
    parsed: dict[str, dict[str, float] | None] = {}
    examples: list[Example] = []
    ids = UniqueIds(bad)
    with open_text(path) as handle, decode_guard(path):
        reader = csv.reader(handle, delimiter="\t")
        for row in csv_rows(reader, bad):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != 3:
                bad.bad(reader.line_num, f"expected 3 tab-separated fields (text, label ids, id), got {len(row)}")
                continue
            text, cell, comment_id = row
            labels = parsed.get(cell)
            if labels is None and cell not in parsed:
                labels = parsed[cell] = _parse_ids(cell, n_labels)
            if labels is None:
                bad.bad(reader.line_num, f"label ids must be comma-separated integers 0-{n_labels - 1}, got {cell!r}")
                continue
            if not text.strip():
                bad.bad(reader.line_num, "empty text")
                continue
            if not ids.accept(comment_id.strip(), reader.line_num):
                continue
            examples.append(Example(text=text, labels=dict(labels), id=comment_id or None))
    skipped = bad.finish()
    require_examples(examples, path, skipped)
    return LabeledData(examples, list(LABELS), source=str(path), skipped=skipped, multi_label=True)


def _parse_ids(cell: str, n_labels: int) -> dict[str, float] | None:
    parts = [part.strip() for part in cell.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        return None
    ids = [int(part) for part in parts]
    if any(i >= n_labels for i in ids):
        return None
    return {LABELS[i]: 1.0 for i in ids}
