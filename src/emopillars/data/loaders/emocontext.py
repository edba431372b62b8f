"""EmoContext (SemEval-2019 Task 3) TSV: header ``id turn1 turn2 turn3 label``, read with QUOTE_NONE.

Turns 1 and 2 become the context (joined with a space), turn 3 the utterance; the label is for turn 3.
Dialogue ids must be unique (a repeated one is a malformed row naming both lines).
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
    read_header,
    require_examples,
    require_nonempty,
)
from emopillars.data.loaders.errors import DataFormatError

EMOCONTEXT_LABELS: tuple[str, ...] = ("happy", "sad", "angry", "others")
EMOCONTEXT_EMOTIONS: tuple[str, ...] = ("happy", "sad", "angry")
"""The classes the official metric counts (micro-F1 ignores ``others``)."""
HEADER = ("id", "turn1", "turn2", "turn3", "label")


def load_emocontext(path: str | Path, *, skip_bad: bool = False) -> LabeledData:
    """Load an EmoContext split as single-label data over (happy, sad, angry, others)."""
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    examples: list[Example] = []
    ids = UniqueIds(bad)
    with open_text(path) as handle, decode_guard(path):
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = read_header(reader, path)
        if header is None or tuple(name.strip().lower() for name in header) != HEADER:
            raise DataFormatError(f"EmoContext TSV needs the header {' '.join(HEADER)!r}, got {header!r}", path, 1)
        for row in csv_rows(reader, bad):
            if not row:
                continue
            if len(row) != 5:
                bad.bad(reader.line_num, f"expected 5 fields (id turn1 turn2 turn3 label), got {len(row)}")
                continue
            dialogue_id, turn1, turn2, turn3, label = row
            label = label.strip().lower()
            if label not in EMOCONTEXT_LABELS:
                bad.bad(reader.line_num, f"unknown label {row[4]!r} (expected one of {EMOCONTEXT_LABELS})")
                continue
            if not turn3.strip():
                bad.bad(reader.line_num, "empty turn3 (the utterance)")
                continue
            if not ids.accept(dialogue_id.strip(), reader.line_num):
                continue
            context = " ".join(turn for turn in (turn1.strip(), turn2.strip()) if turn) or None
            examples.append(
                Example(
                    text=turn3,
                    labels={label: 1.0},
                    context=context,
                    id=dialogue_id,
                    group=dialogue_id,
                    meta={"turns": [turn1, turn2, turn3]},
                )
            )
    skipped = bad.finish()
    require_examples(examples, path, skipped)
    return LabeledData(examples, list(EMOCONTEXT_LABELS), source=str(path), skipped=skipped, multi_label=False)
