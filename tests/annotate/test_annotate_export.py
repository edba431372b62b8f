from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET

import pytest

from emopillars.annotate import export_kit, load_kit
from emopillars.annotate.form import render_form
from emopillars.stats.source import load_source
from emopillars.taxonomy import LABELS


def _embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="kit-data">(.*?)</script>', html, re.S)
    assert match, "the form embeds its data"
    return json.loads(match.group(1))


def test_export_writes_every_file(dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=10, annotators=3, seed=7)
    out = tmp_path / "kit"
    for name in (
        "form-A1.html",
        "form-A2.html",
        "form-A3.html",
        "items.csv",
        "items.json",
        "teacher.json",
        "kit.json",
    ):
        assert (out / name).exists(), name
    rows = list(csv.DictReader((out / "items.csv").open(encoding="utf-8")))
    assert [r["item_id"] for r in rows] == kit.item_ids()
    assert set(rows[0]) == {"item_id", "text", "context"}
    teacher = json.loads((out / "teacher.json").read_text())
    assert set(teacher) == set(kit.item_ids())
    assert all(entry["labels"] for entry in teacher.values())
    # Label Studio: tasks and a config with the 28 labels as multiple choice
    tasks = json.loads((out / "label_studio" / "tasks.json").read_text())
    assert len(tasks) == 10 and set(tasks[0]["data"]) == {"item_id", "text", "context"}
    config = ET.fromstring((out / "label_studio" / "config.xml").read_text())
    choices = config.find("Choices")
    assert choices.get("choice") == "multiple"
    assert [c.get("value") for c in choices.findall("Choice")] == list(LABELS)
    settings = json.loads((out / "argilla" / "settings.json").read_text())
    assert settings["questions"][0]["type"] == "multi_label_selection"
    assert len(json.loads((out / "argilla" / "records.json").read_text())) == 10


def test_forms_hide_teacher_labels_and_shuffle_per_annotator(dataset_file, tmp_path):
    kit = export_kit(load_source(dataset_file), tmp_path / "kit", n=12, annotators=["ann", "bob"], seed=1)
    orders = [kit.annotators["ann"], kit.annotators["bob"]]
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(kit.item_ids())
    assert orders[0] != orders[1]
    html = (tmp_path / "kit" / "form-bob.html").read_text(encoding="utf-8")
    data = _embedded(html)
    assert [i["item_id"] for i in data["items"]] == kit.annotators["bob"]
    assert set(data["items"][0]) == {"item_id", "text", "context"}  # no labels, no record id
    assert "rec-" not in html and "teacher" not in json.dumps(data)
    assert data["labels"] == list(LABELS) and data["max_labels"] == 5
    assert "</script> and" not in html  # a context holding "</script>" cannot end the data element
    texts = {i["item_id"]: i["text"] for i in data["items"]}
    assert texts == {i.item_id: i.text for i in kit.items}


def test_export_is_deterministic_and_kit_reloads(dataset_file, tmp_path):
    source = load_source(dataset_file)
    a = export_kit(source, tmp_path / "a", n=8, seed=3)
    b = export_kit(source, tmp_path / "b", n=8, seed=3)
    c = export_kit(source, tmp_path / "c", n=8, seed=4)
    assert [i.record_id for i in a.items] == [i.record_id for i in b.items]
    assert a.annotators == b.annotators
    assert [i.record_id for i in a.items] != [i.record_id for i in c.items]
    loaded = load_kit(tmp_path / "a")
    assert loaded.teacher() == a.teacher()
    assert render_form(loaded, "A1") == (tmp_path / "a" / "form-A1.html").read_text(encoding="utf-8")


def test_item_sets(dataset_file, tmp_path):
    source = load_source(dataset_file)
    crewr = export_kit(source, tmp_path / "crewr", n=8, item_set="crewr")  # 8 of 24 records have contexts
    assert all(i.text.startswith("Rewritten") and i.context.startswith("Cleaned") for i in crewr.items)
    orig = export_kit(source, tmp_path / "orig", n=24, item_set="orig")
    assert sum(bool(i.context) for i in orig.items) == 8
    with pytest.raises(ValueError, match="only 8 usable"):
        export_kit(source, tmp_path / "x", n=9, item_set="corig")
    with pytest.raises(ValueError, match="annotator names"):
        export_kit(source, tmp_path / "y", n=2, annotators=["a", "a"])
