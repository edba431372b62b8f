"""The public Emo Pillars CSV layout: header ``text,0,1,...,27``, one 0/1 (or level) column per taxonomy label.

Column ``i`` is taxonomy ``LABELS[i]`` (GoEmotions order, 27 = neutral). Values in [0, 1] are kept as levels,
so a soft-labelled file in the same layout loads too.
"""

from __future__ import annotations

import csv
from pathlib import Path

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import (
    BadRows,
    csv_rows,
    decode_guard,
    open_text,
    read_header,
    require_examples,
    require_nonempty,
)
from emopillars.data.loaders.errors import DataFormatError
from emopillars.taxonomy import LABELS

HEADER = ("text", *(str(i) for i in range(len(LABELS))))


def load_emopillars_csv(path: str | Path, *, skip_bad: bool = False) -> LabeledData:
    """Load an Emo Pillars multi-hot CSV as multi-label data over the 28 taxonomy labels."""
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    examples: list[Example] = []
    width = len(HEADER)
    with open_text(path) as handle, decode_guard(path):
        reader = csv.reader(handle)
        header = read_header(reader, path)
        if header is None or tuple(name.strip() for name in header) != HEADER:
            raise DataFormatError("Emo Pillars CSV needs the header text,0,1,...,27", path, 1)
        for row in csv_rows(reader, bad):
            if not row:
                continue
            if len(row) != width:
                bad.bad(reader.line_num, f"expected {width} fields (text + 28 label columns), got {len(row)}")
                continue
            labels = _levels(row[1:])
            if labels is None:
                bad.bad(reader.line_num, "label columns must be numbers in [0, 1]")
                continue
            if not row[0].strip():
                bad.bad(reader.line_num, "empty text")
                continue
            examples.append(Example(text=row[0], labels=labels))
    skipped = bad.finish()
    require_examples(examples, path, skipped)
    return LabeledData(examples, list(LABELS), source=str(path), skipped=skipped, multi_label=True)


def _levels(cells: list[str]) -> dict[str, float] | None:
    labels: dict[str, float] = {}
    for label, cell in zip(LABELS, cells):
        cell = cell.strip()
        if cell in ("0", ""):
            continue
        if cell == "1":
            labels[label] = 1.0
            continue
        try:
            level = float(cell)
        except ValueError:
            return None
        if not 0.0 <= level <= 1.0:
            return None
        if level > 0:
            labels[label] = level
    return labels
