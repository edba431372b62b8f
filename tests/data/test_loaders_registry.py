"""One generic loader, one registry, one text identity: adaptation tasks load through ``load`` like everything else."""

from __future__ import annotations

import pytest

from emopillars.adapt import folds
from emopillars.adapt.custom import load_custom
from emopillars.adapt.run import load_split
from emopillars.adapt.tasks import TaskSpec
from emopillars.data import text
from emopillars.data.loaders import FORMATS, DataFormatError, load, options_of
from emopillars.data.loaders.generic import load_generic

LABELS = ["joy", "sadness", "anger", "other"]
ROWS = [("What a day!", "joy"), ("I miss him.", "sadness"), ("Stop it.", "anger"), ("Bus at nine.", "other")]


def _table(tmp_path, name: str, delimiter: str, rows=ROWS, header=("text", "label")) -> object:
    path = tmp_path / name
    path.write_text(
        delimiter.join(header) + "\n" + "".join(f"{t}{delimiter}{label}\n" for t, label in rows), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(("name", "delimiter"), [("a.csv", ","), ("a.tsv", "\t"), ("a.txt", "\t"), ("b.txt", ",")])
def test_one_documented_delimiter_rule_for_every_extension(tmp_path, name, delimiter):
    path = _table(tmp_path, name, delimiter)
    data = load(path, "generic", labels=LABELS)
    assert [(e.text, next(iter(e.labels))) for e in data] == ROWS


def test_custom_task_format_is_the_generic_loader(tmp_path):
    path = _table(tmp_path, "t.txt", "\t")
    assert FORMATS["custom"] is load_generic
    custom = load_custom(path, LABELS)
    generic = load(path, "generic", labels=LABELS, multi_label=False)
    assert custom.examples == generic.examples and custom.label_names == generic.label_names == LABELS
    assert not custom.multi_label


def test_single_label_rows_must_hold_one_label_and_separators_are_documented(tmp_path):
    path = _table(tmp_path, "m.csv", ",", rows=[("Odd.", "joy;anger")])
    with pytest.raises(DataFormatError, match="2 labels in a single-label task"):
        load(path, "custom", labels=LABELS, multi_label=False, label_separator=";")
    both = load(path, "custom", labels=LABELS, multi_label=True, label_separator=";")
    assert both[0].labels == {"joy": 1.0, "anger": 1.0}
    with pytest.raises(DataFormatError, match="unknown label 'joy;anger'"):
        load(path, "custom", labels=LABELS)  # default separator ",": "joy;anger" is one (unknown) name


def test_integer_looking_labels_need_the_labels_option(tmp_path):
    path = _table(tmp_path, "ids.csv", ",", rows=[("Hi.", "27"), ("Yay.", "17")])
    with pytest.raises(DataFormatError, match="looks like an integer id"):
        load(path)
    assert load(path, labels="taxonomy")[1].labels == {"joy": 1.0}


def test_adapt_splits_load_through_the_registry_custom_and_dialogue(tmp_path):
    data = _table(tmp_path, "d.csv", ",")
    task = TaskSpec.model_validate(
        {"name": "t", "format": "custom", "paths": {"data": str(data)}, "labels": LABELS,
         "protocol": {"kind": "kfold", "folds": 2}}
    )  # fmt: skip
    split = load_split(task, "data")
    assert split.label_names == LABELS and len(split) == 4 and not split.multi_label
    assert "dialogue" in FORMATS and "labels" in options_of("dialogue")
    dialogues = tmp_path / "dialogues.csv"
    dialogues.write_text(
        "dialogue_id,turn,speaker,text,label\nd1,0,Ann,Hi.,other\nd1,1,Bob,I got the job!,joy\n", encoding="utf-8"
    )
    task = TaskSpec.model_validate(
        {"name": "d", "format": "dialogue", "paths": {"data": str(dialogues)}, "labels": LABELS,
         "context_aware": True, "protocol": {"kind": "kfold", "folds": 2}}
    )  # fmt: skip
    turns = load_split(task, "data")
    assert [e.context for e in turns] == [None, "Ann: Hi."]


def test_one_text_identity_for_folds_and_isear_groups(tmp_path):
    assert folds.normalize_text is text.normalize_text
    path = tmp_path / "isear.csv"
    path.write_text('emotion,text\njoy,"We won, at last!"\njoy,we won at last\n', encoding="utf-8")
    data = load(path, "isear")
    assert data[0].group == data[1].group == text.normalize_text("We won at last")
