from __future__ import annotations

import json

import pytest

from emopillars.data.loaders import DataFormatError, load
from emopillars.taxonomy import LABELS


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_single_label_infers_sorted_labels(tmp_path):
    path = write(
        tmp_path,
        "reviews.csv",
        "sentence,feeling,who,uid\nThe soup was cold again.,annoyance,Ana,u1\nWe won the raffle!,joy,Ben,u2\n",
    )
    data = load(path, text_column="sentence", label_column="feeling", speaker_column="who", id_column="uid")
    assert data.label_names == ["annoyance", "joy"] and not data.multi_label
    assert data[1].speaker == "Ben" and data[1].id == "u2" and data[1].labels == {"joy": 1.0}


def test_csv_multi_label_cells_and_fixed_labels(tmp_path):
    path = write(
        tmp_path,
        "multi.csv",
        'text,labels,context\n"Oh, it is you.","surprise,joy",The door opened slowly.\nFine.,neutral,\n',
    )
    data = load(path, labels="joy,surprise,neutral", context_column="context")
    assert data.label_names == ["joy", "surprise", "neutral"] and data.multi_label
    assert data[0].labels == {"surprise": 1.0, "joy": 1.0}
    assert data[0].context == "The door opened slowly." and data[1].context is None
    bad = write(tmp_path, "bad.csv", "text,labels\nHi.,joy\nHo.,envy\n")
    with pytest.raises(DataFormatError, match=r"line 3: unknown label 'envy'"):
        load(bad, labels=["joy"])
    assert load(bad, labels=["joy"], skip_bad=True).skipped == 1


def test_tsv_multi_hot_columns_renamed_to_labels(tmp_path):
    path = write(tmp_path, "hot.tsv", "id\ttext\ta\tb\nx1\tFirst line.\t1\t0\nx2\tSecond line.\t0.5\t1\n")
    data = load(path, multi_hot_columns="*", labels=["calm", "tense"], id_column="id")
    assert data.label_names == ["calm", "tense"] and data.multi_label
    assert data[1].labels == {"calm": 0.5, "tense": 1.0} and data[0].id == "x1"
    with pytest.raises(DataFormatError, match="column"):
        load(path, multi_hot_columns=["a", "zzz"])


def test_jsonl_lists_soft_dicts_and_ids(tmp_path):
    rows = [
        {"text": "Thanks so much!", "label": ["gratitude"], "group": "g1"},
        {"text": "Hmm, maybe.", "label": {"confusion": 0.7}, "group": "g1"},
        {"text": "Numbers as ids.", "label": [15, 27]},
    ]
    path = write(tmp_path, "rows.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    data = load(path, labels="taxonomy", group_column="group")
    assert data.label_names == list(LABELS) and data.multi_label
    assert data[1].labels == {"confusion": 0.7} and data[0].group == "g1" and data[2].group is None
    assert data[2].labels == {"gratitude": 1.0, "neutral": 1.0}
    with pytest.raises(DataFormatError, match="needs the labels option"):
        load(path)


def test_jsonl_bad_lines_and_missing_text(tmp_path):
    path = write(tmp_path, "bad.jsonl", '{"text": "ok", "label": "joy"}\n{"text": ""\n{"label": "joy"}\n[1, 2]\n')
    with pytest.raises(DataFormatError, match="line 2: not valid JSON"):
        load(path)
    data = load(path, skip_bad=True)
    assert len(data) == 1 and data.skipped == 3


def test_csv_missing_text_column_is_a_header_error(tmp_path):
    path = write(tmp_path, "cols.csv", "body,label\nHello,joy\n")
    with pytest.raises(DataFormatError, match="line 1: no text column"):
        load(path)
    assert load(path, text_column="body")[0].text == "Hello"
