from __future__ import annotations

import pytest

from emopillars.data.loaders import EMOCONTEXT_LABELS, DataFormatError, load

HEADER = "id\tturn1\tturn2\tturn3\tlabel"
ROWS = [
    "0\tmy exam got cancelled\tthat's lucky!\tyesss best day \U0001f604\thappy",
    '1\t"so he said no\tthat sounds hard\tyeah i just want to cry\tsad',
    "2\twhat's up\tnot much, you?\tsame\tothers",
]


def write(tmp_path, lines, name="dev.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_turns_become_context_and_utterance(tmp_path):
    data = load(write(tmp_path, [HEADER, *ROWS]))
    assert data.label_names == list(EMOCONTEXT_LABELS) and not data.multi_label
    assert len(data) == 3 and data.has_context
    first = data[0]
    assert first.text == "yesss best day \U0001f604"
    assert first.context == "my exam got cancelled that's lucky!"
    assert first.meta["turns"] == ["my exam got cancelled", "that's lucky!", "yesss best day \U0001f604"]
    assert first.labels == {"happy": 1.0} and first.id == "0"
    # QUOTE_NONE: a stray quote is text, not the start of a quoted field spanning rows
    assert data[1].context.startswith('"so he said no') and data[1].labels == {"sad": 1.0}


def test_bad_rows(tmp_path):
    path = write(tmp_path, [HEADER, ROWS[0], "1\tonly\tfour\tfields", "2\ta\tb\tc\tjealous", ROWS[2]])
    with pytest.raises(DataFormatError, match="line 3: expected 5 fields"):
        load(path)
    data = load(path, skip_bad=True)
    assert data.skipped == 2 and len(data) == 2


def test_wrong_header_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match="header"):
        load(write(tmp_path, ["id\tt1\tt2\tt3\tlabel", ROWS[0]]), format="emocontext")
