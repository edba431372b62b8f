"""The real benchmark files load with the counts their SOURCE.md states (skips where the data is absent)."""

from __future__ import annotations

from collections import Counter

import pytest

from emopillars.data.loaders import load
from emopillars.taxonomy import LABELS


def test_goemotions_splits(data_dir):
    path = data_dir / "goemotions" / "train.tsv"
    train = load(path)
    assert len(train) == 43_410 and train.skipped == 0
    assert len({e.id for e in train}) == 43_410
    # the first and last rows, read here with a plain split (neither is quoted), match what the loader built
    lines = path.read_text(encoding="utf-8").splitlines()
    for line, example in ((lines[0], train[0]), (lines[-1], train[-1])):
        text, ids, comment_id = line.split("\t")
        assert (example.text, example.id) == (text, comment_id)
        assert example.labels == {LABELS[int(i)]: 1.0 for i in ids.split(",")}
    per_row = Counter(len(e.labels) for e in train)
    assert per_row == {1: 36_308, 2: 6_541, 3: 532, 4: 28, 5: 1}
    assert train.targets().sum(axis=0).min() > 0  # all 28 labels used
    assert len(load(data_dir / "goemotions" / "dev.tsv")) == 5_426
    assert len(load(data_dir / "goemotions" / "test.tsv")) == 5_427


def test_isear(data_dir):
    data = load(data_dir / "isear" / "isear.csv")
    assert len(data) == 7_666 and len(data.label_names) == 7 and not data.multi_label
    counts = Counter(next(iter(e.labels)) for e in data)
    assert counts["anger"] == 1_096 and counts["joy"] == 1_094 and counts["guilt"] == 1_093
    assert len(load(data_dir / "isear" / "isear.csv", drop_no_response=True)) < 7_666


@pytest.mark.parametrize(("split", "n", "others"), [("train", 30_160, 14_948), ("dev", 2_755, 2_338)])
def test_emocontext(data_dir, split, n, others):
    data = load(data_dir / "emocontext" / f"{split}.txt")
    assert len(data) == n and data.skipped == 0
    assert Counter(next(iter(e.labels)) for e in data)["others"] == others
    assert all(e.context for e in data.examples[:100])
