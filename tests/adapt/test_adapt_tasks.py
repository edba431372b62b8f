"""Task specs: the shipped protocols load, and each task's labels map onto the taxonomy as the paper says."""

from __future__ import annotations

import pytest

from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.tasks import load_task, shipped_tasks
from emopillars.taxonomy import LABELS


def test_shipped_protocols_load():
    assert {"goemotions", "isear", "emocontext", "dialogue", "custom"} <= set(shipped_tasks())
    kinds = {name: load_task(name).protocol.kind for name in ("goemotions", "isear", "emocontext")}
    assert kinds == {"goemotions": "official", "isear": "kfold", "emocontext": "train_dev"}


def test_isear_label_map():
    mapping = load_task("isear").taxonomy_map()
    assert mapping == {
        "joy": "joy",
        "fear": "fear",
        "anger": "anger",
        "sadness": "sadness",
        "disgust": "disgust",
        "shame": "embarrassment",
        "guilt": "remorse",
    }


def test_emocontext_label_map_others_is_neutral():
    task = load_task("emocontext")
    assert task.label_map["others"] is None
    assert task.taxonomy_map() == {"happy": "joy", "sad": "sadness", "angry": "anger", "others": "neutral"}
    assert task.context_aware and not task.multi_label


def test_goemotions_maps_identically():
    task = load_task("goemotions")
    assert task.labels == list(LABELS)
    assert all(source == target for source, target in task.taxonomy_map().items())


def test_keep_head_columns_and_relabelling():
    from emopillars.data.example import Example, LabeledData

    head = HeadPolicy.for_task(load_task("isear"), "keep")
    assert head.model_labels == list(LABELS)
    assert [LABELS[c] for c in head.columns] == [
        "joy", "fear", "anger", "sadness", "disgust", "embarrassment", "remorse"
    ]  # fmt: skip
    data = LabeledData([Example("I lied to her", {"guilt": 1.0})], load_task("isear").labels, multi_label=False)
    relabelled = head.to_model_data(data)
    assert relabelled.examples[0].labels == {"remorse": 1.0}
    assert relabelled.targets()[0, LABELS.index("remorse")] == 1.0
    new = HeadPolicy.for_task(load_task("isear"), "new")
    assert new.model_labels == load_task("isear").labels and new.to_model_data(data).targets()[0, 6] == 1.0


def test_bad_task_files_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown task"):
        load_task("no-such-task")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nformat: custom\npaths: {train: a.csv}\nlabels: [a, b]\nprotocol: {kind: official}\n")
    with pytest.raises(ValueError, match="needs paths"):
        load_task(bad)
    bad.write_text(
        "name: x\nformat: custom\npaths: {data: a.csv}\nlabels: [a, b]\nlabel_map: {a: happiness}\n"
        "protocol: {kind: kfold}\n"
    )
    with pytest.raises(ValueError, match="not a taxonomy label"):
        load_task(bad)
    bad.write_text("name: x\nformat: custom\npaths: {data: a.csv}\nlabels: [a, b]\nprotocol: {kind: kfold}\n")
    with pytest.raises(ValueError, match="no label_map entry"):
        load_task(bad).taxonomy_map()
