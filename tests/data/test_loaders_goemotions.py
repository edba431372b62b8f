from __future__ import annotations

import logging

import pytest

from emopillars.data.loaders import DataFormatError, load
from emopillars.data.loaders.goemotions import load_goemotions
from emopillars.taxonomy import LABELS

ROWS = [
    "The ferry left without us, so we shared chips on the pier.\t1,17\tab1",
    '"Quoted ""cheerfully"" by my aunt, of course."\t27\tab2',
    "Why would anyone paint a bridge purple?\t6,7\tab3",
]


def write(tmp_path, lines, name="split.tsv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loads_labels_ids_and_quoted_text(tmp_path):
    data = load(write(tmp_path, ROWS))
    assert data.label_names == list(LABELS)
    assert data.multi_label and data.skipped == 0
    assert [e.id for e in data] == ["ab1", "ab2", "ab3"]
    assert data[0].labels == {"amusement": 1.0, "joy": 1.0}
    assert data[1].text == 'Quoted "cheerfully" by my aunt, of course.'
    assert data[1].labels == {"neutral": 1.0}
    targets = data.targets()
    assert targets.shape == (3, 28)
    assert targets[2, LABELS.index("confusion")] == 1 and targets[2].sum() == 2


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [("only text and labels\t3", "3 tab-separated fields"), ("text\t3,99\tid9", "0-27"), ("text\tjoy\tid9", "0-27")],
)
def test_bad_row_names_file_and_line(tmp_path, bad_row, reason):
    path = write(tmp_path, [ROWS[0], bad_row, ROWS[2]])
    with pytest.raises(DataFormatError) as info:
        load_goemotions(path)
    assert info.value.line == 2 and info.value.path == str(path)
    assert f"{path}, line 2" in str(info.value) and reason in str(info.value)


def test_skip_bad_counts_and_warns(tmp_path, caplog):
    path = write(tmp_path, [ROWS[0], "broken row", ROWS[1], "x\t99\ty", ROWS[2]])
    with caplog.at_level(logging.WARNING, logger="emopillars.data"):
        data = load(path, skip_bad=True)
    assert len(data) == 3 and data.skipped == 2
    assert "skipped 2 malformed row(s)" in caplog.text


def test_empty_and_all_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(DataFormatError, match="empty"):
        load(write(tmp_path, [""], "empty.tsv"), format="goemotions")
    with pytest.raises(DataFormatError, match="no examples found.*2 malformed"):
        load(write(tmp_path, ["a\tb\tc\td", "x\ty"], "bad.tsv"), format="goemotions", skip_bad=True)
