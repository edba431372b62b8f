"""The generic dialogue CSV and custom CSV/JSONL loaders, on small fixtures written here."""

from __future__ import annotations

import json

import pytest

from emopillars.adapt.custom import load_custom
from emopillars.adapt.dialogue import load_dialogues
from emopillars.data.loaders.errors import DataFormatError

LABELS = ["neutral", "joy", "sadness", "anger"]

DIALOGUES = """conv,idx,who,utterance,emotion
d1,0,Ann,Hi Bob.,neutral
d1,2,Ann,I got the job!,joy
d1,1,Bob,Hello Ann. How did the interview go?,neutral
d1,3,Bob,That is wonderful news.,joy
d2,0,Cid,My cat died yesterday.,sadness
d2,1,Dee,Oh no. I am so sorry.,
d2,2,Cid,And the vet billed me twice!,anger
"""


@pytest.fixture()
def dialogue_file(tmp_path):
    path = tmp_path / "dialogues.csv"
    path.write_text(DIALOGUES, encoding="utf-8")
    return path


def _load(path, **kw):
    options = dict(
        dialogue_column="conv", turn_column="idx", speaker_column="who", text_column="utterance",
        label_column="emotion",
    )  # fmt: skip
    options.update(kw)
    return load_dialogues(path, LABELS, **options)


def test_dialogue_turns_get_previous_turns_as_context(dialogue_file):
    data = _load(dialogue_file, context_turns=2)
    assert len(data) == 6  # the unlabelled turn is context only
    by_id = {e.id: e for e in data}
    first = by_id["d1:0"]
    assert first.context is None and first.speaker == "Ann" and first.group == "d1"
    # turns are ordered by index, not file order; k=2 keeps the last two turns only
    assert by_id["d1:3"].context == "Bob: Hello Ann. How did the interview go?\nAnn: I got the job!"
    assert by_id["d1:2"].context == "Ann: Hi Bob.\nBob: Hello Ann. How did the interview go?"
    assert by_id["d2:2"].context == "Cid: My cat died yesterday.\nDee: Oh no. I am so sorry."
    assert by_id["d2:2"].labels == {"anger": 1.0}
    assert {e.group for e in data} == {"d1", "d2"}


def test_dialogue_context_turns_zero_and_bad_labels(dialogue_file, tmp_path):
    assert all(e.context is None for e in _load(dialogue_file, context_turns=0))
    bad = tmp_path / "bad.csv"
    bad.write_text(DIALOGUES.replace("d2,2,Cid,And the vet billed me twice!,anger", "d2,2,Cid,Hm.,fury"))
    with pytest.raises(DataFormatError, match=r"line 8.*fury"):
        _load(bad)
    assert len(_load(bad, skip_bad=True)) == 5
    with pytest.raises(DataFormatError, match="missing column"):
        load_dialogues(dialogue_file, LABELS)


def test_custom_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_text('text,label,ctx\nwhat a day,joy;anger,\n"ok, fine",neutral,earlier\n', encoding="utf-8")
    data = load_custom(csv_path, LABELS, multi_label=True, label_separator=";", context_column="ctx")
    assert [e.labels for e in data] == [{"joy": 1.0, "anger": 1.0}, {"neutral": 1.0}]
    assert data.examples[1].context == "earlier" and data.examples[0].context is None
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(json.dumps({"text": "so sad", "label": ["sadness"]}) + "\n\n{broken\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="line 3"):
        load_custom(jsonl, LABELS)
    with pytest.raises(DataFormatError, match="2 labels in a single-label task"):
        load_custom(csv_path, LABELS, label_separator=";")
