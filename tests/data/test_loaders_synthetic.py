from __future__ import annotations

import json
import logging

import pytest

from emopillars.data.loaders import DataFormatError, load
from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.taxonomy import LABELS


def record(i: int, plot: str, split: str, context: bool = True, **overrides) -> dict:
    base = SyntheticRecord(
        record_id=f"r{i}",
        plot_id=plot,
        actor_id=f"a{i}",
        actor="Mira",
        plot_title="The Lighthouse Keeper",
        requested_emotion="nervousness",
        utterance=f"If the lamp fails tonight, the boats will never find the harbour ({i}).",
        rewritten_utterance=f"If it fails tonight, they will never find their way ({i})." if context else None,
        context="A storm rolls in while Mira repairs the cracked lens." if context else None,
        cleaned_context="A storm rolls in while Mira repairs the lens." if context else None,
        raw_labels={"anxiety": 0.8},
        labels={"nervousness": 0.8, "fear": 0.4},
        positive_labels=["nervousness", "fear"],
        split=split,
        provenance=Provenance(model="llamacpp:qwen2.5-0.5b", prompt_versions={"utterances": "1"}),
    ).model_dump()
    base.update(overrides)
    return base


def write(tmp_path, records, name="synthetic.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_variants_pick_text_and_context(tmp_path):
    path = write(tmp_path, [record(1, "p1", "train"), record(2, "p2", "dev")])
    orig = load(path)
    assert orig.label_names == list(LABELS) and orig.multi_label
    assert orig[0].context is None and orig[0].text.startswith("If the lamp fails")
    assert orig[0].labels == {"nervousness": 0.8, "fear": 0.4}
    assert orig[0].group == "p1" and orig[0].speaker == "Mira" and orig[0].id == "r1"
    corig = load(path, variant="corig")
    assert corig[0].context.endswith("cracked lens.") and corig[0].text == orig[0].text
    crewr = load(path, variant="crewr")
    assert crewr[0].context.endswith("repairs the lens.") and crewr[0].text.startswith("If it fails")
    assert orig.targets(soft=True)[0, LABELS.index("fear")] == pytest.approx(0.4)


def test_split_filter_and_records_without_context(tmp_path, caplog):
    records = [record(1, "p1", "train"), record(2, "p1", "train", context=False), record(3, "p2", "test")]
    path = write(tmp_path, records)
    assert [e.id for e in load(path, split="train")] == ["r1", "r2"]
    with caplog.at_level(logging.WARNING, logger="emopillars.data"):
        data = load(path, variant="corig", split="train")
    assert [e.id for e in data] == ["r1"] and data.skipped == 0
    assert "1 record(s) lacking what variant 'corig' needs" in caplog.text
    with pytest.raises(DataFormatError, match="no 'orig' examples in split 'dev'"):
        load(path, split="dev")
    with pytest.raises(ValueError, match="unknown synthetic variant"):
        load(path, variant="rewritten")


def test_invalid_records_name_line(tmp_path):
    good = record(1, "p1", "train")
    missing = {k: v for k, v in record(2, "p1", "train").items() if k != "utterance"}
    path = write(tmp_path, [good, missing, "{not json", record(4, "p2", "dev", labels={"hope": 0.9})])
    with pytest.raises(DataFormatError, match=r"line 2: not a valid synthetic record: utterance"):
        load(path)
    data = load(path, skip_bad=True)
    assert len(data) == 1 and data.skipped == 3
