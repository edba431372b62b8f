"""The project's synthetic dataset: JSON lines of :class:`~emopillars.data.records.SyntheticRecord`.

Three views of the same records, as in the paper:

- ``orig``: the original utterance alone (context-less classifier);
- ``corig``: the context + the original utterance;
- ``crewr``: the cleaned context (explicit emotion statements removed) + the rewritten utterance.

For ``corig`` and ``crewr`` a record lacking the needed context (or rewritten utterance) cannot be used; it is
left out and counted in one log line. That is not a malformed row, so it is not in ``LabeledData.skipped``.
``group`` is the plot id: utterances of one narrative must stay in the same split.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import (
    BadRows,
    UniqueIds,
    decode_guard,
    log,
    open_text,
    require_nonempty,
)
from emopillars.data.loaders.errors import DataFormatError
from emopillars.data.records import SyntheticRecord
from emopillars.taxonomy import LABELS

VARIANTS: tuple[str, ...] = ("orig", "corig", "crewr")
SPLITS: tuple[str, ...] = ("train", "dev", "test")


def load_synthetic(
    path: str | Path, *, skip_bad: bool = False, variant: str = "orig", split: str | None = None
) -> LabeledData:
    """Load synthetic records as multi-label soft data over the 28 taxonomy labels.

    ``split`` keeps only records whose ``split`` field equals it (None keeps all).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown synthetic variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)} (or none for all)")
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    known = set(LABELS)
    examples: list[Example] = []
    without_context = 0
    ids = UniqueIds(bad)
    with open_text(path) as handle, decode_guard(path):
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = _parse(line, line_no, bad)
            if record is None:
                continue
            unknown = sorted(set(record.labels) - known)
            if unknown:
                bad.bad(line_no, f"labels outside the 28-label taxonomy: {unknown}")
                continue
            if any(not 0.0 <= level <= 1.0 for level in record.labels.values()):
                bad.bad(line_no, "label levels must be in [0, 1]")
                continue
            if not ids.accept(record.record_id, line_no):
                continue
            if split is not None and record.split != split:
                continue
            example = _to_example(record, variant)
            if example is None:
                without_context += 1
                continue
            examples.append(example)
    skipped = bad.finish()
    if without_context:
        log.warning("%s: %d record(s) lacking what variant %r needs left out", path, without_context, variant)
    if not examples:
        reason = f"no {variant!r} examples" + (f" in split {split!r}" if split else "")
        if without_context:
            reason += f"; {without_context} record(s) lack the text or context this variant needs"
        if skipped:
            reason += f"; {skipped} malformed row(s) skipped"
        raise DataFormatError(reason, path)
    return LabeledData(examples, list(LABELS), source=str(path), skipped=skipped, multi_label=True)


def _parse(line: str, line_no: int, bad: BadRows) -> SyntheticRecord | None:
    try:
        payload = json.loads(line)
    except json.JSONDecodeError as exc:
        bad.bad(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})")
        return None
    if not isinstance(payload, dict):
        bad.bad(line_no, f"expected a JSON object, got {type(payload).__name__}")
        return None
    try:
        return SyntheticRecord.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        bad.bad(line_no, f"not a valid synthetic record: {where}: {first['msg']} ({exc.error_count()} error(s))")
        return None


def _to_example(record: SyntheticRecord, variant: str) -> Example | None:
    labels = dict(record.labels) or {label: 1.0 for label in record.positive_labels if label in LABELS}
    if variant == "orig":
        text, context = record.utterance, None
    elif variant == "corig":
        text, context = record.utterance, record.context
    else:
        text, context = record.rewritten_utterance, record.cleaned_context
    if not text or not text.strip() or (variant != "orig" and not (context and context.strip())):
        return None
    return Example(
        text=text,
        labels=labels,
        context=context,
        speaker=record.actor,
        id=record.record_id,
        group=record.plot_id,
        meta={
            "actor_id": record.actor_id,
            "plot_title": record.plot_title,
            "requested_emotion": record.requested_emotion,
            "split": record.split,
            "variant": variant,
        },
    )
