"""Reading annotators' answer files: a CSV with the columns ``item_id`` and ``labels`` (other columns allowed).

``labels`` holds label names joined by ``;`` (``,`` and ``|`` are accepted too; case and spaces are ignored);
an empty cell or ``none`` means the annotator chose no label. Every problem is an :class:`AnswerFileError`
naming the file (and the line): a missing or empty file, missing columns, a duplicate item, an item that is
not in the kit, an unknown label, more labels than allowed, and items of the kit left unanswered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

NONE_WORDS = {"", "none", "-"}
_SPLIT = re.compile(r"[;,|]")


class AnswerFileError(ValueError):
    """An answer file that cannot be scored; the message says which file, line and why."""


def read_answers(
    path: str | Path,
    item_ids: Sequence[str],
    labels: Sequence[str],
    max_labels: int | None = None,
    allow_missing: bool = False,
) -> dict[str, set[str]]:
    """item id -> chosen labels for one annotator (see module doc)."""
    path = Path(path)
    if not path.exists():
        raise AnswerFileError(f"{path}: answer file not found")
    known_items = set(item_ids)
    by_lower = {label.lower(): label for label in labels}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AnswerFileError(f"{path}: not a UTF-8 text file") from None
    if not text.strip():
        raise AnswerFileError(f"{path}: the file is empty")
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "item_id" not in columns or "labels" not in columns:
        raise AnswerFileError(
            f"{path}: needs the columns item_id and labels (found: {', '.join(reader.fieldnames or []) or 'none'})"
        )
    reader.fieldnames = columns
    answers: dict[str, set[str]] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        item = (row.get("item_id") or "").strip()
        if not item and not (row.get("labels") or "").strip():
            continue  # a blank row
        if item not in known_items:
            raise AnswerFileError(f"{path}, line {line}: item {item!r} is not in the kit")
        if item in answers:
            raise AnswerFileError(
                f"{path}, line {line}: item {item!r} answered twice (first on line {first_line[item]}); keep one row"
            )
        chosen: set[str] = set()
        for word in _SPLIT.split(row.get("labels") or ""):
            word = word.strip().lower()
            if word in NONE_WORDS:
                continue
            if word not in by_lower:
                raise AnswerFileError(
                    f"{path}, line {line}: unknown label {word!r} for item {item!r} (labels are the 28 taxonomy names)"
                )
            chosen.add(by_lower[word])
        if max_labels is not None and len(chosen) > max_labels:
            raise AnswerFileError(
                f"{path}, line {line}: {len(chosen)} labels for item {item!r}; at most {max_labels} are allowed"
            )
        answers[item] = chosen
        first_line[item] = line
    missing = [item for item in item_ids if item not in answers]
    if not answers:
        raise AnswerFileError(f"{path}: no answers in the file")
    if missing and not allow_missing:
        raise AnswerFileError(
            f"{path}: {len(missing)} of {len(item_ids)} items have no answer (e.g. {', '.join(missing[:5])}); "
            "finish them in the form and download again, or pass --allow-missing to score the items all answered"
        )
    return answers
