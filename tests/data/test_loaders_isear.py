from __future__ import annotations

import pytest

from emopillars.data.loaders import ISEAR_LABELS, DataFormatError, load

HEADER = "id,emotion,emot_code,country_code,text"
ROWS = [
    "1,joy,1,1,When my sister passed her driving test on the third try.",
    '2,guilt,7,1,"I forgot my friend\'s birthday, and she had remembered mine."',
    "3,fear,2,2,Walking home alone through the unlit park.",
    "4,shame,6,2,[ No response.]",
    "5,fear,2,3,Walking  home alone through the UNLIT park.",
]


def write(tmp_path, lines, name="isear.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loads_single_label_seven_classes_with_text_groups(tmp_path):
    data = load(write(tmp_path, [HEADER, *ROWS]))
    assert data.label_names == list(ISEAR_LABELS) and len(ISEAR_LABELS) == 7
    assert not data.multi_label and len(data) == 5
    assert data[1].labels == {"guilt": 1.0} and data[1].id == "2"
    assert "birthday, and" in data[1].text
    assert data[2].group == data[4].group  # same text up to case and spaces
    assert data[0].meta["country_code"] == "1"


def test_minimal_columns_and_drop_no_response(tmp_path):
    path = write(tmp_path, ["emotion,text", "sadness,The day our old dog died.", "shame,[ No response.]"])
    assert len(load(path, format="isear")) == 2
    data = load(path, format="isear", drop_no_response=True)
    assert [e.text for e in data] == ["The day our old dog died."]
    assert data[0].id is None


def test_missing_column_and_bad_label(tmp_path):
    with pytest.raises(DataFormatError, match="emotion and text"):
        load(write(tmp_path, ["label,text", "joy,x"], "a.csv"), format="isear")
    path = write(tmp_path, [HEADER, ROWS[0], "9,boredom,8,1,Waiting for a bus."], "b.csv")
    with pytest.raises(DataFormatError, match=r"line 3: unknown ISEAR emotion 'boredom'"):
        load(path, format="isear")
    assert load(path, format="isear", skip_bad=True).skipped == 1
