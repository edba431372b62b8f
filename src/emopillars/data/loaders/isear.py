"""ISEAR CSV: a header with at least ``emotion`` and ``text`` (``id`` and other columns optional).

``group`` is the normalised text (:func:`emopillars.data.text.normalize_text`), so that identical situation
descriptions (ISEAR has some) can be kept in the same split or fold later, and scores are not inflated by a
text seen in training. Ids, when the file has an ``id`` column, must be unique.
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
    log,
    open_text,
    read_header,
    require_examples,
    require_nonempty,
)
from emopillars.data.loaders.errors import DataFormatError
from emopillars.data.text import normalize_text

ISEAR_LABELS: tuple[str, ...] = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")
NO_RESPONSE_PREFIX = "[ no response"


def load_isear(path: str | Path, *, skip_bad: bool = False, drop_no_response: bool = False) -> LabeledData:
    """Load ISEAR as single-label data over its 7 classes.

    ``drop_no_response`` removes the questionnaire non-answers (texts starting with ``[ No response``),
    which many published ISEAR variants leave out.
    """
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    examples: list[Example] = []
    dropped = 0
    ids = UniqueIds(bad)
    with open_text(path) as handle, decode_guard(path):
        reader = csv.reader(handle)
        header = read_header(reader, path)
        columns = {name.strip().lower(): i for i, name in enumerate(header or [])}
        missing = [name for name in ("emotion", "text") if name not in columns]
        if missing:
            raise DataFormatError(f"ISEAR CSV needs the columns emotion and text; missing {missing}", path, 1)
        i_emotion, i_text = columns["emotion"], columns["text"]
        i_id = columns.get("id")
        extras = [(name, i) for name, i in columns.items() if name not in {"emotion", "text", "id"}]
        width = len(header)
        for row in csv_rows(reader, bad):
            if not row:
                continue
            if len(row) != width:
                bad.bad(reader.line_num, f"expected {width} fields as in the header, got {len(row)}")
                continue
            label = row[i_emotion].strip().lower()
            text = row[i_text].strip()
            if label not in ISEAR_LABELS:
                bad.bad(reader.line_num, f"unknown ISEAR emotion {row[i_emotion]!r} (expected one of {ISEAR_LABELS})")
                continue
            if not text:
                bad.bad(reader.line_num, "empty text")
                continue
            if i_id is not None and not ids.accept(row[i_id].strip(), reader.line_num):
                continue
            if drop_no_response and text.lower().startswith(NO_RESPONSE_PREFIX):
                dropped += 1
                continue
            examples.append(
                Example(
                    text=text,
                    labels={label: 1.0},
                    id=row[i_id] if i_id is not None and row[i_id] else None,
                    group=normalize_text(text),
                    meta={name: row[i] for name, i in extras},
                )
            )
    skipped = bad.finish()
    require_examples(examples, path, skipped)
    if dropped:
        log.info("%s: dropped %d '[ No response' rows", path, dropped)
    return LabeledData(examples, list(ISEAR_LABELS), source=str(path), skipped=skipped, multi_label=False)
