from __future__ import annotations

import pytest

from emopillars.annotate.answers import AnswerFileError, read_answers
from emopillars.taxonomy import LABELS

ITEMS = ["q01", "q02", "q03"]


def write(tmp_path, text, name="a.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_labels_none_and_extra_columns(tmp_path):
    path = write(
        tmp_path,
        'item_id,labels,annotator,note\nq01,joy;Relief,A,\nq02,,A,\nq03," anger | disgust ",A,"a, b"\n',
    )
    answers = read_answers(path, ITEMS, LABELS, max_labels=5)
    assert answers == {"q01": {"joy", "relief"}, "q02": set(), "q03": {"anger", "disgust"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,labels\nq01,joy\n", "needs the columns item_id and labels"),
        ("item_id,labels\nq01,joy\nq02,joy\nq01,anger\nq03,joy\n", "q01' answered twice"),
        ("item_id,labels\nq01,joy\nq02,hapiness\nq03,joy\n", "unknown label 'hapiness'"),
        ("item_id,labels\nq01,joy\nq09,joy\n", "item 'q09' is not in the kit"),
        ("item_id,labels\nq01,joy\nq02,joy\n", "1 of 3 items have no answer"),
        ("item_id,labels\nq01,joy;anger;fear;love;pride;grief\nq02,joy\nq03,joy\n", "at most 5"),
        ("", "the file is empty"),
        ("item_id,labels\n", "no answers"),
    ],
)
def test_bad_answer_files_give_clear_errors(tmp_path, text, message):
    with pytest.raises(AnswerFileError, match=message):
        read_answers(write(tmp_path, text), ITEMS, LABELS, max_labels=5)


def test_line_numbers_and_missing_file(tmp_path):
    with pytest.raises(AnswerFileError, match="line 3"):
        read_answers(write(tmp_path, "item_id,labels\nq01,joy\nq02,bogus\n"), ITEMS, LABELS)
    with pytest.raises(AnswerFileError, match="not found"):
        read_answers(tmp_path / "nope.csv", ITEMS, LABELS)


def test_allow_missing(tmp_path):
    answers = read_answers(write(tmp_path, "item_id,labels\nq01,joy\n"), ITEMS, LABELS, allow_missing=True)
    assert answers == {"q01": {"joy"}}
