"""Dialogue datasets in one generic CSV/JSONL layout: one row per turn (dialogue id, turn index, speaker, text, label).

This is how users bring IEMOCAP, MELD or DailyDialog exports. Each labelled turn becomes one example
whose context is the previous ``context_turns`` turns of the same dialogue, one ``Speaker: text`` line
each (the context-aware classifier reads them as the first segment), whose ``speaker`` is the turn's
speaker, and whose ``group`` is the dialogue id, so that no dialogue straddles folds or splits.
Turns are ordered by the turn index, not by file order. Turns with an empty label are used as context
only (MELD-style exports sometimes leave some turns unlabelled).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from emopillars.adapt.custom import parse_labels, read_rows, require_columns
from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders.errors import DataFormatError

log = logging.getLogger("emopillars.adapt")


def _turn_index(raw, path, line) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise DataFormatError(f"turn index {raw!r} is not a number", path, line) from None


def load_dialogues(
    path: str | Path,
    labels: list[str],
    *,
    multi_label: bool = False,
    context_turns: int = 3,
    dialogue_column: str = "dialogue_id",
    turn_column: str = "turn",
    speaker_column: str | None = "speaker",
    text_column: str = "text",
    label_column: str = "label",
    label_separator: str | None = None,
    skip_bad: bool = False,
) -> LabeledData:
    """Labelled turns of a dialogue file as ``LabeledData``; see the module docstring for the layout."""
    if context_turns < 0:
        raise ValueError(f"context_turns must be >= 0, got {context_turns}")
    dialogues: dict[str, list[tuple[float, int, dict]]] = defaultdict(list)
    order: list[str] = []
    columns = [dialogue_column, turn_column, speaker_column, text_column, label_column]
    for line, row in read_rows(path):
        require_columns(path, row, columns, line)
        dialogue = str(row[dialogue_column]).strip()
        if not dialogue:
            raise DataFormatError("empty dialogue id", path, line)
        if dialogue not in dialogues:
            order.append(dialogue)
        dialogues[dialogue].append((_turn_index(row[turn_column], path, line), line, row))

    examples: list[Example] = []
    skipped = 0
    for dialogue in order:
        turns = sorted(dialogues[dialogue], key=lambda item: (item[0], item[1]))
        history: list[str] = []
        for index, line, row in turns:
            text = str(row[text_column] or "").strip()
            speaker = str(row[speaker_column]).strip() if speaker_column and row.get(speaker_column) else None
            raw_label = row[label_column]
            if raw_label not in (None, "") and text:
                try:
                    names = parse_labels(raw_label, labels, label_separator)
                    if not multi_label and len(names) != 1:
                        raise KeyError(f"{len(names)} labels in a single-label task")
                except KeyError as exc:
                    if not skip_bad:
                        raise DataFormatError(str(exc).strip("'\""), path, line) from None
                    skipped += 1
                    names = []
                if names:
                    context = "\n".join(history[-context_turns:]) if context_turns else ""
                    examples.append(
                        Example(
                            text=text,
                            labels={name: 1.0 for name in names},
                            context=context or None,
                            speaker=speaker,
                            id=f"{dialogue}:{index:g}",
                            group=dialogue,
                            meta={"turn": index},
                        )
                    )
            if text:
                history.append(f"{speaker}: {text}" if speaker else text)
    if skipped:
        log.warning("%s: skipped %d turn(s) with bad labels", path, skipped)
    if not examples:
        raise DataFormatError("no labelled turns found", path)
    return LabeledData(examples, list(labels), str(path), skipped, multi_label)
