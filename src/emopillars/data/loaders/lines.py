"""Plain text, one text per line, no labels: what ``emopillars predict --input FILE.txt`` reads.

Blank lines are skipped; each text is stripped; its id is its line number. A UTF-8 byte-order mark is not
part of the first text, and a line holding a NUL byte (a binary file) is a malformed row.
"""

from __future__ import annotations

from pathlib import Path

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders._rows import BadRows, decode_guard, open_text, require_examples, require_nonempty


def load_lines(path: str | Path, *, skip_bad: bool = False) -> LabeledData:
    """Unlabelled examples, one per non-blank line (``label_names`` is empty)."""
    require_nonempty(path)
    bad = BadRows(path, skip_bad)
    examples: list[Example] = []
    with open_text(path) as handle, decode_guard(path):
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if "\x00" in text:
                bad.bad(number, "holds a NUL byte: is this a binary file?")
                continue
            examples.append(Example(text=text, id=str(number)))
    skipped = bad.finish()
    require_examples(examples, path, skipped)
    return LabeledData(examples, [], source=str(path), skipped=skipped, multi_label=False)
